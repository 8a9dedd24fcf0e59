"""PDF loader: text page by page, headings found from font size, pages without text listed.

PDFium reads each page glyph by glyph with its font size and position (``pdf_words``
rebuilds the word spaces, columns and table rows from where the glyphs sit). From those
lines the loader tells headings (clearly larger
than the body text) from body lines, and splits paragraphs where the vertical gap between
lines is larger than the usual line spacing. Text no reader can see (white on white,
under 1 pt, render mode 3) is left out (``pdf_hidden``), and the report says how much.
Each heading's level comes from the PDF's bookmarks, its numbering or its size
(``pdf_outline``).
"""

from __future__ import annotations

import itertools
import re
import statistics
from pathlib import Path

import pypdfium2 as pdfium

from ingest import ocr
from ingest.document import HeadingTrail, LoaderError, ParsedDocument, Section, page_ranges
from ingest.loaders.pdf_outline import HeadingLevels, bookmarks
from ingest.pdf_words import Line, read_page
from ingest.toc import drop_contents

HEADING_SIZE_RATIO = 1.15
"""A line is a heading candidate when its font is at least this much larger than the body."""

MAX_HEADING_CHARS = 150
"""Longer large-font lines are pull quotes or banners, not headings."""

PARAGRAPH_GAP_RATIO = 1.4
"""A gap between lines this much larger than the page's usual line step starts a paragraph."""

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}
    | {"\ufb05": "st", "\ufb06": "st"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BULLET = re.compile(r"^([\u2022\u25aa\u25cf\u2013*-]|\d{1,3}[.)])\s")
_TOC_ENTRY = re.compile(r"(\.\s*){4,}\S*$")
# "7", "Page 7 of 12", "7 / 12", or a front-matter numeral up to xxxix ("iv", "xii").
_PAGE_NUMBER = re.compile(
    r"^(page\s+)?(\d+|x{0,3}(ix|iv|v?i{0,3}))(\s*(of|/)\s*\d+)?$", re.IGNORECASE
)
_MEANINGLESS_TITLE = re.compile(
    r"^(untitled|title|document\d*|microsoft word - .*|.*\.(pdf|docx?|odt|rtf|txt|tex|dvi|ps))$"
)


def load_pdf(path: Path) -> ParsedDocument:
    """Read a PDF into sections that keep their 1-based page number and nearest heading.

    Args:
        path: The PDF file.

    Returns:
        The parsed document; pages without extractable text are listed in `empty_pages`.

    Raises:
        LoaderError: The file is damaged, not a PDF, or protected by a password.
    """
    document = _open(path)
    try:
        notes: list[str] = []
        hidden: dict[int, int] = {}
        pages = [
            _page_lines(document, number, notes, hidden) for number in range(1, len(document) + 1)
        ]
        ocr_pages = _read_scans(document, pages, notes)
        title = _metadata_title(document)
        marks = bookmarks(document)
    finally:
        document.close()
    if hidden:
        count = sum(hidden.values())
        notes.append(
            f"pages {page_ranges(list(hidden))}: {count} piece{'s' * (count > 1)} of hidden "
            "text left out (white on white, under 1 pt or invisible)"
        )
    _drop_running_lines(pages)
    contents = drop_contents(pages)
    if contents:
        notes.append(
            f"pages {page_ranges(contents)}: table of contents, index or dot-leader lines "
            "left out of the index"
        )
    body_size = _body_size(pages)
    levels = HeadingLevels(
        marks,
        (
            (line.text, line.size, number)
            for number, lines in enumerate(pages, start=1)
            for line in lines
            if _is_heading(line, body_size)
        ),
    )
    sections: list[Section] = []
    headings: list[str] = []
    empty_pages: list[int] = []
    trail = HeadingTrail()
    for number, lines in enumerate(pages, start=1):
        if not any(ch.isalnum() for line in lines for ch in line.text):
            if number not in contents:
                empty_pages.append(number)
            continue
        _add_page_sections(lines, number, body_size, levels, trail, sections, headings)
    title = title or (headings[0] if headings else "") or path.stem
    return ParsedDocument(
        title=title,
        sections=sections,
        pages=len(pages),
        empty_pages=empty_pages,
        notes=notes,
        ocr_pages=ocr_pages,
    )


def _open(path: Path) -> pdfium.PdfDocument:
    """Open the PDF with PDFium (an empty user password opens without asking)."""
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise LoaderError(
                "the PDF is encrypted with a password; open it in a PDF viewer with the "
                "password and save an unencrypted copy (Print > Save as PDF), then add that copy"
            ) from exc
        raise LoaderError(
            f"the PDF is damaged or not a PDF: {exc}; "
            "re-export or repair it (e.g. print it to a new PDF)"
        ) from exc
    if len(document) == 0:
        document.close()
        raise LoaderError("the PDF has no pages; re-export it from the original program")
    return document


def _page_lines(
    document: pdfium.PdfDocument, number: int, notes: list[str], hidden: dict[int, int]
) -> list[Line]:
    """Extract a page's visible lines; a page that fails is noted and has no lines.

    ``hidden`` receives the page's count of hidden text pieces left out, when it has some.
    """
    try:
        page = document[number - 1]
        try:
            lines, dropped = read_page(page)
        finally:
            page.close()
    except MemoryError:
        raise
    # One broken page (bad font, bad content stream) should not cost the other pages.
    except Exception as exc:
        notes.append(f"page {number}: text could not be extracted ({exc or type(exc).__name__})")
        return []
    if dropped:
        hidden[number] = dropped
    for line in lines:
        line.text = _clean(line.text)
    return [line for line in lines if line.text]


def _read_scans(
    document: pdfium.PdfDocument, pages: list[list[Line]], notes: list[str]
) -> list[int]:
    """OCR the pages without a text layer in place; return the pages read by OCR.

    Without an engine the pages stay empty and a note says what to install.
    """
    scans = [n for n, lines in enumerate(pages, start=1) if not _has_text(lines)]
    if not scans:
        return []
    command = ocr.engine()
    if command is None:
        notes.append(f"pages {page_ranges(scans)}: no text layer; {ocr.INSTALL_HINT}")
        return []
    done: list[int] = []
    for number in scans:
        page = document[number - 1]
        try:
            pages[number - 1] = _ocr_lines(ocr.read_page_image(command, page))
        except ocr.OcrError as exc:
            notes.append(f"page {number}: {exc}")
            continue
        finally:
            page.close()
        if _has_text(pages[number - 1]):
            done.append(number)
    if done:
        notes.append(f"pages {page_ranges(done)}: read by OCR (no text layer)")
    return done


def _has_text(lines: list[Line]) -> bool:
    return any(ch.isalnum() for line in lines for ch in line.text)


def _ocr_lines(text: str) -> list[Line]:
    """OCR output as lines; a blank line becomes a wider gap so paragraphs stay apart."""
    lines: list[Line] = []
    y = 0.0
    for raw in text.splitlines():
        cleaned = _clean(raw)
        y -= 1.0 if cleaned else 2.0
        if cleaned:
            lines.append(Line(text=cleaned, y=y))
    return lines


def _clean(text: str) -> str:
    """Strip control characters and ligatures; collapse runs of spaces."""
    text = _CONTROL.sub("", text.translate(_LIGATURES))
    return _SPACES.sub(" ", text).strip()


def _drop_running_lines(pages: list[list[Line]]) -> None:
    """Remove page numbers and running headers/footers from the top and bottom of pages.

    A running line is a first or last line whose text (digits ignored) and size recur at the
    edge of at least a third of the pages; left in, it would split paragraphs and pollute
    chunks. Size is part of the match so a large title page is kept.
    """
    edges = [(lines[0], lines[-1]) for lines in pages if lines]
    counts: dict[tuple[str, int], int] = {}
    for first, last in edges:
        for key in {_edge_key(first), _edge_key(last)}:
            counts[key] = counts.get(key, 0) + 1
    running = {key for key, count in counts.items() if count >= max(3, len(pages) / 3)}
    for lines in pages:
        for index in (-1, 0):
            if lines and (
                _edge_key(lines[index]) in running or _PAGE_NUMBER.match(lines[index].text)
            ):
                del lines[index]


def _edge_key(line: Line) -> tuple[str, int]:
    """A line's text with digits masked (so "Page 3" matches "Page 4") and its size."""
    return re.sub(r"\d+", "#", line.text.lower()), round(line.size)


def _body_size(pages: list[list[Line]]) -> float:
    """The body font size: the size most of the document's characters are set in.

    Measured over the whole document rather than per page, so a cover page or a page that
    is mostly a table does not make its large text look like body text.
    """
    weights: dict[float, int] = {}
    for line in (line for lines in pages for line in lines):
        weights[line.size] = weights.get(line.size, 0) + len(line.text)
    half, seen = sum(weights.values()) / 2, 0
    for size in sorted(weights):
        seen += weights[size]
        if seen >= half:
            return size
    return 0.0


def _is_heading(line: Line, body_size: float) -> bool:
    """Whether a line is set clearly larger than the body text and is short enough."""
    return (
        body_size > 0
        and line.size >= HEADING_SIZE_RATIO * body_size
        and len(line.text) <= MAX_HEADING_CHARS
        and any(ch.isalpha() for ch in line.text)
        and not _TOC_ENTRY.search(line.text)
    )


def _add_page_sections(
    lines: list[Line],
    page: int,
    body_size: float,
    levels: HeadingLevels,
    trail: HeadingTrail,
    sections: list[Section],
    headings: list[str],
) -> None:
    """Append one page's sections; ``trail`` carries the heading in effect to the next page."""
    step = _line_step([line for line in lines if not _is_heading(line, body_size)], body_size)
    paragraphs: list[list[Line]] = []
    previous: Line | None = None
    for line in lines:
        if _is_heading(line, body_size):
            if _continues_heading(previous, line, body_size) and not paragraphs:
                text = f"{trail.heading} {line.text}"
                trail.extend(line.text, levels.level(text, line.size, page))
                headings[-1] = trail.heading
            else:
                _flush(paragraphs, page, trail, sections)
                trail.open(levels.level(line.text, line.size, page), line.text)
                headings.append(trail.heading)
        elif not paragraphs or _starts_paragraph(previous, line, step):
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
        previous = line
    _flush(paragraphs, page, trail, sections)


def _continues_heading(previous: Line | None, line: Line, body_size: float) -> bool:
    """Whether `line` is the wrapped second line of the heading on `previous`."""
    if previous is None or previous.y is None or line.y is None:
        return False
    return (
        _is_heading(previous, body_size)
        and abs(previous.size - line.size) <= 0.05 * line.size
        and 0 < previous.y - line.y <= 1.6 * line.size
    )


def _line_step(body_lines: list[Line], body_size: float) -> float:
    """The page's usual distance between consecutive body baselines (0 when unknown).

    Capped at 1.5x the body font size (leading is rarely wider), so a short page made only
    of widely spaced paragraphs still shows its paragraph breaks.
    """
    gaps = [
        above.y - below.y
        for above, below in itertools.pairwise(body_lines)
        if above.y is not None and below.y is not None and above.y > below.y
    ]
    if not gaps:
        return 0.0
    return min(statistics.median(gaps), 1.5 * body_size) if body_size else statistics.median(gaps)


def _starts_paragraph(previous: Line | None, line: Line, step: float) -> bool:
    """Whether `line` begins a new paragraph: a gap wider than usual or a jump upwards."""
    if previous is None or previous.y is None or line.y is None or step <= 0:
        return False
    gap = previous.y - line.y
    return gap > PARAGRAPH_GAP_RATIO * step or gap < -step


def _flush(
    paragraphs: list[list[Line]], page: int, trail: HeadingTrail, out: list[Section]
) -> None:
    """Turn collected paragraphs into a section (if any text) and clear them."""
    text = "\n\n".join(_join_lines(lines) for lines in paragraphs)
    if text.strip():
        out.append(trail.section(text, page))
    paragraphs.clear()


def _join_lines(lines: list[Line]) -> str:
    """Join a paragraph's lines, mending words hyphenated at a line break.

    List items keep their own line so that lists stay readable.
    """
    text = lines[0].text
    for line in lines[1:]:
        if re.search(r"[^\W\d_]-$", text) and line.text[:1].islower():
            text = text[:-1] + line.text
        elif line.row or lines[0].row or _BULLET.match(line.text):
            text = f"{text}\n{line.text}"
        else:
            text = f"{text} {line.text}"
    return text


def _metadata_title(document: pdfium.PdfDocument) -> str:
    """The metadata title when it names the document, "" for blanks and file-name stand-ins."""
    try:
        raw = document.get_metadata_value("Title")
    except MemoryError:
        raise
    # A broken info dictionary should cost the title, not the document.
    except Exception:
        return ""
    title = _clean(str(raw or ""))
    if len(title) < 3 or _MEANINGLESS_TITLE.match(title.lower()):
        return ""
    return title
