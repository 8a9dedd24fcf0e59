"""Text a reader cannot see never reaches the index: real PDF, DOCX and HTML files.

Each file mixes visible text (black, coloured, white on a dark ground) with hidden text
(white on white, under 1 pt, invisible render mode, Word's hidden attribute, hiding
inline styles). Hidden words carry a ``HIDDEN`` marker; the loaders must keep every
visible word, drop every marker, and say in the report how much they left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from fpdf import FPDF
from fpdf.enums import TextMode

from app.api import Docent
from ingest.document import ParsedDocument
from ingest.loaders import load
from tests import docgen, injection

VISIBLE = ["Visible start", "visible end", "red words", "Light grey note", "Header on dark"]


def full_text(document: ParsedDocument) -> str:
    return "\n".join(section.text for section in document.sections)


def make_hidden_pdf(path: Path) -> Path:
    """A page of visible text with hidden text in four disguises, one mid-line."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    # One text object whose colour changes within the line: black, white, black, red.
    pdf.write_html(
        '<p>Visible start <font color="#FFFFFF">HIDDENWHITE</font> visible end '
        '<font color="#CC0000">red words</font>.</p>'
    )
    pdf.ln(20)
    pdf.set_text_color(190, 190, 190)
    pdf.cell(300, 14, "Light grey note", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(254, 254, 254)
    pdf.cell(300, 14, "HIDDENNEARWHITE", new_x="LMARGIN", new_y="NEXT")
    pdf.set_fill_color(0, 51, 102)  # a table header: white on dark blue is visible
    pdf.set_text_color(255, 255, 255)
    pdf.cell(300, 20, "Header on dark", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font_size(0.5)
    pdf.cell(300, 14, "HIDDENTINY", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.text_mode = TextMode.INVISIBLE
    pdf.cell(300, 14, "HIDDENINVISIBLE", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_drops_white_tiny_and_invisible_text_and_keeps_coloured(tmp_path: Path) -> None:
    document = load(make_hidden_pdf(tmp_path / "hidden.pdf"))
    text = full_text(document)
    assert "HIDDEN" not in text, text
    for words in VISIBLE:
        assert words in text
    assert document.notes == [
        "pages 1: 4 pieces of hidden text left out (white on white, under 1 pt or invisible)"
    ]


def test_pdf_without_hidden_text_has_no_note(tmp_path: Path) -> None:
    document = load(docgen.make_pdf(tmp_path / "plain.pdf"))
    assert document.notes == []
    assert "87 percent" in full_text(document)


def test_pdf_text_matching_a_dark_page_background_is_hidden(tmp_path: Path) -> None:
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_fill_color(20, 20, 20)
    pdf.rect(0, 0, pdf.w, pdf.h, style="F")  # a dark page
    pdf.set_font("Helvetica", "", 11)
    pdf.set_text_color(255, 255, 255)
    pdf.cell(300, 14, "White on a dark page", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(20, 20, 20)
    pdf.cell(300, 14, "HIDDENDARK", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "dark.pdf"))
    text = full_text(load(tmp_path / "dark.pdf"))
    assert "White on a dark page" in text and "HIDDEN" not in text


def make_hidden_html(path: Path) -> Path:
    hidden = [
        "<div style='display:none'>HIDDEN1</div>",
        "<p style='visibility: hidden'>HIDDEN2</p>",
        "<p style='color:#fff'>HIDDEN3</p>",
        "<p style='color: White !important'>HIDDEN4</p>",
        "<span style='color:rgb(255, 255, 255)'>HIDDEN5</span>",
        "<p style='font-size:0'>HIDDEN6</p>",
        "<p style='font-size:0.5px'>HIDDEN7</p>",
        "<p style='opacity:0'>HIDDEN8</p>",
        "<p hidden>HIDDEN9</p>",
        "<span aria-hidden='true'>HIDDEN10</span>",
        "<div style='display:none'><p>HIDDEN11 inside a hidden parent counts once</p></div>",
        "<p><font color='white'>HIDDEN12</font></p>",
    ]
    visible = [
        "<p>Visible start and visible end.</p>",
        "<p style='color:#c00'>The red words stay.</p>",
        "<p style='color:#777'>Light grey note.</p>",
        "<div style='background-color:#003366'><p style='color:#fff'>Header on dark</p></div>",
        "<p style='font-size:9px'>Small print stays readable.</p>",
    ]
    body = "".join(v + h for v, h in zip(visible, hidden, strict=False)) + "".join(hidden[5:])
    path.write_text(
        "<!DOCTYPE html><html><head><title>Notice</title></head>"
        f"<body><main><h1>Notice</h1>{body}</main></body></html>",
        encoding="utf-8",
    )
    return path


def test_html_drops_elements_hidden_by_attributes_and_inline_styles(tmp_path: Path) -> None:
    document = load(make_hidden_html(tmp_path / "hidden.html"))
    text = full_text(document)
    assert "HIDDEN" not in text, text
    for words in [*VISIBLE, "Small print stays readable."]:
        assert words in text
    assert document.notes == ["12 hidden elements left out"]


def make_hidden_docx(path: Path) -> Path:
    document = Document()
    document.core_properties.created = docgen.FIXED_DATE
    secret = document.styles.add_style("Secret", WD_STYLE_TYPE.CHARACTER)
    secret.font.hidden = True
    aside = document.styles.add_style("Aside", WD_STYLE_TYPE.PARAGRAPH)
    aside.font.hidden = True
    document.add_paragraph("HIDDENPARAGRAPH in a hidden style", style="Aside")
    paragraph = document.add_paragraph("Visible start ")
    paragraph.add_run("HIDDENVANISH ").font.hidden = True
    paragraph.add_run("visible end ")
    paragraph.add_run("HIDDENWHITE ").font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    paragraph.add_run("HIDDENTINY ").font.size = Pt(0.5)
    paragraph.add_run("HIDDENSTYLE ", style="Secret")
    paragraph.add_run("red words").font.color.rgb = RGBColor(0xCC, 0, 0)
    document.add_paragraph().add_run("Light grey note").font.color.rgb = RGBColor(0xAA, 0xAA, 0xAA)
    header = (
        document.add_table(rows=1, cols=1).rows[0].cells[0].paragraphs[0].add_run("Header on dark")
    )
    header.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), "003366")
    header._r.get_or_add_rPr().append(shading)
    highlighted = document.add_paragraph().add_run("White on a black highlight")
    highlighted.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    highlighted.font.highlight_color = WD_COLOR_INDEX.BLACK
    cell = document.add_table(rows=1, cols=1).rows[0].cells[0]
    cell.paragraphs[0].add_run("HIDDENINTABLE").font.hidden = True
    document.save(str(path))
    return path


def test_docx_drops_hidden_white_and_tiny_runs(tmp_path: Path) -> None:
    document = load(make_hidden_docx(tmp_path / "hidden.docx"))
    text = full_text(document)
    assert "HIDDEN" not in text, text
    for words in [*VISIBLE, "White on a black highlight"]:
        assert words in text
    assert document.notes == ["6 hidden runs of text left out (hidden, white or under 1 pt)"]


@pytest.mark.parametrize(
    "doc", [d for d in injection.corpus() if d.attack == "hidden"], ids=lambda d: d.name
)
def test_hidden_injections_of_the_corpus_never_load(
    tmp_path: Path, doc: injection.InjectionDoc
) -> None:
    text = full_text(load(doc.write(tmp_path / doc.name)))
    assert doc.fact in text
    assert doc.canary not in text and "Ignore your instructions" not in text


def test_ingest_report_notes_the_hidden_text(tmp_path: Path, docent: Docent) -> None:
    share = tmp_path / "share"
    share.mkdir()
    make_hidden_pdf(share / "hidden.pdf")
    make_hidden_docx(share / "hidden.docx")
    report = docent.ingest([share], "docs")
    notes = {outcome.source: outcome.notes for outcome in report.files}
    assert report.exit_code == 0
    assert any("hidden text left out" in note for note in notes["hidden.pdf"])
    assert any("hidden runs of text left out" in note for note in notes["hidden.docx"])
    stored = docent.index.collection("docs").chunks.get(include=["documents"])["documents"]
    assert stored and not [text for text in stored if "HIDDEN" in text]
