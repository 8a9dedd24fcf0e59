"""The original behind a citation: the cited page of a PDF cut out as a PDF of its own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.api import Docent
from app.originals import pdf_page
from tests import docgen


def test_the_cited_page_alone_is_that_page_of_the_original(tmp_path: Path) -> None:
    path = docgen.make_pdf(tmp_path / "handbook.pdf", pages=docgen.HANDBOOK_PAGES)

    page = pdf_page(path, 2)

    assert page is not None
    reader = PdfReader(io.BytesIO(page))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "27 days of annual leave" in text and "37.5 hours" not in text
    assert reader.metadata is not None and reader.metadata.title == "handbook.pdf, page 2"


def test_no_page_alone_where_there_is_none_to_cut(tmp_path: Path) -> None:
    handbook = docgen.make_pdf(tmp_path / "handbook.pdf", pages=docgen.HANDBOOK_PAGES)
    locked = docgen.make_encrypted_pdf(tmp_path / "locked.pdf", user_password="secret")
    broken = docgen.make_corrupt_pdf(tmp_path / "broken.pdf")
    text = tmp_path / "notes.txt"
    text.write_text("not a PDF")

    assert pdf_page(handbook, 0) is None and pdf_page(handbook, 4) is None
    assert pdf_page(locked, 1) is None
    opens = docgen.make_encrypted_pdf(tmp_path / "opens.pdf", user_password="")
    assert pdf_page(opens, 1) is not None
    assert pdf_page(broken, 1) is None
    assert pdf_page(text, 1) is None
    assert pdf_page(tmp_path / "gone.pdf", 1) is None


@pytest.mark.slow
def test_an_original_replaced_by_a_same_size_fake_is_not_served(
    tmp_path: Path, docent: Docent
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    original = share / "policy.txt"
    original.write_text("Leave is 25 days a year for every member of staff.", encoding="utf-8")
    docent.ingest([share], "docs")
    assert docent.document_file("docs", "policy.txt") == original

    original.write_text("Leave is 99 days a year for every member of staff.", encoding="utf-8")

    assert docent.document_file("docs", "policy.txt") is None
