"""Factories that write real test documents (PDF, DOCX, HTML, hostile files) to a path.

Every factory is deterministic (fixed dates, seeded random bytes) and fast, so tests can
make their inputs on the fly instead of committing binary fixtures.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from docx import Document
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter

PageSpec = tuple[str | None, str]
"""One PDF page: its heading (None for no heading) and body paragraphs split by blank lines."""

FIXED_DATE = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)

# The staff handbook of the fixtures, the UI tests and the UI benchmark: one clear fact a
# page, which even the packaged SmolLM2 answers and cites.
HANDBOOK_PAGES: list[PageSpec] = [
    ("Working hours", "Staff work 37.5 hours a week. Core hours are 10:00 to 15:00."),
    ("Annual leave", "Every employee receives 27 days of annual leave per year."),
    ("Notice periods", "After probation the notice period is three months."),
]

DEFAULT_PAGES: list[PageSpec] = [
    (
        "Introduction",
        "This report describes the pilot of the Docent assistant at the Harbor office.\n\n"
        "Forty-two staff members took part over a period of six weeks.",
    ),
    (
        "Results",
        "Answers were judged correct in 87 percent of cases.\n\n"
        "The median response time was 2.4 seconds on a laptop without a GPU.",
    ),
    (
        "Next Steps",
        "The rollout to the Lisbon office is planned for the third quarter.",
    ),
]

DEFAULT_DOCX_SECTIONS: list[tuple[str, str]] = [
    ("Purpose", "This policy explains how the Harbor office stores paper records."),
    ("Retention", "Invoices are kept for ten years. Visitor logs are kept for one year."),
]

DEFAULT_TABLE: list[list[str]] = [
    ["Record", "Retention", "Owner"],
    ["Invoices", "10 years", "Finance"],
    ["Visitor logs", "1 year", "Reception"],
]

DEFAULT_HTML_SECTIONS: list[tuple[str, str]] = [
    ("Connecting to the VPN", "Open the Harbor VPN client and sign in with your badge number."),
    ("Printing", "Printers on floor 3 accept jobs from the queue named harbor-print-3."),
]

ZIP_BOMB_INFLATED_SIZE = 210 * 1024 * 1024


def make_pdf(
    path: Path,
    pages: Sequence[PageSpec] | None = None,
    *,
    title: str | None = "Pilot Report",
    heading_size: float = 18,
    body_size: float = 11,
) -> Path:
    """Write a multi-page text PDF: a large bold heading and body paragraphs per page.

    Args:
        path: Where to write the file.
        pages: One (heading, body) pair per page; a page with no heading and an empty body
            is written blank. Defaults to DEFAULT_PAGES. Text must be latin-1 (core font).
        title: The metadata title, or None to leave it unset.
        heading_size: Heading font size in points.
        body_size: Body font size in points.

    Returns:
        The path written.
    """
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(auto=True, margin=15)
    if title is not None:
        pdf.set_title(title)
    for heading, body in DEFAULT_PAGES if pages is None else pages:
        pdf.add_page()
        if heading:
            pdf.set_font("Helvetica", "B", heading_size)
            pdf.multi_cell(0, heading_size * 0.5, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_font("Helvetica", "", body_size)
        for paragraph in (p for p in body.split("\n\n") if p.strip()):
            pdf.multi_cell(0, body_size * 0.5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(body_size * 0.4)
    pdf.output(str(path))
    return path


def handbook_share(root: Path, pages: Sequence[PageSpec] = HANDBOOK_PAGES) -> Path:
    """A folder ``root/share`` holding ``handbook.pdf``, the "Staff Handbook" of ``pages``."""
    share = root / "share"
    share.mkdir()
    make_pdf(share / "handbook.pdf", pages=pages, title="Staff Handbook")
    return share


def make_scanned_pdf(path: Path, pages: int = 3) -> Path:
    """Write a PDF whose pages carry only an image and shapes, no text layer (like a scan)."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(FIXED_DATE)
    # A grey gradient stands in for a scanned page image.
    image = Image.new("L", (64, 64))
    image.putdata([(x * 4 + y) % 256 for y in range(64) for x in range(64)])
    for _ in range(pages):
        pdf.add_page()
        pdf.image(image, x=20, y=20, w=170)
        pdf.rect(15, 15, 180, 260)
        pdf.line(20, 200, 190, 200)
    pdf.output(str(path))
    return path


