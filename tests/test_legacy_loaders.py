"""Old binary Office files and RTF (.doc, .xls, .ppt, .rtf) as LibreOffice writes them,
read through LibreOffice headless into the modern formats' loaders: headings, lists,
tables, sheets, slides and hidden text come out as they do from .docx, .xlsx and .pptx."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.document import LoaderError, ParsedDocument
from ingest.isolation import ParseLimits, parse_isolated
from ingest.loaders import load, loader_for, supported
from tests.libreoffice import convert
from tests.test_odf_loaders import make_policy
from tests.test_office_loaders import make_presentation, make_workbook

OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sources (by name) and the legacy files LibreOffice saved from them."""
    sources = tmp_path_factory.mktemp("sources")
    out = tmp_path_factory.mktemp("legacy")
    make_policy(sources / "policy.docx")
    make_workbook(sources / "rota.xlsx")
    make_presentation(sources / "winter.pptx")
    files = [sources / "policy.docx", sources / "rota.xlsx", sources / "winter.pptx"]
    files += convert([sources / "policy.docx"], "doc", out)
    files += convert([sources / "policy.docx"], "rtf", out)
    files += convert([sources / "rota.xlsx"], "xls", out)
    files += convert([sources / "winter.pptx"], "ppt", out)
    return {path.name: path for path in files}


def _outline(document: ParsedDocument) -> list[tuple[int, str, int, str]]:
    return [(s.page, s.heading, s.level, s.text) for s in document.sections]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["policy.doc", "policy.rtf"])
def test_word_files_read_as_the_docx_they_were_saved_from(made: dict[str, Path], name: str) -> None:
    document = load(made[name])
    original = load(made["policy.docx"])

    assert document.title == "Visitor policy"
    assert _outline(document) == _outline(original)
    assert document.notes == original.notes
    assert "HIDDEN" not in "".join(section.text for section in document.sections)


@pytest.mark.slow
def test_an_old_workbook_has_its_sheets_rows_and_hidden_parts_as_xlsx(
    made: dict[str, Path],
) -> None:
    document = load(made["rota.xls"])

    assert document.pages == 4
    assert _outline(document) == _outline(load(made["rota.xlsx"]))
    assert document.notes == [
        "1 hidden sheet left out: Pay",
        "1 hidden row and 1 hidden column with text left out",
    ]
    assert document.title == "rota"  # the original's name, not the converted copy's


@pytest.mark.slow
def test_an_old_presentation_has_a_page_per_slide_with_its_notes(made: dict[str, Path]) -> None:
    document = load(made["winter.ppt"])

    assert document.pages == 3
    assert _outline(document) == [
        (
            1,
            "Winter readiness",
            1,
            "- Grit the car park before 6 am\n- Check the generator fuel weekly\n\n"
            "Notes: Estates confirmed the grit delivery.",
        ),
        (2, "Contacts", 1, "Team | Extension\nEstates | 2201\nSecurity | 2299"),
    ]
    assert document.notes == ["1 hidden slide left out"]


@pytest.mark.slow
def test_the_parser_worker_converts_within_its_limits(made: dict[str, Path]) -> None:
    path = made["policy.doc"]
    loader = loader_for(".doc")
    assert loader is not None

    document = parse_isolated(path, loader, ParseLimits(timeout_seconds=110))

    assert _outline(document) == _outline(load(made["policy.docx"]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "fix"),
    [("bad.doc", "Word"), ("bad.xls", "Excel"), ("bad.ppt", "PowerPoint")],
)
def test_a_damaged_file_fails_with_the_fix_and_is_never_read_as_text(
    tmp_path: Path, name: str, fix: str
) -> None:
    path = tmp_path / name
    path.write_bytes(OLE_HEADER + bytes(range(256)) * 20)
    with pytest.raises(
        LoaderError, match=rf"could not read this file .* damaged.* open it in {fix} or Libre"
    ):
        load(path)


def test_without_libreoffice_the_file_names_the_package_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    path = tmp_path / "minutes 1998.doc"
    path.write_bytes(OLE_HEADER + bytes(1000))
    with pytest.raises(LoaderError) as failure:
        load(path)
    assert str(failure.value) == (
        "reading .doc files needs LibreOffice, which is not installed here: install it "
        "(apt-get install libreoffice-writer-nogui), or save minutes 1998.doc as .docx in "
        "Word or LibreOffice"
    )


@pytest.mark.parametrize(
    ("name", "make"), [("rota.xls", make_workbook), ("winter.ppt", make_presentation)]
)
def test_a_newer_file_under_the_old_name_is_read_as_what_it_is(
    tmp_path: Path, name: str, make: Callable[[Path], None]
) -> None:
    modern = tmp_path / f"{name}x"
    make(modern)
    (tmp_path / name).write_bytes(modern.read_bytes())

    document = load(tmp_path / name)

    assert _outline(document) == _outline(load(modern))
    assert document.title == {"rota.xls": "rota", "winter.ppt": "Winter readiness"}[name]
    suffix = Path(name).suffix
    assert f"the file is a {suffix}x saved under a {suffix} name; read as {suffix}x" in (
        document.notes
    )


@pytest.mark.slow
def test_rtf_under_a_doc_name_is_read_as_rtf(made: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "policy.doc"
    path.write_bytes(made["policy.rtf"].read_bytes())

    assert _outline(load(path)) == _outline(load(made["policy.docx"]))


def test_a_text_file_named_xls_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("Name\tBeds\nWard 4\t12\n", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"not an Excel 97-2003 workbook .* rename it"):
        load(path)


def test_a_file_named_rtf_that_is_not_rtf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "letter.rtf"
    path.write_text("Dear colleague,\n", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"not RTF"):
        load(path)


def test_the_legacy_formats_are_supported() -> None:
    for name in ("a.doc", "a.XLS", "a.ppt", "a.rtf"):
        assert supported(Path(name)), name
