"""Scanned pages read by OCR (Debian's tesseract-ocr) inside the parsing worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import ocr
from ingest.isolation import ParseLimits, parse_isolated
from ingest.loaders import load
from ingest.loaders.pdf import load_pdf
from tests import docgen, pdf_layouts

pytestmark = pytest.mark.slow

needs_engine = pytest.mark.skipif(ocr.engine() is None, reason=ocr.INSTALL_HINT)

PARAGRAPHS = [
    "Staff may carry over up to five days of annual leave into the next calendar year.",
    "Requests for parental leave must reach the human resources office eight weeks ahead.",
]


def _text(document: object) -> str:
    return "\n\n".join(section.text for section in document.sections)  # type: ignore[attr-defined]


@needs_engine
def test_scanned_page_is_read_by_ocr_with_its_page_number(tmp_path: Path) -> None:
    source = docgen.make_pdf(
        tmp_path / "text.pdf", [("Leave policy", "\n\n".join(PARAGRAPHS))], body_size=12
    )
    loaded = load(source)
    truth = f"{loaded.sections[0].heading} {_text(loaded)}"
    scan = pdf_layouts.scanned_copy(source, tmp_path / "scan.pdf", dpi=300)
    document = parse_isolated(scan, load_pdf, ParseLimits())
    assert document.ocr_pages == [1]
    assert document.empty_pages == []
    assert {section.page for section in document.sections} == {1}
    assert pdf_layouts.character_error_rate(truth, _text(document)) <= 0.03
    assert any("read by OCR" in note for note in document.notes)


@needs_engine
def test_scan_without_text_stays_empty_and_is_listed(tmp_path: Path) -> None:
    document = load(docgen.make_scanned_pdf(tmp_path / "blank.pdf", pages=1))
    assert document.ocr_pages == []
    assert document.empty_pages == [1]


def test_install_hint_names_the_debian_packages() -> None:
    assert "apt-get install tesseract-ocr tesseract-ocr-eng" in ocr.INSTALL_HINT
