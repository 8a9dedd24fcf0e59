"""The summary benchmark's figures (bench.summaries) on small made-up inputs: where a
point lies in the ground-truth outline, the verbatim check and the debris detector."""

from __future__ import annotations

from pathlib import Path

import docx

from bench.summaries import (
    Section,
    debris,
    docx_outline,
    html_outline,
    largest,
    represented,
    sections_of,
    verbatim,
)

PAGED = [
    Section("1 Start", 1, 4, "Setup steps."),
    Section("2 Middle", 5, 5, "Short part."),
    Section("3 End", 6, 9, "Closing words " * 20),
]
UNPAGED = [
    Section("General", 0, 0, "Use a debugger.\n\nAre there coding standards?\nYes. See PEP 8."),
    Section("Core Language", 0, 0, "Why an UnboundLocalError?\nIt can be a surprise to get it."),
    Section("Objects", 0, 0, "A class is the particular object type."),
]


def test_a_pdf_point_lies_in_the_section_whose_pages_hold_it() -> None:
    assert sections_of("anything", 5, PAGED) == [1]
    assert sections_of("anything", 9, PAGED) == [2]
    assert sections_of("front matter", 0, PAGED) == []
    assert represented([("a", 2), ("b", 3), ("c", 7)], PAGED) == {0, 2}


def test_an_unpaged_point_lies_where_its_words_are_whatever_the_layout() -> None:
    assert sections_of("A  class is the\nparticular *object* type.", 0, UNPAGED) == [2]
    assert sections_of("Nowhere in this document at all.", 0, UNPAGED) == []


def test_a_point_across_a_heading_lies_in_both_sections() -> None:
    quote = "Yes. See PEP 8.\n\nIt can be a surprise to get it."
    assert sections_of(quote, 0, UNPAGED) == [0, 1]


def test_the_largest_sections_are_those_with_most_text() -> None:
    assert largest(PAGED, 2) == [2, 0]


def test_html_outline_takes_the_h2_sections_under_the_one_h1(tmp_path: Path) -> None:
    page = tmp_path / "faq.html"
    page.write_text(
        "<html><body><div class='body'><h1>FAQ</h1><p>Intro.</p>"
        "<h2>General<a class='headerlink'>¶</a></h2><p>One.</p><h3>Q?</h3><p>Two.</p>"
        "<h2>Objects</h2><p>Three.</p></div></body></html>"
    )
    sections = html_outline(page)
    assert [s.title for s in sections] == ["General", "Objects"]
    assert "Two." in sections[0].text and "Three." not in sections[0].text


def test_docx_outline_takes_heading_1_paragraphs(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Scope", level=1)
    document.add_paragraph("Policy applies to all packages.")
    document.add_heading("Details", level=2)
    document.add_heading("Files", level=1)
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "/etc holds configuration."
    path = tmp_path / "policy.docx"
    document.save(str(path))
    sections = docx_outline(path)
    assert [s.title for s in sections] == ["Scope", "Files"]
    assert "Details" in sections[0].text
    assert "/etc holds configuration." in sections[1].text


def test_verbatim_holds_the_document_text_and_nothing_else() -> None:
    text = "First line.\nSecond   line here. Third."
    assert verbatim("Second   line here.", 12, 31, text)
    assert verbatim("line.\nSecond line", 0, 0, text)  # whitespace aside, anywhere
    assert not verbatim("Second line there.", 12, 31, text)
    assert not verbatim("", 0, 0, text)


def test_debris_finds_headings_contents_lines_and_page_numbers() -> None:
    headings = {"2 simple manipulations numbers and vectors"}
    assert debris("2 Simple manipulations; numbers and vectors", headings) == "heading"
    assert debris("Chapter 7: R Miscellanea 37", set()) == "layout"
    assert debris("9.4 Objects . . . . . . . . 112", set()) == "layout"
    assert debris("  42 ", set()) == "page_number"
    assert debris("- xii", set()) == "page_number"
    inside = (
        "The function read.table() can then be used to read the data frame directly.\n\n"
        "Chapter 7: Reading data from files 34 Input file form:\n\nPrice Floor Area"
    )
    assert debris(inside, set()) == "header_inside"
    sentence = "A class is the particular object type created by executing a class statement."
    assert debris(sentence, headings) == ""
    mention = "Read chapter 7 first; it covers the files R reads in 34 pages.\n\nRead it early."
    assert debris(mention, set()) == ""
