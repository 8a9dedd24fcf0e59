"""PDFs laid out the ways typesetting programs do it, for the PDF text tests and bench.

Each maker writes a real PDF: words placed by explicit positioning with no space glyphs
(as dblatex and some pdfTeX setups do), kerned TJ arrays, two columns written line by
line across the page, ligature glyphs, a table, a table of contents with dot leaders.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from tests import docgen

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

SENTENCE = (
    "Permission is granted to make and distribute verbatim copies of this manual "
    "provided the copyright notice and this permission notice are preserved on all copies"
)


def _raw_pdf(path: Path, content: str) -> Path:
    """A one-page PDF whose page draws ``content`` (a content stream) in Helvetica."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    stream = DecodedStreamObject()
    stream.set_data(content.encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def _widths(words: list[str], size: float) -> list[float]:
    measure = FPDF(unit="pt")
    measure.set_font("Helvetica", size=size)
    return [measure.get_string_width(word) for word in words]


def positioned_words_pdf(path: Path, text: str = SENTENCE) -> Path:
    """Every word placed with its own text matrix, no space glyph anywhere.

    The font is set at size 1 and scaled by the text matrix, as dblatex output does.
    """
    words, size = text.split(), 11.0
    ops, x, y = ["BT /F1 1 Tf"], 72.0, 700.0
    for word, width in zip(words, _widths(words, size), strict=True):
        if x + width > 540:
            x, y = 72.0, y - 14
        ops.append(f"{size} 0 0 {size} {x:.2f} {y:.2f} Tm ({word}) Tj")
        x += width + 0.28 * size
    ops.append("ET")
    return _raw_pdf(path, "\n".join(ops))


def kerned_pdf(path: Path, text: str = SENTENCE) -> Path:
    """Words in TJ arrays: small kerning inside words, word gaps as displacements only."""
    parts = []
    for word in text.split():
        half = max(1, len(word) // 2)
        parts.append(f"({word[:half]}) 30 ({word[half:]}) -300")
    lines, per_line = [], 8
    for start in range(0, len(parts), per_line):
        lines.append("[" + " ".join(parts[start : start + per_line]) + "] TJ 0 -14 Td")
    return _raw_pdf(path, "BT /F1 11 Tf 72 700 Td\n" + "\n".join(lines) + "\nET")


def two_column_pdf(path: Path, left: list[str], right: list[str]) -> Path:
    """Two columns whose lines are written across the page, left line then right line."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for row, (first, second) in enumerate(zip(left, right, strict=True)):
        y = 80 + 13 * row
        pdf.text(40, y, first)
        pdf.text(310, y, second)
    pdf.output(str(path))
    return path


def ligature_pdf(path: Path) -> Path:
    """Text set with ligature glyphs (U+FB01 fi, U+FB02 fl, U+FB00 ff) in a TrueType font."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    pdf.add_font("DejaVu", "", str(DEJAVU))
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(0, 14, "The of\ufb01ce staff \ufb02ew to the \ufb01eld with an e\ufb00ort.")
    pdf.output(str(path))
    return path


def table_pdf(path: Path, rows: list[tuple[str, ...]]) -> Path:
    """A paragraph, then a table whose first row is its header."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 14, "Retention periods for each record type are listed below.")
    pdf.ln(10)
    with pdf.table(width=300, col_widths=(1, 1, 1), align="LEFT") as table:
        for cells in rows:
            table.row(cells)
    pdf.output(str(path))
    return path


def toc_pdf(path: Path, entries: list[tuple[str, int]], body: list[tuple[str, str]]) -> Path:
    """A contents page with dot leaders, then one page per chapter."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 24, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for title, page in entries:
        dots = " ." * int((420 - pdf.get_string_width(title)) / pdf.get_string_width(" ."))
        pdf.cell(0, 14, f"{title}{dots} {page}", new_x="LMARGIN", new_y="NEXT")
    for heading, text in body:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 24, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        pdf.multi_cell(0, 14, text)
    pdf.output(str(path))
    return path


def scanned_copy(source: Path, path: Path, dpi: int, skew: float = 0.6, noise: int = 24) -> Path:
    """A scan of ``source``: each page rendered at ``dpi``, skewed, speckled, as an image PDF.

    Args:
        source: A PDF with a text layer.
        path: Where to write the image-only copy.
        dpi: Scanning resolution.
        skew: Rotation in degrees, as a sheet fed slightly askew.
        noise: Largest grey-level change of the random speckle (fixed seed).
    """
    import random

    import pypdfium2 as pdfium
    from PIL import Image

    randomness = random.Random(14)
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    document = pdfium.PdfDocument(source)
    for index in range(len(document)):
        image = document[index].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        image = image.rotate(skew, resample=Image.Resampling.BILINEAR, fillcolor=255)
        pixels = [
            max(0, min(255, value + randomness.randint(-noise, noise))) for value in image.getdata()
        ]
        image.putdata(pixels)
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=pdf.w, h=pdf.h)
    document.close()
    pdf.output(str(path))
    return path


def character_error_rate(truth: str, read: str) -> float:
    """Edit distance between two texts (whitespace runs as one space) over the truth's length."""
    a, b = " ".join(truth.split()), " ".join(read.split())
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i]
        for j, other in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
            )
        previous = current
    return previous[-1] / max(1, len(a))
