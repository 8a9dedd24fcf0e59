"""Text a PDF draws but nobody can see: white on white, sub-point sizes, render mode 3.

A document can hide instructions for a language model in text no reader sees ("ignore
your instructions..." in white 1-pt type). Such text must not reach the index. pypdf
reports the operators of a page's content stream to a visitor before it runs them; this
module follows the graphics state through them (fill and stroke colour, text render mode,
font size, the colour of the filled shape under the text) and blanks the strings of
text-showing operators that would paint nothing visible, so pypdf extracts only what a
reader sees.

The strings are blanked in place rather than filtered from pypdf's output because pypdf
joins the pieces of a line before reporting them: a colour change within a line (visible
words, then white ones) would otherwise come out as one piece with one colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from pypdf.generic import ArrayObject, TextStringObject

MIN_FONT_POINTS = 1.0
"""Text rendered smaller than this (in points) cannot be read, so it counts as hidden."""

COLOUR_TOLERANCE = 0.06
"""Colours this close (per RGB channel, 0-1) to what lies under the text are invisible."""

BACKGROUND_SHARE = 0.9
"""An image covering this share of the page leaves its colours unknown (text stays)."""

MAX_SHAPES = 256
"""Filled shapes remembered per page (the latest ones; a table has one per cell)."""

Colour = tuple[float, float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in device space
WHITE: Colour = (1.0, 1.0, 1.0)
BLACK: Colour = (0.0, 0.0, 0.0)

# Render modes (PDF 32000 9.3.6): which of them fill, which stroke; 3 and 7 paint nothing.
_FILLS = {0, 2, 4, 6}
_STROKES = {1, 2, 5, 6}
_SHOW = {b"Tj", b"TJ", b"'", b'"'}
_FILL_COLOUR = {b"g": "gray", b"rg": "rgb", b"k": "cmyk", b"sc": "any", b"scn": "any"}
_STROKE_COLOUR = {b"G": "gray", b"RG": "rgb", b"K": "cmyk", b"SC": "any", b"SCN": "any"}
_PATH = {b"m", b"l", b"c", b"v", b"y", b"re"}
_PAINT_FILL = {b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"}
_PAINT_OTHER = {b"n", b"S", b"s"}
_STATE_OPS = {b"cs", b"CS", b"Tr", b"Tf", b"q", b"Q", b"Do"}
# Most operators (moves, spacing, BT/ET) change nothing here: one set lookup skips them.
_WATCHED = frozenset(
    {*_SHOW, *_FILL_COLOUR, *_STROKE_COLOUR, *_PATH, *_PAINT_FILL, *_PAINT_OTHER, *_STATE_OPS}
)


@dataclass(frozen=True)
class _State:
    """The parts of the graphics state that decide whether text shows."""

    fill: Colour | None = BLACK  # None: a pattern or unknown colour space (assume visible)
    stroke: Colour | None = BLACK
    mode: int = 0
    font_size: float | None = None  # None until a Tf sets it


@dataclass
class HiddenText:
    """Follows one page's graphics state and blanks text that would not be visible.

    Use ``before`` as pypdf's ``visitor_operand_before`` and ``after`` as its
    ``visitor_operand_after``; ``dropped`` counts the text-showing operations blanked.

    Attributes:
        page_area: The page's area in points, to tell a full-page image from a small one.
        background: The page colour (None once a full-page image makes it unknown).
    """

    page_area: float
    background: Colour | None = WHITE
    dropped: int = 0
    state: _State = field(default_factory=_State)
    _saved: list[_State] = field(default_factory=list)
    _shapes: list[tuple[Box, Colour | None]] = field(default_factory=list)
    _path: list[tuple[float, float]] = field(default_factory=list)
    _grounds: set[Colour | None] = field(default_factory=lambda: {WHITE})  # colours drawn

    def before(
        self, operator: bytes, operands: list[Any], cm: list[float], tm: list[float]
    ) -> None:
        """Update the state for ``operator``; blank its strings when it shows hidden text."""
        if operator not in _WATCHED:
            return
        if operator in _SHOW:
            if self._hidden(cm, tm):
                self.dropped += 1
                _blank(operator, operands)
        elif operator in _PATH or operator in _PAINT_FILL or operator in _PAINT_OTHER:
            self._track_shape(operator, operands, cm)
        elif operator in (b"q", b"Do"):  # a form XObject runs inside its own q ... Q
            self._saved.append(self.state)
            if operator == b"Do" and _area(cm) >= BACKGROUND_SHARE * self.page_area:
                self.background = None
        elif operator == b"Q":
            self.state = self._saved.pop() if self._saved else self.state
        else:
            self.state = _next_state(self.state, operator, operands)

    def after(self, operator: bytes, operands: list[Any], cm: list[float], tm: list[float]) -> None:
        """Restore the state saved before a form XObject was drawn."""
        if operator == b"Do":
            self.state = self._saved.pop() if self._saved else self.state

    def _hidden(self, cm: list[float], tm: list[float]) -> bool:
        state = self.state
        if state.mode in (3, 7):
            return True
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        if state.font_size is not None and state.font_size * math.hypot(c, d) < MIN_FONT_POINTS:
            return True
        painted = [state.fill] if state.mode in _FILLS else []
        painted += [state.stroke] if state.mode in _STROKES else []
        # Ordinary text matches no colour drawn on the page: skip the search for its ground.
        if not all(any(_same(c, g) for g in self._grounds) for c in painted):
            return False
        under = self._under(*_apply(cm, tm[4], tm[5]))
        return all(_same(colour, under) for colour in painted)

    def _under(self, x: float, y: float) -> Colour | None:
        """The colour of the latest filled shape under a point, else the page's."""
        for (x0, y0, x1, y1), colour in reversed(self._shapes):
            if x0 <= x <= x1 and y0 <= y <= y1:
                return colour
        return self.background

    def _track_shape(self, operator: bytes, operands: list[Any], cm: list[float]) -> None:
        """Remember the box and colour of each filled path, the ground text may stand on."""
        if operator in _PAINT_FILL:
            if self._path:
                xs, ys = [x for x, _ in self._path], [y for _, y in self._path]
                self._shapes.append(((min(xs), min(ys), max(xs), max(ys)), self.state.fill))
                self._grounds.add(self.state.fill)
                del self._shapes[:-MAX_SHAPES]
            self._path.clear()
        elif operator in _PAINT_OTHER:
            self._path.clear()
        else:
            numbers = _numbers(operands)
            if operator == b"re" and len(numbers) == 4:
                x, y, w, h = numbers
                numbers = [x, y, x + w, y + h, x, y + h, x + w, y]
            points = zip(numbers[0::2], numbers[1::2], strict=False)
            self._path.extend(_apply(cm, px, py) for px, py in points)


