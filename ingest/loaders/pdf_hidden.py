"""Text a PDF draws but nobody can see: white on white, sub-point sizes, render mode 3.

A document can hide instructions for a language model in text no reader sees ("ignore
your instructions..." in white 1-pt type). Such text must not reach the index. PDFium
reports, for every character of a page, its fill and stroke colour, its font size and the
text object that draws it; this module adds what lies under it: the filled shapes painted
before that object (table cells, a dark page background) and whether an image covers the
page (then the colours under the text are unknown and the text stays).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field
from typing import Any

import pypdfium2.raw as pdfium_c

MIN_FONT_POINTS = 1.0
"""Text rendered smaller than this (in points) cannot be read, so it counts as hidden."""

COLOUR_TOLERANCE = 0.06
"""Colours this close (per RGB channel, 0-1) to what lies under the text are invisible."""

BACKGROUND_SHARE = 0.9
"""An image covering this share of the page leaves its colours unknown (text stays)."""

MAX_SHAPES = 256
"""Filled shapes remembered per page (the latest ones; a table has one per cell)."""

Colour = tuple[float, float, float]
Box = tuple[float, float, float, float]  # left, bottom, right, top in page space
WHITE: Colour = (1.0, 1.0, 1.0)

# Render modes (PDF 32000 9.3.6): which of them fill; 3 and 7 paint nothing.
_FILLS = {0, 2, 4, 6}
_INVISIBLE = {3, 7}


@dataclass
class PageInk:
    """What is painted on one page before each text object, to judge if text shows.

    Attributes:
        order: Paint order of each text object, by the address of its PDFium handle.
        shapes: Filled shapes (paint order, box, colour), the latest ``MAX_SHAPES``.
        covered_from: Paint order from which a page-sized image lies under the text.
        verdicts: Font size and hidden verdict of each text object seen so far.
    """

    order: dict[int, int] = field(default_factory=dict)
    shapes: list[tuple[int, Box, Colour]] = field(default_factory=list)
    covered_from: int | None = None
    verdicts: dict[int, tuple[float, bool]] = field(default_factory=dict)

    @classmethod
    def of(cls, page: Any) -> PageInk:
        """Survey a PDFium page's objects (forms included) in paint order."""
        ink = cls()
        width, height = page.get_size()
        page_area = abs(width * height)
        for index, obj in enumerate(page.get_objects(max_depth=4)):
            kind = obj.type
            if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
                ink.order[_address(obj.raw)] = index
            elif kind == pdfium_c.FPDF_PAGEOBJ_PATH and _fills(obj.raw):
                colour = _object_fill(obj.raw)
                if colour is not None:
                    ink.shapes.append((index, _bounds(obj), colour))
                    del ink.shapes[:-MAX_SHAPES]
            elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE and ink.covered_from is None:
                left, bottom, right, top = _bounds(obj)
                if page_area and (right - left) * (top - bottom) >= BACKGROUND_SHARE * page_area:
                    ink.covered_from = index
        return ink

    def judge(self, textpage: Any, index: int, key: int) -> tuple[float, bool]:
        """Font size of character ``index`` and whether it paints nothing visible.

        Size, colour and render mode belong to the text object drawing the character
        (``key``, its handle's address), so the verdict is taken once per object.
        """
        known = self.verdicts.get(key)
        if known is None:
            size = _rendered_size(textpage, index)
            known = self.verdicts[key] = (size, self._hidden(textpage, index, key, size))
        return known

    def _hidden(self, textpage: Any, index: int, key: int, size: float) -> bool:
        if size < MIN_FONT_POINTS:
            return True
        obj = pdfium_c.FPDFText_GetTextObject(textpage, index)
        if not obj:
            return False
        mode = int(pdfium_c.FPDFTextObj_GetTextRenderMode(obj))
        if mode in _INVISIBLE:
            return True
        getter = (
            pdfium_c.FPDFText_GetFillColor if mode in _FILLS else pdfium_c.FPDFText_GetStrokeColor
        )
        colour = _char_colour(getter, textpage, index)
        return colour is not None and _same(colour, self._under(key, obj))

    def _under(self, key: int, obj: Any) -> Colour | None:
        """The colour under a text object: the last filled shape below its centre."""
        order = self.order.get(key, len(self.order) + len(self.shapes))
        ground: Colour | None = WHITE
        if self.covered_from is not None and self.covered_from < order:
            ground = None
        else:
            x, y = _centre(obj)
            for painted, (left, bottom, right, top), colour in reversed(self.shapes):
                if painted < order and left <= x <= right and bottom <= y <= top:
                    ground = colour
                    break
        return ground


TEXT_OBJECT_ADDRESS = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)(
    int(ctypes.cast(pdfium_c.FPDFText_GetTextObject, ctypes.c_void_p).value or 0)
)
"""``FPDFText_GetTextObject`` returning the handle's address as an int (no cast per glyph)."""


def _rendered_size(textpage: Any, index: int) -> float:
    """The size a character is drawn at: its font size scaled by its text matrix.

    Generators such as dblatex set the font at size 1 and scale it with the text matrix,
    so the font size alone says nothing.
    """
    size = float(pdfium_c.FPDFText_GetFontSize(textpage, index))
    matrix = pdfium_c.FS_MATRIX()
    if pdfium_c.FPDFText_GetMatrix(textpage, index, matrix):
        size *= math.hypot(matrix.c, matrix.d)
    return size


def _address(handle: Any) -> int:
    """A stable key for a PDFium object handle (the address it points to)."""
    return int(ctypes.cast(handle, ctypes.c_void_p).value or 0)


def _fills(handle: Any) -> bool:
    """Whether a path object is filled (not only stroked)."""
    fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(handle, fill_mode, stroke):
        return False
    return bool(fill_mode.value != pdfium_c.FPDF_FILLMODE_NONE)


def _rgba(getter: Any, *args: Any) -> tuple[Colour, int] | None:
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not getter(*args, r, g, b, a):
        return None
    return (r.value / 255, g.value / 255, b.value / 255), a.value


def _object_fill(handle: Any) -> Colour | None:
    """A shape's opaque fill colour (None when transparent or unknown)."""
    found = _rgba(pdfium_c.FPDFPageObj_GetFillColor, handle)
    if found is None or found[1] < 128:
        return None
    return found[0]


def _char_colour(getter: Any, textpage: Any, index: int) -> Colour | None:
    """A character's colour; fully transparent text counts as matching any ground."""
    found = _rgba(getter, textpage, index)
    if found is None:
        return None
    colour, alpha = found
    return colour if alpha else (-1.0, -1.0, -1.0)


def _bounds(obj: Any) -> Box:
    left, bottom, right, top = obj.get_bounds()
    return float(left), float(bottom), float(right), float(top)


def _centre(handle: Any) -> tuple[float, float]:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pdfium_c.FPDFPageObj_GetBounds(handle, left, bottom, right, top)
    return (left.value + right.value) / 2, (bottom.value + top.value) / 2


def _same(colour: Colour, ground: Colour | None) -> bool:
    """Whether text of ``colour`` disappears on ``ground`` (unknown ground: it shows)."""
    if colour[0] < 0:
        return True
    if ground is None:
        return False
    return all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(colour, ground, strict=True))
