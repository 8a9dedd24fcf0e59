"""A cited PDF page as an image, with the quoted sentence's glyphs boxed.

The index holds each page's text as ``ingest.pdf_words`` rebuilt it from PDFium's glyphs:
one document character per visible glyph, with word spaces and line breaks put back from
the geometry, columns and table rows reordered, mended hyphens dropped, and ligatures
spelt out later by normalizing. The document offsets of a quote therefore do not count
PDFium's character indices one to one; its letters and digits do. So the quote is found
on its page by its letters and digits alone (each glyph NFKC-normalized, so "ﬁ" is "fi"),
and those glyphs' boxes, joined line by line, are the highlight. Rendering and glyph
boxes both come from PDFium (pypdfium2), the library the text was read with.

The page is shown at its natural size, as a PDF reader shows it at 100 % (a point is 4/3
of a CSS pixel), so its type reads at the size it was set in; it is rendered at twice that
for sharp type on phones and high-density screens. ``page_figure`` gives it as HTML with
the quote's place marked, so the viewer can scroll the quote into view.
"""

from __future__ import annotations

import base64
import ctypes
import html
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

HIGHLIGHT_EDGE = (180, 83, 9, 255)
"""The highlight's outline, #B45309: 5.0:1 against a white page (at least 3:1 needed)."""
HIGHLIGHT_FILL = (253, 224, 71, 80)
"""A light wash under the quote that keeps its text readable."""
SCALE = 2.0
"""Pixels per PDF point of the page image (144 dpi)."""
CSS_PX_PER_POINT = 96 / 72
"""A page shown at its natural size: a PDF point is 1/72 inch, a CSS pixel 1/96."""

Box = tuple[float, float, float, float]
"""Left, top, right, bottom in PDF points from the page's top-left corner."""


@dataclass(frozen=True)
class PageView:
    """One rendered page of a PDF.

    Attributes:
        png: The page as PNG bytes, the quote boxed when found.
        page: The 1-based page shown.
        pages: How many pages the document has.
        found: The quote was found on this page and is boxed.
        size: The page's width and height in PDF points.
        boxes: Where the quote's lines are, in PDF points from the top-left corner.
    """

    png: bytes
    page: int
    pages: int
    found: bool
    size: tuple[float, float] = (0.0, 0.0)
    boxes: tuple[Box, ...] = ()

    @property
    def natural_size(self) -> tuple[int, int]:
        """The page's width and height in CSS pixels at its natural size (100 %)."""
        return round(self.size[0] * CSS_PX_PER_POINT), round(self.size[1] * CSS_PX_PER_POINT)


def _letters(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def quote_boxes(page: pdfium.PdfPage, quote: str) -> list[Box]:
    """The boxes (one per line part) of the glyphs that spell ``quote`` on ``page``."""
    wanted = _letters(quote)
    if not wanted:
        return []
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        letters: list[str] = []
        owners: list[int] = []  # the PDFium character index of each letter
        for index in range(pdfium_c.FPDFText_CountChars(raw)):
            for letter in _letters(chr(pdfium_c.FPDFText_GetUnicode(raw, index))):
                letters.append(letter)
                owners.append(index)
        start = "".join(letters).find(wanted)
        if start < 0:
            return []
        chars = sorted(set(owners[start : start + len(wanted)]))
        return _line_boxes([_char_box(raw, index) for index in chars], page.get_height())
    finally:
        textpage.close()


def _char_box(raw: object, index: int) -> Box:
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    pdfium_c.FPDFText_GetCharBox(raw, index, left, right, bottom, top)
    return (left.value, top.value, right.value, bottom.value)


def _line_boxes(chars: list[Box], height: float) -> list[Box]:
    """Glyph boxes (PDF points, y upwards) joined into one box per run on a line."""
    boxes: list[list[float]] = []
    for left, top, right, bottom in chars:
        last = boxes[-1] if boxes else None
        same_line = last is not None and bottom < last[1] and top > last[3] and left >= last[0]
        if last is not None and same_line:
            last[1], last[2], last[3] = max(last[1], top), max(last[2], right), min(last[3], bottom)
        else:
            boxes.append([left, top, right, bottom])
    return [(b[0], height - b[1], b[2], height - b[3]) for b in boxes]


def page_count(path: Path) -> int:
    """How many pages the PDF at ``path`` has."""
    document = pdfium.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def page_view(path: Path, page: int, quote: str = "", scale: float = SCALE) -> PageView:
    """Render ``page`` (1-based, clamped to the document) with ``quote`` boxed if on it."""
    from PIL import ImageDraw

    document = pdfium.PdfDocument(str(path))
    try:
        shown = max(1, min(page, len(document)))
        pdf_page = document[shown - 1]
        boxes = quote_boxes(pdf_page, quote) if quote else []
        image = pdf_page.render(scale=scale).to_pil().convert("RGB")
        overlay = ImageDraw.Draw(image, "RGBA")  # blends the wash over the page
        pad = 2 * scale
        for left, top, right, bottom in boxes:
            overlay.rectangle(
                (left * scale - pad, top * scale - pad, right * scale + pad, bottom * scale + pad),
                fill=HIGHLIGHT_FILL,
                outline=HIGHLIGHT_EDGE,
                width=max(2, round(scale * 1.5)),
            )
        out = io.BytesIO()
        image.save(out, format="PNG")
        size = (pdf_page.get_width(), pdf_page.get_height())
        return PageView(out.getvalue(), shown, len(document), bool(boxes), size, tuple(boxes))
    finally:
        document.close()


def page_figure(view: PageView, alt: str) -> str:
    """The page as HTML at its natural size, the quote's place marked for scrolling.

    The image is inline (a data URI), so nothing outside the page is fetched. The mark
    (``docent-quote-box``) covers every line of the quote; it is empty and hidden from
    screen readers, which read the quote as text beside the page.
    """
    width, height = view.natural_size
    data = base64.b64encode(view.png).decode("ascii")
    mark = ""
    if view.boxes:
        pad = 2
        left = min(b[0] for b in view.boxes) * CSS_PX_PER_POINT - pad
        top = min(b[1] for b in view.boxes) * CSS_PX_PER_POINT - pad
        right = max(b[2] for b in view.boxes) * CSS_PX_PER_POINT + pad
        bottom = max(b[3] for b in view.boxes) * CSS_PX_PER_POINT + pad
        mark = (
            f'<span class="docent-quote-box" aria-hidden="true" style="left:{left:.0f}px;'
            f'top:{top:.0f}px;width:{right - left:.0f}px;height:{bottom - top:.0f}px"></span>'
        )
    return (
        f'<div class="docent-page" tabindex="0" role="group" '
        f'aria-label="Page {view.page} at its natural size">'
        f'<div class="docent-sheet" style="width:{width}px;height:{height}px">'
        f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
        f'alt="{html.escape(alt)}">{mark}</div></div>'
    )
