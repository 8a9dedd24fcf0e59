"""PDF text read as a person reads it: word spaces from glyph positions, columns, tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.document import ParsedDocument
from ingest.loaders import load
from ingest.pdf_words import Line
from ingest.toc import DOT_LEADER, is_contents_page, is_entry
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


@pytest.mark.slow
@pytest.mark.skipif(not DEBMAKE.exists(), reason="apt-get install debmake-doc")
def test_debmake_manual_has_few_glued_words() -> None:
    document = load(DEBMAKE)
    text = text_of(document)
    assert glued_share(text) <= 0.01
    assert "Permission is hereby granted, free of charge, to any person" in re.sub(
        r"\s+", " ", text
    )
    assert document.pages == 143


def test_contents_page_with_dot_leaders_is_left_out(tmp_path: Path) -> None:
    entries = [(f"{n} Chapter about topic {n}", n + 1) for n in range(1, 7)]
    words = ["Scope", "Roles", "Retention", "Backups", "Access", "Audits"]
    body = [
        (f"{n} Chapter about topic {n}", f"{word} rules are described here in full.")
        for n, word in enumerate(words, start=1)
    ]
    document = load(pdf_layouts.toc_pdf(tmp_path / "toc.pdf", entries, body))
    assert all(section.page > 1 for section in document.sections)
    assert ". . . ." not in text_of(document)
    assert document.empty_pages == []
    assert "pages 1: table of contents" in document.notes[-1]
    assert document.sections[0].text == "Scope rules are described here in full."


def test_index_page_of_page_references_is_left_out() -> None:

    index = [
        Line(text=t) for t in ["Index", "audit log, 4, 12", "backup, 7", "users, 3-5", "zip, 9"]
    ]
    prose = [Line(text="Backups run nightly and are kept for 30 days."), Line(text="See page 7")]
    assert is_contents_page(index)
    assert not is_contents_page(prose * 3)
    assert is_entry("1.1 Scope . . . . . . . . 1")


@pytest.mark.slow
@pytest.mark.skipif(not DEBMAKE.exists(), reason="apt-get install debmake-doc")
def test_debmake_contents_pages_are_left_out() -> None:
    document = load(DEBMAKE)
    lines = [line for section in document.sections for line in section.text.splitlines()]
    assert not [line for line in lines if DOT_LEADER.search(line)]
    assert any("table of contents" in note for note in document.notes)