def _next_state(state: _State, operator: bytes, operands: list[Any]) -> _State:
    """The state after a colour, colour space, render mode or font operator."""
    numbers = _numbers(operands)
    if operator in _FILL_COLOUR:
        return replace(state, fill=_colour(_FILL_COLOUR[operator], operands, numbers))
    if operator in _STROKE_COLOUR:
        return replace(state, stroke=_colour(_STROKE_COLOUR[operator], operands, numbers))
    if operator == b"cs":  # a new colour space starts at black (a pattern: unknown)
        return replace(state, fill=None if _is_pattern(operands) else BLACK)
    if operator == b"CS":
        return replace(state, stroke=None if _is_pattern(operands) else BLACK)
    if operator == b"Tr" and numbers:
        return replace(state, mode=int(numbers[0]))
    if operator == b"Tf" and len(numbers) == 1:
        return replace(state, font_size=abs(numbers[0]))
    return state


def _blank(operator: bytes, operands: list[Any]) -> None:
    """Empty the strings an operator shows, keeping its moves (``'`` and ``"`` go down a line)."""
    if operator == b"TJ" and operands and isinstance(operands[0], ArrayObject):
        operands[0] = ArrayObject()
    elif operands:
        operands[-1] = TextStringObject("")


def _colour(kind: str, operands: list[Any], numbers: list[float]) -> Colour | None:
    """The RGB colour set by a colour operator, None when it is a pattern or unreadable."""
    if len(numbers) != len(operands):
        return None  # a pattern name among the operands
    if kind == "any":
        kind = {1: "gray", 3: "rgb", 4: "cmyk"}.get(len(numbers), "")
    if kind == "gray" and len(numbers) == 1:
        return (numbers[0], numbers[0], numbers[0])
    if kind == "rgb" and len(numbers) == 3:
        return (numbers[0], numbers[1], numbers[2])
    if kind == "cmyk" and len(numbers) == 4:
        c, m, y, k = numbers
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return None


def _same(colour: Colour | None, ground: Colour | None) -> bool:
    """Whether text in ``colour`` disappears on ``ground`` (unknown colours never do)."""
    if colour is None or ground is None:
        return False
    return all(abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(colour, ground, strict=True))


def _numbers(operands: list[Any]) -> list[float]:
    """The numeric operands (names, strings and arrays left out)."""
    return [float(v) for v in operands if isinstance(v, int | float) and math.isfinite(v)]


def _is_pattern(operands: list[Any]) -> bool:
    return bool(operands) and str(operands[0]) == "/Pattern"


def _apply(cm: list[float], x: float, y: float) -> tuple[float, float]:
    """A point of user space in device space."""
    return x * cm[0] + y * cm[2] + cm[4], x * cm[1] + y * cm[3] + cm[5]


def _area(cm: list[float]) -> float:
    """The device-space area of the unit square (an image's extent) under ``cm``."""
    return abs(cm[0] * cm[3] - cm[1] * cm[2])
