"""Tables of contents in Markdown, reStructuredText and plain text, found line by line.

Markdown: a list of links (``- [Install](#install)``) of at least ``MIN_ENTRIES`` items
that point at the page's own anchors or stand under a "Contents" title; and lists of links
to other files that make up most of the page's text (an index page). Renderer marks such
as ``[TOC]`` are directives, not text, and go as well. reStructuredText: the ``toctree``
and ``contents`` directives with their bodies. Plain text: dot-leader lines, and the lines
under a "Contents" title that end in page numbers or name a heading met again further down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ingest.toc import DOT_LEADER, MIN_ENTRIES, PAGE_SHARE, is_contents_title, is_entry

_LINK_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+\[[^\]]+\]\((?P<target>[^)\s]*)[^)]*\)\s*$")
_MARKER = re.compile(
    r"^\s*(\[toc\]|\[\[_?toc_?\]\]|\{:\s*\.?toc\s*\}|<!--\s*/?\s*toc\b.*-->)\s*$", re.IGNORECASE
)
_EXTERNAL = re.compile(r"^([a-z][a-z\d+.-]*:|//)", re.IGNORECASE)
_ATX = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_NUMBERING = re.compile(r"^\s*((\d+|[a-z])(\.\d+)*[.)]?|[ivxlc]+\.)\s+", re.IGNORECASE)
_RST_DIRECTIVE = re.compile(r"^\.\.\s+(?P<name>toctree|contents)::", re.IGNORECASE)
_RST_OPTION = re.compile(r"^\s+:[\w-]+:")


def markdown_contents(lines: Sequence[str], prose: Sequence[bool]) -> tuple[set[int], int]:
    """The lines of a Markdown file's tables of contents, and how many links they list.

    Args:
        lines: The file's lines (front matter removed).
        prose: For each line, whether it is text (not fenced code or a fence line).

    Returns:
        The indexes of the lines to leave out, and the count of link entries among them.
    """
    drop = {i for i, line in enumerate(lines) if prose[i] and _MARKER.match(line)}
    runs = _link_runs(lines, prose)
    contents: list[list[int]] = []
    for run in runs:
        title = _title_above(lines, prose, run[0])
        in_page = all(_target(lines[i]).startswith("#") for i in run)
        if len(run) >= MIN_ENTRIES and (title or in_page):
            contents.append(run)
            drop.update(title)
    listed = [i for run in contents for i in run]
    drop.update(listed)
    # Lists of links to other files that are most of the page: an index page.
    index = [i for run in runs if run not in contents and _internal(lines, run) for i in run]
    body = [i for i in range(len(lines)) if prose[i] and i not in drop and not _heading(lines, i)]
    if len(index) >= MIN_ENTRIES and _letters(lines, index) >= PAGE_SHARE * _letters(lines, body):
        listed += index
        drop.update(index)
    return drop, len(listed)


def _link_runs(lines: Sequence[str], prose: Sequence[bool]) -> list[list[int]]:
    """Runs of list items that are a link and nothing else (blank lines between allowed)."""
    runs: list[list[int]] = []
    current: list[int] = []
    for i, line in enumerate(lines):
        if prose[i] and _LINK_ITEM.match(line):
            current.append(i)
        elif (line.strip() or not prose[i]) and current:
            runs.append(current)
            current = []
    return [*runs, current] if current else runs


def _target(line: str) -> str:
    match = _LINK_ITEM.match(line)
    return match.group("target") if match else ""


def _internal(lines: Sequence[str], run: list[int]) -> bool:
    """Whether every link of the run points into this site (no scheme, no other host)."""
    return not any(_EXTERNAL.match(_target(lines[i])) for i in run)


def _title_above(lines: Sequence[str], prose: Sequence[bool], start: int) -> list[int]:
    """The lines of a "Contents" title just above ``start`` (with a setext underline), or []."""
    above = start - 1
    while above >= 0 and prose[above] and not lines[above].strip():
        above -= 1
    if above < 0 or not prose[above]:
        return []
    title = [above]
    if _UNDERLINE.match(lines[above]) and above > 0 and prose[above - 1]:
        title = [above - 1, above]
    return title if is_contents_title(lines[title[0]]) else []


def _heading(lines: Sequence[str], i: int) -> bool:
    """Whether line ``i`` is an ATX heading, a setext underline or the title above one."""
    following = lines[i + 1] if i + 1 < len(lines) else ""
    return bool(
        _ATX.match(lines[i])
        or _UNDERLINE.match(lines[i])
        or (lines[i].strip() and _UNDERLINE.match(following))
    )


def _letters(lines: Sequence[str], indexes: Iterable[int]) -> int:
    return sum(ch.isalnum() for i in indexes for ch in lines[i])


def text_contents(lines: Sequence[str]) -> tuple[set[int], int]:
    """The lines of a plain-text table of contents, and how many entries they hold.

    Dot-leader lines go wherever they are; under a "Contents" title go the lines that end
    in a page number or name a line met again further down (the heading they list).

    Returns:
        The indexes of the lines to leave out, and the count of entries among them.
    """
    entries = {i for i, line in enumerate(lines) if DOT_LEADER.search(line.strip())}
    titles: set[int] = set()
    for i, line in enumerate(lines):
        if line.strip() and is_contents_title(line):
            below = _entries_below(lines, i)
            if len(below) >= MIN_ENTRIES:
                titles.add(i)
                entries.update(below)
    return entries | titles, len(entries)


def _entries_below(lines: Sequence[str], title: int) -> list[int]:
    """The contents entries that follow a title line, up to the first line that is none."""
    last = {_bare(line): i for i, line in enumerate(lines) if line.strip()}
    entries: list[int] = []
    for i in range(title + 1, len(lines)):
        line = lines[i].strip()
        if not line or (i == title + 1 and _UNDERLINE.match(lines[i])):
            continue
        if not (is_entry(line) or last[_bare(line)] > i):
            break
        entries.append(i)
    return entries


def _bare(line: str) -> str:
    """A heading or entry without its numbering and spacing, lower case."""
    return " ".join(_NUMBERING.sub("", line).split()).casefold()


def rst_contents(lines: Sequence[str]) -> tuple[set[int], int]:
    """The ``toctree`` and ``contents`` directives with their indented bodies.

    Returns:
        The indexes of the lines to leave out, and the count of toctree entries among them
        (a ``contents`` directive lists nothing in the source: it is markup, not text).
    """
    drop: set[int] = set()
    entries = 0
    i = 0
    while i < len(lines):
        directive = _RST_DIRECTIVE.match(lines[i])
        i += 1
        if not directive:
            continue
        drop.add(i - 1)
        toctree = directive.group("name").lower() == "toctree"
        while i < len(lines) and (not lines[i].strip() or lines[i][:1].isspace()):
            drop.add(i)
            entries += toctree and bool(lines[i].strip()) and not _RST_OPTION.match(lines[i])
            i += 1
    return drop, entries
