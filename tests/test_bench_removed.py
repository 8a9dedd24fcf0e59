"""In-domain unanswerables made by cutting sections from a copy of a corpus: the cut copy
lacks each drawn section and its contents line, every other byte is the original's, and a
section whose answer is said elsewhere too is dropped from the questions."""

from __future__ import annotations

from pathlib import Path

from bench.gold import GoldQuestion, html_sections
from bench.removed import folder_gold, remove_sections

CONTENTS = (
    '<nav class="contents"><ul>\n'
    '<li><a href="#tea">Where is the tea?</a></li>\n'
    '<li><a href="#keys">Who holds the keys?</a></li>\n'
    '<li><a href="#parking">Can I park on site?</a></li>\n'
    "</ul></nav>\n"
)
TEA = (
    '<section id="tea">\n<h2>Where is the tea?<a class="headerlink" href="#tea">¶</a></h2>\n'
    "<p>The tea lives in the blue cupboard on the second floor, beside the kettle that "
    "nobody descales.</p>\n</section>\n"
)
KEYS = (
    '<section id="keys">\n<h2>Who holds the keys?</h2>\n'
    "<p>The duty manager on the ward holds the controlled drug cupboard keys at all "
    "times, and hands them over at each shift change.</p>\n</section>\n"
)
PARKING = (
    '<section id="parking">\n<h2>Can I park on site?</h2>\n'
    "<p>Staff may park in car park B with a permit from the estates office, which "
    "issues one per person per year.</p>\n</section>\n"
)
PAGE = (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Ward FAQ</title></head>\n'
    f'<body><div class="body">\n<h1>Ward FAQ</h1>\n{CONTENTS}{TEA}{KEYS}{PARKING}'
    "</div></body></html>\n"
)
INDEX = (
    "<html><body><ul>\n"
    '<li><a href="faq.html">Ward FAQ</a><ul>\n'
    '<li><a href="faq.html#tea">Where is the tea?</a></li>\n'
    '<li><a href="faq.html#keys">Who holds the keys?</a></li>\n'
    "</ul></li>\n</ul></body></html>\n"
)
# The keys answer said again, word for word, in another document.
HANDBOOK = (
    "Night shifts. The duty manager on the ward holds the controlled drug cupboard keys at "
    "all times, and hands them over at each shift change.\n"
)


def _corpus(tmp_path: Path, handbook: bool = False) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "faq.html").write_text(PAGE, encoding="utf-8")
    (folder / "index.html").write_text(INDEX, encoding="utf-8")
    (folder / "notes.bin").write_bytes(b"\x00\xff not text")
    if handbook:
        (folder / "handbook.txt").write_text(HANDBOOK, encoding="utf-8")
    return folder


def _gold(folder: Path) -> list[GoldQuestion]:
    return html_sections("ward", [folder / "faq.html"])


def test_cut_copy_lacks_the_sections_and_their_contents_lines(tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    gold = _gold(folder)
    assert [q.question for q in gold] == [
        "Where is the tea?",
        "Who holds the keys?",
        "Can I park on site?",
    ]
    cut = remove_sections(folder, gold, tmp_path / "cut", count=2, max_share=1.0)
    gone = {r.question.question for r in cut.removed}
    assert len(gone) == 2 and not cut.repeated and cut.eligible == 3
    sections = {
        "Where is the tea?": TEA,
        "Who holds the keys?": KEYS,
        "Can I park on site?": PARKING,
    }
    anchors = {
        "Where is the tea?": "tea",
        "Who holds the keys?": "keys",
        "Can I park on site?": "parking",
    }
    expected_page, expected_index = PAGE, INDEX
    for title in gone:
        line = f'<li><a href="#{anchors[title]}">{title}</a></li>'
        expected_page = expected_page.replace(sections[title].rstrip("\n"), "").replace(line, "")
        index_line = f'<li><a href="faq.html#{anchors[title]}">{title}</a></li>'
        expected_index = expected_index.replace(index_line, "")
    # Every other byte is the original's: only the sections and their lines are gone.
    assert (cut.folder / "faq.html").read_text(encoding="utf-8") == expected_page
    assert (cut.folder / "index.html").read_text(encoding="utf-8") == expected_index
    assert (cut.folder / "notes.bin").read_bytes() == (folder / "notes.bin").read_bytes()
    assert cut.unchecked == ["notes.bin"]
    kept = [q for q in gold if q.question not in gone]
    assert all(q.answer[:40] in (cut.folder / "faq.html").read_text() for q in kept)
    assert [r.half for r in cut.removed] == ["tune", "held_out"]
    assert all(1 <= len(r.nearest) <= 3 for r in cut.removed)


def test_a_section_whose_answer_is_said_elsewhere_is_dropped(tmp_path: Path) -> None:
    folder = _corpus(tmp_path, handbook=True)
    cut = remove_sections(folder, _gold(folder), tmp_path / "cut", count=3, max_share=1.0)
    assert [q.question for q in cut.repeated] == ["Who holds the keys?"]
    assert {r.question.question for r in cut.removed} == {
        "Where is the tea?",
        "Can I park on site?",
    }
    assert "Who holds the keys?" not in (cut.folder / "faq.html").read_text(encoding="utf-8")
    assert (cut.folder / "handbook.txt").read_text(encoding="utf-8") == HANDBOOK


def test_the_draw_is_seeded_and_leaves_out_sections_holding_others(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    nested = (
        "<html><body><h2>Leave</h2><p>Leave is booked through the staff portal by the end of "
        "the month before it is taken.</p><h3>Annual leave</h3><p>Full-time staff have "
        "twenty-seven days of annual leave a year plus bank holidays.</p><h2>Pay</h2>"
        "<p>Salaries are paid on the last working day of each month into your bank.</p>"
        "</body></html>"
    )
    (folder / "hr.html").write_text(nested, encoding="utf-8")
    gold = html_sections("hr", [folder / "hr.html"])
    first = remove_sections(folder, gold, tmp_path / "a", count=1, max_share=1.0)
    again = remove_sections(folder, gold, tmp_path / "b", count=1, max_share=1.0)
    assert [q.question for q in first.with_subsections] == ["Leave"]
    assert first.eligible == 2
    assert [r.question for r in first.removed] == [r.question for r in again.removed]
    cut_text = (first.folder / "hr.html").read_text(encoding="utf-8")
    title = first.removed[0].question.question
    assert f">{title}<" not in cut_text and "<h2>Leave</h2>" in cut_text


def test_markdown_sections_and_their_contents_lines(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = (
        "# Ward guide\n\n- [Visiting hours](#visiting-hours)\n- [Meals](#meals)\n\n"
        "## Visiting hours\n\nVisitors are welcome from two until eight in the evening, "
        "two at a bedside.\n\n## Meals\n\nMeals are served at eight, twelve and five, and "
        "relatives may bring food in labelled boxes.\n"
    )
    (folder / "guide.md").write_text(text, encoding="utf-8")
    gold = folder_gold(folder)
    assert [q.question for q in gold] == ["Visiting hours", "Meals"]
    cut = remove_sections(folder, gold, tmp_path / "cut", count=1, max_share=0.5)
    assert len(cut.removed) == 1
    out = (cut.folder / "guide.md").read_text(encoding="utf-8")
    if cut.removed[0].question.question == "Meals":
        expected = text.replace("- [Meals](#meals)\n", "").split("## Meals")[0]
    else:
        start, end = text.index("## Visiting"), text.index("## Meals")
        expected = text[:start] + text[end:]
        expected = expected.replace("- [Visiting hours](#visiting-hours)\n", "")
    assert out == expected
