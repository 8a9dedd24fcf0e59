"""Tables of contents, back-of-book indexes and dot-leader lines, kept out of the index.

A contents line ("1.1 Scope of this document . . . . . 1") holds a heading's words and
nothing else, so it matches questions by their headings and, taken as evidence, yields an
answer that says nothing; an FAQ's contents list repeats every question word for word.
In a PDF such lines are recognised by their dot leaders, and whole pages by their share of
lines that end in page numbers under a "Contents" or "Index" title or without one; the
loader leaves them out and notes which pages were left out. Files without pages have their
own marks (Sphinx toctrees, Word's TOC field, Markdown lists of links to the page's own
anchors), read by each loader; the rules they share are here: what titles a table of
contents, the report's note, and a page that was nothing but contents, indexed by its
title alone (``without_contents``) so a search for it by name still finds it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from ingest.document import ParsedDocument, Section

DOT_LEADER = re.compile(r"(\.\s?){4,}\s*[\divxlc]+$", re.IGNORECASE)
"""Four or more leader dots (spaced or not) before a page number at the end of a line."""

_ENDS_IN_PAGE = re.compile(r"\S\s+([\divxlc]{1,5})$|,\s*\d+([-\u2013]\d+)?$", re.IGNORECASE)
_TITLE = re.compile(
    r"^((table of )?contents|index|list of (figures|tables)|on this page|in this (article|page))$",
    re.IGNORECASE,
)
_TITLE_MARKS = " \t#*_:=-"  # Markdown heading and emphasis marks, a trailing colon

PAGE_SHARE = 0.6
"""A page is a contents or index page when this share of its lines are entries."""

MIN_ENTRIES = 4
"""... and it has at least this many entries."""


class _Text(Protocol):
    text: str


def is_entry(text: str) -> bool:
    """Whether a line is a contents or index entry (dot leaders, or text then a page)."""
    return bool(DOT_LEADER.search(text) or _ENDS_IN_PAGE.search(text))


def is_contents_title(text: str) -> bool:
    """Whether a heading or line names a table of contents ("Contents:", "On this page")."""
    return bool(_TITLE.match(text.strip(_TITLE_MARKS)))


def is_contents_page(lines: Sequence[_Text]) -> bool:
    """Whether a page is a table of contents, a list of figures or an index.

    Args:
        lines: The page's lines, top to bottom.

    Returns:
        True when most of its lines are entries ending in page numbers (or it is titled
        "Contents"/"Index" and half are), with enough of them to rule out a short page.
    """
    return is_contents_text([line.text for line in lines])


def is_contents_text(lines: Sequence[str], titled: bool = False) -> bool:
    """Whether lines of text are a table of contents (see ``is_contents_page``).

    Args:
        lines: The lines, top to bottom.
        titled: They stand under a "Contents" title (a heading above them).
    """
    texts = [text.strip() for text in lines if text.strip()]
    if not texts:
        return False
    leaders = sum(bool(DOT_LEADER.search(text)) for text in texts)
    entries = sum(is_entry(text) for text in texts)
    titled = titled or any(is_contents_title(text) for text in texts[:3])
    share = (PAGE_SHARE / 2) if titled else PAGE_SHARE
    return (
        entries >= MIN_ENTRIES
        and (entries >= share * len(texts))
        and (titled or leaders >= MIN_ENTRIES or entries >= 0.8 * len(texts))
    )


def drop_contents(pages: Sequence[list[Any]]) -> list[int]:
    """Remove contents and index pages, and dot-leader lines elsewhere, in place.

    Args:
        pages: Each page's lines (1-based page = index + 1).

    Returns:
        The 1-based pages that lost lines.
    """
    touched: list[int] = []
    for number, lines in enumerate(pages, start=1):
        if is_contents_page(lines):
            lines.clear()
            touched.append(number)
            continue
        kept = [line for line in lines if not DOT_LEADER.search(line.text.strip())]
        if len(kept) < len(lines):
            lines[:] = kept
            touched.append(number)
    return touched


def contents_note(entries: int, title_only: bool = False) -> str:
    """The report's note on a table of contents left out of a file without pages.

    Args:
        entries: How many entries (links, lines) it held; 0 when unknown.
        title_only: The file held nothing else and is indexed by its title alone.
    """
    counted = f" ({entries} entr{'ies' if entries > 1 else 'y'})" if entries else ""
    if title_only:
        return (
            f"table of contents{counted} left out: the page holds nothing else, "
            "so it is indexed by its title alone"
        )
    return f"table of contents{counted} left out of the index"


def without_contents(document: ParsedDocument, entries: int) -> ParsedDocument:
    """The document once its loader left ``entries`` contents entries out, with a note.

    A page that was nothing but contents (an FAQ's index page) keeps one section holding
    its title: searchable by its name, with no list of every question to outrank the
    answers.

    Args:
        document: The parsed document, without its contents (changed in place).
        entries: How many entries were left out; 0 leaves the document as it is.

    Returns:
        The same document.
    """
    if not entries:
        return document
    if any(section.text.strip() for section in document.sections):
        document.notes.append(contents_note(entries))
    else:
        document.sections = [Section(text=document.title)]
        document.notes.append(contents_note(entries, title_only=True))
    return document
