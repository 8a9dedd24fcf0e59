"""OpenDocument text, spreadsheets and slides (.odt, .ods, .odp) as LibreOffice writes
them: Word, Excel and PowerPoint files made by python-docx, openpyxl and python-pptx,
saved again by LibreOffice headless, then read by the loaders, in process and in the
isolated parser worker."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from app.api import Docent
from app.settings import Settings
from ingest.document import LoaderError, ParsedDocument
from ingest.isolation import ParseLimits, parse_isolated
from ingest.loaders import load, loader_for, supported
from models.embedder import Embedder
from tests.libreoffice import convert
from tests.test_office_loaders import make_presentation, make_workbook


def make_policy(path: Path) -> None:
    """A Word file with a contents field, headings, both kinds of list, a table, and text
    hidden three ways (Word's hidden attribute, white on white, 1 pt type)."""
    document = docx.Document()
    document.core_properties.title = "Visitor policy"
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), 'TOC \\o "1-3" \\h \\z \\u')
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "Visitors\t1"
    run.append(text)
    field.append(run)
    document.add_paragraph()._p.append(field)
    document.add_heading("Visitors", 1)
    document.add_paragraph("Visitors sign in at reception.")
    document.add_paragraph("Wear the badge", style="List Bullet")
    document.add_paragraph("Return the badge", style="List Bullet")
    document.add_heading("Steps", 2)
    document.add_paragraph("Call security", style="List Number")
    document.add_paragraph("Wait at the door", style="List Number")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("Desk", "Hours"), ("Reception", "8-18")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    paragraph = document.add_paragraph("Visible words. ")
    paragraph.add_run("HIDDEN by its attribute. ").font.hidden = True
    paragraph.add_run("HIDDEN white on white. ").font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    paragraph.add_run("HIDDEN in 1 pt type.").font.size = Pt(1)
    document.save(str(path))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The OpenDocument files LibreOffice wrote, by name."""
    sources = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("opendocument")
    make_policy(sources / "policy.docx")
    make_workbook(sources / "rota.xlsx")
    long = openpyxl.Workbook()
    for number in range(120):
        long.active.append([f"item {number}", number])
    long.save(sources / "long.xlsx")
    make_presentation(sources / "winter.pptx")
    files = convert([sources / "policy.docx"], "odt", out)
    files += convert([sources / "rota.xlsx", sources / "long.xlsx"], "ods", out)
    files += convert([sources / "winter.pptx"], "odp", out)
    return {path.name: path for path in files}


def _texts(document: ParsedDocument) -> list[str]:
    return [section.text for section in document.sections]


@pytest.mark.slow
def test_a_text_document_has_headings_lists_and_tables_as_word_files_do(
    made: dict[str, Path],
) -> None:
    document = load(made["policy.odt"])

    assert document.title == "Visitor policy"
    assert [(s.heading, s.level, s.opens) for s in document.sections] == [
        ("Visitors", 1, ((1, "Visitors"),)),
        ("Steps", 2, ((2, "Steps"),)),
    ]
    assert _texts(document) == [
        "Visitors sign in at reception.\n\n- Wear the badge\n- Return the badge",
        "1. Call security\n2. Wait at the door\n\nDesk | Hours\nReception | 8-18\n\nVisible words.",
    ]


@pytest.mark.slow
def test_hidden_text_and_the_contents_are_left_out_and_reported(made: dict[str, Path]) -> None:
    document = load(made["policy.odt"])

    assert "HIDDEN" not in "".join(_texts(document))
    assert document.notes == [
        "3 pieces of hidden text left out (hidden, coloured like its ground or under 2.5 pt)",
        "table of contents (1 entry) left out of the index",
    ]


@pytest.mark.slow
def test_each_visible_sheet_is_a_page_with_rows_under_their_header(made: dict[str, Path]) -> None:
    document = load(made["rota.ods"])

    assert document.pages == 4
    assert [(s.page, s.heading, s.level) for s in document.sections] == [
        (1, "Rota", 1),
        (4, "Budget", 1),
    ]
    rota, budget = _texts(document)
    assert rota == (
        "December rota\n\n"
        "Ward | Shift | Staff on duty | Nurse in charge\n"
        "Ward 4 | Night | 2 registered nurses | Priya Natarajan\n"
        "Ward 5 | Day | 4 registered nurses | Tomasz Kowalczyk\n"
        "Ward 6 | Late | 3 registered nurses | Grace Okafor\n"
        "Total staff | — | 9"  # the formula's saved value
    )
    assert budget == "Item | Cost\nPrinter paper | 120.5"
    assert document.notes == [
        "1 hidden sheet left out: Pay",
        "1 hidden row and 1 hidden column with text left out",
    ]


@pytest.mark.slow
def test_a_sheet_past_the_row_cap_is_cut_and_reported(
    made: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.loaders.ods.MAX_ROWS", 50)

    document = load(made["long.ods"])

    assert "item 49 | 49" in document.sections[0].text
    assert "item 50" not in document.sections[0].text
    assert document.notes == ["sheet 'Sheet': only its first 50 rows were read"]


@pytest.mark.slow
def test_each_slide_is_a_page_with_title_body_table_and_notes(made: dict[str, Path]) -> None:
    document = load(made["winter.odp"])

    assert document.pages == 3
    assert document.title == "Winter readiness"
    assert [(s.page, s.heading, s.level) for s in document.sections] == [
        (1, "Winter readiness", 1),
        (2, "Contacts", 1),
    ]
    assert _texts(document) == [
        "- Grit the car park before 6 am\n- Check the generator fuel weekly\n\n"
        "Notes: Estates confirmed the grit delivery.",
        "Team | Extension\nEstates | 2201\nSecurity | 2299",
    ]
    assert document.notes == ["1 hidden slide left out"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["policy.odt", "rota.ods", "winter.odp"])
def test_the_parser_worker_reads_each_kind(made: dict[str, Path], name: str) -> None:
    path = made[name]
    loader = loader_for(path.suffix)
    assert loader is not None

    document = parse_isolated(path, loader, ParseLimits(timeout_seconds=60))

    assert document.sections == load(path).sections


@pytest.mark.slow
@pytest.mark.parametrize("name", ["policy.odt", "rota.ods", "winter.odp"])
def test_a_truncated_file_fails_with_the_fix(
    made: dict[str, Path], tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(made[name].read_bytes()[:3000])
    with pytest.raises(LoaderError, match=r"(damaged|not a valid ZIP).* save it again as \.od"):
        load(path)


@pytest.mark.slow
def test_a_spreadsheet_named_as_a_text_document_says_so(
    made: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "rota.odt"
    path.write_bytes(made["rota.ods"].read_bytes())
    with pytest.raises(
        LoaderError, match="not an OpenDocument text but an OpenDocument spreadsheet"
    ):
        load(path)


@pytest.mark.parametrize("name", ["a.odt", "a.ods", "a.odp"])
def test_random_bytes_fail_with_the_reason_and_the_fix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(random.Random(7).randbytes(4096))
    with pytest.raises(LoaderError, match=r"is not an OpenDocument .* re-export it"):
        load(path)


def test_a_password_protected_file_names_the_fix(tmp_path: Path) -> None:
    # LibreOffice encrypts the parts and says so in the manifest.
    path = tmp_path / "locked.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", random.Random(3).randbytes(512))
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
            ">"
            '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
            "</manifest:file-entry></manifest:manifest>",
        )
    with pytest.raises(LoaderError, match=r"password-protected.*save it again without a password"):
        load(path)


def test_the_opendocument_formats_are_supported() -> None:
    for name in ("a.odt", "a.ODS", "a.odp"):
        assert supported(Path(name)), name


@pytest.mark.slow
def test_a_share_of_these_files_is_ingested_and_a_row_answers_citing_its_sheet(
    made: dict[str, Path], tmp_path: Path, embedder: Embedder
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for name in ("rota.ods", "winter.odp", "policy.odt"):
        (share / name).write_bytes(made[name].read_bytes())
    # An old Word file too damaged for LibreOffice: it fails alone, with the fix.
    (share / "minutes.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8)
    docent = Docent(Settings(data_dir=tmp_path / "data"), embedder=embedder)

    report = docent.ingest([share], "docs")

    outcome = {o.source: o for o in report.files}
    assert {name: outcome[name].status for name in outcome} == {
        "rota.ods": "added",
        "winter.odp": "added",
        "policy.odt": "added",
        "minutes.doc": "failed",
    }
    assert "save it again as .docx" in outcome["minutes.doc"].reason
    assert report.exit_code == 2

    answer = docent.ask("docs", "How many registered nurses work nights on Ward 4?")

    assert answer.status == "answered", answer.text
    cited = {(c.source, c.page, c.cells) for c in answer.citations}
    assert ("rota.ods", 1, "Rota!A4:D4") in cited, cited
    assert "| Ward 4 | Night | 2 registered nurses | Priya Natarajan |" in answer.text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["policy.odt", "rota.ods", "winter.odp"])
def test_a_damaged_compressed_part_fails_with_the_fix(
    made: dict[str, Path], tmp_path: Path, name: str
) -> None:
    data = bytearray(made[name].read_bytes())
    with zipfile.ZipFile(made[name]) as archive:
        part = archive.getinfo("content.xml")
    # The part's compressed bytes start after its local header, name and extra field.
    start = part.header_offset + 30 + len(part.filename) + len(part.extra)
    data[start + 10 : start + 40] = bytes(range(30))
    path = tmp_path / name
    path.write_bytes(bytes(data))
    with pytest.raises(LoaderError, match=r"damaged .* save it again as \.od"):
        load(path)
