"""Answers a ward's staff can act on: whole units, table rows, follow-ups (real index).

A small clinical policy set written as DOCX and HTML the way a hospital's files look:
a leave policy with a list of priorities and numbered steps, a keys-and-contacts table,
and an IT page with a command. The default mode (no model) answers from the units.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document
from markdown_it import MarkdownIt

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.condense import Turn
from tests.indexed import indexed

pytestmark = pytest.mark.slow


def _ward_policy(path: Path) -> None:
    document = Document()
    document.add_heading("Ward 7 staff policy", level=0)
    document.add_heading("Annual leave", level=1)
    document.add_paragraph(
        "Every nurse on Ward 7 is entitled to 27 days of annual leave a year, plus bank "
        "holidays. Leave must be requested at least 6 weeks ahead through the e-roster, "
        "and the ward manager approves it."
    )
    document.add_paragraph("When more staff ask for the same week, leave is granted in this order:")
    for item in (
        "staff with school-age children, for school holidays",
        "staff who were refused leave in the same period last year",
        "everyone else, in the order their requests arrived",
    ):
        document.add_paragraph(item, style="List Number")
    document.add_heading("Controlled drugs", level=1)
    document.add_paragraph(
        "The controlled drug cupboard is checked twice a day by two registered nurses. "
        "The holders of the keys and how to reach them:"
    )
    rows = [
        ("Name", "Responsibility", "Bleep"),
        ("Dana Whitfield", "Nurse in charge, day shift", "4410"),
        ("Anna Smith", "Controlled drug cupboard keys", "4432"),
        ("Omar Reyes", "Ward pharmacist", "4470"),
    ]
    table = document.add_table(rows=len(rows), cols=3)
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("Sickness", level=1)
    document.add_paragraph(
        "Staff who are unwell must phone the ward before 7 am on the first day of absence. "
        "However, it is the night nurse who records the call in the sickness book, not the "
        "caller."
    )
    document.save(str(path))


def _it_page(path: Path) -> None:
    path.write_text(
        "<html><head><title>Ward computers</title></head><body><main>"
        "<h1>Ward computers</h1><h2>Printing the handover sheet</h2>"
        "<p>To print the handover sheet from a ward computer, run the command:</p>"
        "<pre>handover-print --ward 7 --copies 2</pre>"
        "<p>Sheets are collected from the printer by the nurse in charge at 7.30 am.</p>"
        "<h2>Handover files</h2>"
        "<p>Handover files are kept at https://intranet.example.nhs.uk/ward7 as "
        "&lt;ward&gt;_&lt;date&gt;.pdf for a month.</p>"
        "</main></body></html>",
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    root = tmp_path_factory.mktemp("ward")
    share = root / "share"
    share.mkdir()
    _ward_policy(share / "ward-policy.docx")
    _it_page(share / "ward-computers.html")
    return indexed(Settings(data_dir=root / "data"), embedder, share)


def test_a_lead_in_is_shown_with_the_list_it_announces(ward: Docent) -> None:
    answer = ward.ask(
        "docs", "In what order is leave granted when several staff want the same week?"
    )

    assert answer.status == "answered", answer.text
    first = answer.sentences[0].text
    assert "granted in this order" in first
    assert "school-age children" in first and "order their requests arrived" in first
    assert (
        len([line for line in first.splitlines() if line.startswith(("- ", "1. ", "2. ", "3. "))])
        == 3
    )


def test_a_table_row_is_found_and_shown_with_its_header(ward: Docent) -> None:
    answer = ward.ask("docs", "Who holds the controlled drug cupboard keys?")

    assert answer.status == "answered", answer.text
    shown = answer.text
    assert "Anna Smith" in shown and "4432" in shown
    assert "| Name | Responsibility | Bleep |" in shown


def test_a_follow_up_carries_its_topic(ward: Docent) -> None:
    first = ward.ask("docs", "How many days of annual leave do I get?")
    assert "27 days" in first.text
    history = [Turn(first.question, first.query, first.text)]

    follow = ward.ask("docs", "How far in advance must I request it?", history)

    assert follow.status == "answered", follow.text
    assert "6 weeks ahead" in follow.text
    keys = ward.ask(
        "docs",
        "And who holds the keys?",
        [
            Turn(
                "Who checks the controlled drug cupboard?",
                "Who checks the controlled drug cupboard?",
                "",
            )
        ],
    )
    assert keys.status == "answered", keys.text
    assert "Anna Smith" in keys.text


def test_a_sentence_leaning_on_the_one_before_gets_it(ward: Docent) -> None:
    answer = ward.ask("docs", "Who records a sickness call in the sickness book?")

    shown = answer.sentences[0].text
    assert "night nurse" in shown
    assert "phone the ward before 7 am" in shown


def test_a_command_is_shown_as_code_and_a_url_as_text(ward: Docent) -> None:
    answer = ward.ask("docs", "How do I print the handover sheet?")

    assert "```\nhandover-print --ward 7 --copies 2\n```" in answer.text
    where = ward.ask("docs", "Where are the handover files stored and for how long?")
    html = MarkdownIt("commonmark").render(where.text)
    assert "https://intranet.example.nhs.uk/ward7" in html and "<a " not in html
    assert "&lt;ward&gt;_&lt;date&gt;.pdf" in html
    assert "link removed" not in where.text


def test_every_unit_is_a_verbatim_span_of_its_page(ward: Docent) -> None:
    answer = ward.ask(
        "docs", "In what order is leave granted when several staff want the same week?"
    )

    for sentence in answer.sentences:
        cited = sentence.citation
        source = next(s for s in answer.evidence if s.number == cited.number)
        offset = cited.char_start - source.char_start
        assert source.text[offset : offset + len(cited.quote)] == cited.quote