def make_encrypted_pdf(
    path: Path, user_password: str = "secret", owner_password: str = "owner-secret"
) -> Path:
    """Write a text PDF encrypted with AES-256; an empty user password opens without asking."""
    plain = make_pdf(path)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def make_docx(
    path: Path,
    sections: Sequence[tuple[str, str]] | None = None,
    *,
    title: str | None = "Records Policy",
    table: Sequence[Sequence[str]] | None = None,
) -> Path:
    """Write a Word file: a Heading 1 and a paragraph per section, a table after the first.

    Args:
        path: Where to write the file.
        sections: (heading, paragraph) pairs. Defaults to DEFAULT_DOCX_SECTIONS.
        title: The core-properties title, or None to leave it empty.
        table: Rows of cell texts. Defaults to DEFAULT_TABLE; pass [] for no table.

    Returns:
        The path written.
    """
    document = Document()
    document.core_properties.title = title or ""
    document.core_properties.created = FIXED_DATE
    document.core_properties.modified = FIXED_DATE
    rows = DEFAULT_TABLE if table is None else table
    for index, (heading, paragraph) in enumerate(sections or DEFAULT_DOCX_SECTIONS):
        document.add_heading(heading, level=1)
        document.add_paragraph(paragraph)
        if index == 0 and rows:
            grid = document.add_table(rows=len(rows), cols=len(rows[0]))
            for row, values in zip(grid.rows, rows, strict=True):
                for cell, value in zip(row.cells, values, strict=True):
                    cell.text = value
    document.save(str(path))
    return path


def make_docx_with_contents(
    path: Path, title: str, sections: Sequence[tuple[str, str]], *, how: str, intro: str
) -> Path:
    """Write a Word file whose table of contents lists its headings, as Word makes one.

    Args:
        path: Where to write the file.
        title: The first paragraph, in the Title style (the core title is left empty).
        sections: (heading, paragraph) pairs, each heading an entry of the contents.
        how: "field" (a TOC field, entries unstyled), "styles" ("toc 1" paragraphs, no
            field), "content-control" (the field inside a "Table of Contents" content
            control) or "typed" (a "Contents" heading over lines ending in a tab and a page).
        intro: A paragraph between the contents and the first heading.

    Returns:
        The path written.
    """
    document = Document()
    document.core_properties.title = ""
    if "toc 1" not in {(style.name or "").lower() for style in document.styles}:
        document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_heading(title, level=0)
    headings = [heading for heading, _ in sections]
    if how == "typed":
        document.add_heading("Contents", level=1)
        for page, heading in enumerate(headings, start=2):
            document.add_paragraph(f"{heading}\t{page}")
    else:
        _add_toc(document, headings, how)
    document.add_paragraph(intro)
    for heading, paragraph in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


def _add_toc(document: WordDocument, headings: Sequence[str], how: str) -> None:
    style = "toc 1" if how != "field" else None
    first = document.add_paragraph(style=style)
    if how != "styles":
        _add_field(first, "begin", ' TOC \\o "1-3" \\h \\z \\u ')
        _add_field(first, "separate")
    for number, heading in enumerate(headings):
        entry = first if number == 0 else document.add_paragraph(style=style)
        _add_toc_entry(entry, heading, number + 2)
    if how != "styles":
        _add_field(document.add_paragraph(), "end")
    if how == "content-control":
        _wrap_in_toc_control(document, first)


def _add_field(paragraph: Paragraph, kind: str, instruction: str | None = None) -> None:
    """Append a complex field character (begin, separate, end) and its instruction."""
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(char)
    if instruction is not None:
        text = OxmlElement("w:instrText")
        text.set(qn("xml:space"), "preserve")
        text.text = instruction
        paragraph.add_run()._r.append(text)


