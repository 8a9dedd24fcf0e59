"""Tables of contents, back-of-book indexes and dot-leader lines, kept out of the index.

A contents line ("1.1 Scope of this document . . . . . 1") holds a heading's words and
nothing else, so it matches questions by their headings and, taken as evidence, yields an
answer that says nothing. Such lines are recognised by their dot leaders, and whole pages
by their share of lines that end in page numbers under a "Contents" or "Index" title or
without one; the loader leaves them out and notes which pages were left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

DOT_LEADER = re.compile(r"(\.\s?){4,}\s*[\divxlc]+$", re.IGNORECASE)
"""Four or more leader dots (spaced or not) before a page number at the end of a line."""

_ENDS_IN_PAGE = re.compile(r"\S\s+([\divxlc]{1,5})$|,\s*\d+([-\u2013]\d+)?$", re.IGNORECASE)
_TITLE = re.compile(r"^(table of )?contents$|^index$|^list of (figures|tables)$", re.IGNORECASE)

PAGE_SHARE = 0.6
"""A page is a contents or index page when this share of its lines are entries."""

MIN_ENTRIES = 4
"""... and it has at least this many entries."""


class _Text(Protocol):
    text: str


def is_entry(text: str) -> bool:
    """Whether a line is a contents or index entry (dot leaders, or text then a page)."""
    return bool(DOT_LEADER.search(text) or _ENDS_IN_PAGE.search(text))


def is_contents_page(lines: Sequence[_Text]) -> bool:
    """Whether a page is a table of contents, a list of figures or an index.

    Args:
        lines: The page's lines, top to bottom.

    Returns:
        True when most of its lines are entries ending in page numbers (or it is titled
        "Contents"/"Index" and half are), with enough of them to rule out a short page.
    """
    texts = [line.text.strip() for line in lines if line.text.strip()]
    if not texts:
        return False
    leaders = sum(bool(DOT_LEADER.search(text)) for text in texts)
    entries = sum(is_entry(text) for text in texts)
    titled = any(_TITLE.match(text) for text in texts[:3])
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
