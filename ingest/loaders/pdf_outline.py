"""The levels of a PDF's headings: from its bookmarks, else from numbering or font size.

A PDF states its outline only in its bookmarks (LibreOffice, Word and LaTeX's hyperref
write them from the headings), so a heading line that a bookmark to its page names takes
that bookmark's depth. A heading no bookmark names is levelled by its numbering
("3.1.2 Title" is level 3), else by its size: the level bookmarks give headings of that
size, or its rank among the document's heading sizes (the largest is level 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# "3", "3.1.2", "A.1" (an appendix) before the title, with an optional closing dot.
_NUMBERING = re.compile(r"^(\d{1,3}|[A-Z](?=\.\d))((?:\.\d{1,3})*)\.?\s+(?=\w)")


def bookmarks(document: pdfium.PdfDocument) -> list[tuple[int, str, int]]:
    """The PDF's bookmarks as (level from 1, title, 1-based page or 0 when unknown)."""
    try:
        return [
            (mark.level + 1, mark.get_title(), _page(document, mark)) for mark in document.get_toc()
        ]
    except MemoryError:
        raise
    # A broken outline tree should cost the bookmark levels, not the document.
    except Exception:
        return []


def _page(document: pdfium.PdfDocument, mark: pdfium.PdfBookmark) -> int:
    """The 1-based page a bookmark leads to, by its destination or its GoTo action."""
    raw = pdfium_c.FPDFBookmark_GetDest(document, mark)
    if not raw:
        action = pdfium_c.FPDFBookmark_GetAction(mark)
        raw = pdfium_c.FPDFAction_GetDest(document, action) if action else None
    index = pdfium_c.FPDFDest_GetDestPageIndex(document, raw) if raw else -1
    return index + 1 if index >= 0 else 0


class HeadingLevels:
    """Tells the level of each heading line of one PDF.

    Args:
        marks: The PDF's bookmarks (``bookmarks``).
        headings: Its heading lines as (text, font size, 1-based page).
    """

    def __init__(
        self, marks: Iterable[tuple[int, str, int]], headings: Iterable[tuple[str, float, int]]
    ) -> None:
        self.marks: dict[tuple[int, str], int] = {}
        for level, title, page in marks:
            for key in (_key(title), _unnumbered(_key(title))):
                self.marks.setdefault((page, key), level)
        lines = list(headings)
        self.sizes = sorted({_size(size) for _, size, _ in lines}, reverse=True)
        self.by_size: dict[float, int] = {}
        for text, size, page in lines:
            if level := self._marked(text, page):
                self.by_size.setdefault(_size(size), level)

    def level(self, text: str, size: float, page: int) -> int:
        """The level of the heading ``text`` set in ``size`` on ``page`` (1 = top)."""
        if level := self._marked(text, page):
            return level
        if numbered := _NUMBERING.match(text):
            return 1 + numbered.group(2).count(".")
        rounded = _size(size)
        if rounded in self.by_size:
            return self.by_size[rounded]
        return self.sizes.index(rounded) + 1 if rounded in self.sizes else 1

    def _marked(self, text: str, page: int) -> int:
        """The level of the bookmark to ``page`` (or to no page) naming ``text``, else 0."""
        key = _key(text)
        for candidate in ((page, key), (page, _unnumbered(key)), (0, key), (0, _unnumbered(key))):
            if candidate in self.marks:
                return self.marks[candidate]
        return 0


def _key(title: str) -> str:
    """A title as matched: whitespace collapsed, case folded."""
    return " ".join(title.split()).casefold()


def _unnumbered(key: str) -> str:
    """A matched title without its leading numbering ("3.1. archive" -> "archive")."""
    numbered = _NUMBERING.match(key.upper())  # the numbering is ASCII: same offsets
    return key[numbered.end() :] if numbered else key


def _size(size: float) -> float:
    """A font size rounded to half a point: sizes that differ by less read as one."""
    return round(size * 2) / 2