def _add_toc_entry(paragraph: Paragraph, text: str, page: int) -> None:
    """A TOC entry as Word writes it: a hyperlink to a bookmark, a tab, a PAGEREF field."""
    link, run, node = OxmlElement("w:hyperlink"), OxmlElement("w:r"), OxmlElement("w:t")
    link.set(qn("w:anchor"), f"_Toc{page}")
    node.text = text
    run.append(node)
    link.append(run)
    paragraph._p.append(link)
    paragraph.add_run("\t")
    _add_field(paragraph, "begin", f" PAGEREF _Toc{page} \\h ")
    _add_field(paragraph, "separate")
    paragraph.add_run(str(page))
    _add_field(paragraph, "end")


def _wrap_in_toc_control(document: WordDocument, first: Paragraph) -> None:
    """Move the paragraphs from ``first`` on into a "Table of Contents" content control."""
    body = document.element.body
    children = list(body.iterchildren())
    paragraphs = [p for p in children[children.index(first._p) :] if p.tag == qn("w:p")]
    sdt, properties, part, gallery, content = (
        OxmlElement(name)
        for name in ("w:sdt", "w:sdtPr", "w:docPartObj", "w:docPartGallery", "w:sdtContent")
    )
    gallery.set(qn("w:val"), "Table of Contents")
    part.append(gallery)
    properties.append(part)
    sdt.extend([properties, content])
    first._p.addprevious(sdt)
    content.extend(paragraphs)


def make_html(
    path: Path,
    sections: Sequence[tuple[str, str]] | None = None,
    *,
    title: str = "Harbor IT help",
    encoding: str = "utf-8",
) -> Path:
    """Write an HTML page: nav, script, style, aside and footer around a main article.

    The article holds an h1, then an h2 and a paragraph per section, a list, a table and
    a pre block, so tests can check both what is kept and what is dropped.

    Args:
        path: Where to write the file.
        sections: (heading, paragraph) pairs. Defaults to DEFAULT_HTML_SECTIONS.
        title: The <title> and the article's h1.
        encoding: The byte encoding, also declared in <meta charset>.

    Returns:
        The path written.
    """
    body = "".join(
        f"<h2>{escape(h)}<a class='headerlink' href='#s{i}'>\u00b6</a></h2>\n<p>{escape(p)}</p>\n"
        for i, (h, p) in enumerate(sections or DEFAULT_HTML_SECTIONS)
    )
    page = f"""<!DOCTYPE html>
<html><head><meta charset="{encoding}"><title>{escape(title)}</title>
<style>body {{ font-family: sans-serif; }}</style>
<script>var tracking = "SCRIPT-BOILERPLATE";</script></head>
<body>
<header><a href="/">Harbor intranet HEADER-BOILERPLATE</a></header>
<nav><ul><li><a href="/it">IT NAV-BOILERPLATE</a></li></ul></nav>
<div class="sphinxsidebar">SIDEBAR-BOILERPLATE</div>
<main><article>
<h1>{escape(title)}</h1>
{body}<ul><li>Restart the laptop.</li><li>Check the cable.</li></ul>
<table><tr><th>Floor</th><th>Queue</th></tr><tr><td>3</td><td>harbor-print-3</td></tr></table>
<pre>ping  vpn.harbor.example
ssh   admin@vpn</pre>
</article></main>
<aside>ASIDE-BOILERPLATE</aside>
<footer>Copyright FOOTER-BOILERPLATE</footer>
</body></html>
"""
    path.write_bytes(page.encode(encoding))
    return path


def make_zip_bomb_docx(path: Path, inflated_size: int = ZIP_BOMB_INFLATED_SIZE) -> Path:
    """Write a .docx whose word/document.xml inflates to `inflated_size` bytes (~200 KiB on disk).

    The entry is streamed into the archive, so making it never holds the inflated text.
    """
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w") as entry:
            written = 0
            while written < inflated_size:
                piece = chunk[: inflated_size - written]
                entry.write(piece)
                written += len(piece)
    return path


def make_corrupt_pdf(path: Path) -> Path:
    """Write a file that starts like a PDF and continues with garbage."""
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + random.Random(1).randbytes(4096))
    return path


def make_binary_named_pdf(path: Path) -> Path:
    """Write random bytes (no known file signature) under whatever name `path` has."""
    path.write_bytes(b"\x13\x37" + random.Random(2).randbytes(2046))
    return path
