"""PDF text read as a person reads it: word spaces from glyph positions, columns, tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.document import ParsedDocument
from ingest.loaders import load
from tests import pdf_layouts

DEBMAKE = Path("/usr/share/doc/debmake-doc/debmake-doc.en.pdf")


def text_of(document: ParsedDocument) -> str:
    return "\n\n".join(section.text for section in document.sections)


def glued_share(text: str) -> float:
    """Share of whitespace-separated tokens longer than 20 characters."""
    tokens = text.split()
    return sum(len(token) > 20 for token in tokens) / max(1, len(tokens))


@pytest.mark.parametrize("maker", [pdf_layouts.positioned_words_pdf, pdf_layouts.kerned_pdf])
def test_words_placed_without_space_glyphs_keep_their_spaces(
    tmp_path: Path, maker: Callable[[Path], Path]
) -> None:
    document = load(maker(tmp_path / "spaced.pdf"))
    assert text_of(document) == pdf_layouts.SENTENCE
    assert document.sections[0].page == 1


def test_two_columns_written_across_the_page_read_column_by_column(tmp_path: Path) -> None:
    left = [f"left column line {i} with enough words to fill it out" for i in range(6)]
    right = [f"right column line {i} with enough words to fill it out" for i in range(6)]
    text = text_of(load(pdf_layouts.two_column_pdf(tmp_path / "cols.pdf", left, right)))
    assert text.index(left[-1]) < text.index(right[0])
    positions = [text.index(line) for line in left + right]
    assert positions == sorted(positions)


def test_ligature_glyphs_become_letters(tmp_path: Path) -> None:
    text = text_of(load(pdf_layouts.ligature_pdf(tmp_path / "lig.pdf")))
    assert text == "The office staff flew to the field with an effort."


def test_table_reads_as_rows_under_its_header(tmp_path: Path) -> None:
    rows = [
        ("Record", "Period", "Owner"),
        ("Invoices", "7 years", "Finance"),
        ("Payroll", "10 years", "HR"),
        ("Emails", "2 years", "IT"),
    ]
    text = text_of(load(pdf_layouts.table_pdf(tmp_path / "table.pdf", rows)))
    assert "Record | Period | Owner" in text
    assert "Record: Payroll; Period: 10 years; Owner: HR" in text.splitlines()
    assert text.startswith("Retention periods for each record type are listed below.")


@pytest.mark.skipif(not DEBMAKE.exists(), reason="apt-get install debmake-doc")
def test_debmake_manual_has_few_glued_words() -> None:
    document = load(DEBMAKE)
    text = text_of(document)
    assert glued_share(text) <= 0.01
    assert "Permission is hereby granted, free of charge, to any person" in re.sub(
        r"\s+", " ", text
    )
    assert document.pages == 143
