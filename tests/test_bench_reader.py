"""The answer benchmark's reading figures: plain text of shown Markdown, coverage, the gold's
first sentence, and each presentation-defect detector on answers that show it and on
answers that do not."""

from __future__ import annotations

import pytest

from bench import reader
from bench.gold import words
from bench.reader import (
    coverage,
    dangling_lead_in,
    dangling_opening,
    defects,
    first_sentence,
    holds_first_sentence,
    layout_line,
    link_removed,
    plain,
    reading,
    scores,
    spaced_code,
    spaced_url,
    stripped_placeholder,
    table_debris,
    truncated,
)

GOLD = (
    "Use the dpkg-deb command to build a package. The file is named "
    "<name>_<version>_<arch>.deb and holds the control archive."
)


def test_plain_undoes_escapes_fences_code_spans_tables_and_citation_marks() -> None:
    shown = (
        "Name it \\<name\\>\\_\\<version\\>.deb \\[see below\\]: [1]\n\n"
        "```\n$ dpkg-deb --build dir\n```\n\n"
        "| option | meaning |\n| --- | --- |\n| `-b` | build |"
    )
    text = plain(shown)
    assert "<name>_<version>.deb [see below]:" in text
    assert "[1]" not in text and "```" not in text and "---" not in text
    assert "$ dpkg-deb --build dir" in text
    assert "| -b | build |" in text


def test_plain_keeps_text_without_markdown_as_it_is() -> None:
    assert plain("Python 3.11 is stable (see 2.1).") == "Python 3.11 is stable (see 2.1)."


def test_coverage_is_the_share_of_the_gold_content_words_shown() -> None:
    assert coverage(GOLD, GOLD) == 1.0
    assert coverage("Nothing relevant here at all.", GOLD) == 0.0
    half = coverage("Use the dpkg-deb command to build a package.", GOLD)
    assert 0.3 < half < 0.7


def test_coverage_reads_through_markdown_escapes() -> None:
    escaped = "Use the dpkg\\-deb command to build a package\\."
    assert coverage(escaped, GOLD) == coverage("Use the dpkg-deb command to build a package.", GOLD)


def test_first_sentence_is_the_gold_answers_first_and_is_held_through_markdown() -> None:
    assert first_sentence(GOLD) == "Use the dpkg-deb command to build a package."
    assert holds_first_sentence("Use the `dpkg-deb` command to build a package: [1]", GOLD)
    assert not holds_first_sentence("The file holds the control archive.", GOLD)


def test_first_sentence_forgives_one_word_lost_in_ten() -> None:
    gold = "Every package must have a copyright file in its documentation folder today."
    assert holds_first_sentence(
        "package must have a copyright file in its documentation folder", gold
    )
    assert not holds_first_sentence("Every package must have a file.", gold)


@pytest.mark.parametrize(
    "piece",
    [
        "9.4. How can I keep a log of my session?",
        "CHAPTER 3. CHOOSING A PACKAGE MANAGER 3.1. WHICH ONE",
        "Chapter 7: R Miscellanea 37",
        "Installing packages ........ 12",
        "The root password",
    ],
)
def test_layout_lines_shown_alone_are_found(piece: str) -> None:
    assert layout_line(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "Run apt-get update before you install a package.",
        "The priorities are:\n\n- required\n- important",
        "3 of the 5 packages were removed because they had no maintainer.",
        "Yes.",
        "2. Run the command to install it.",
    ],
)
def test_sentences_and_units_are_not_layout_lines(piece: str) -> None:
    assert not layout_line(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "| Package | Description :: Release :; stable",
        "apt | the package manager | installs packages",
        "Description :: Release",
    ],
)
def test_table_debris_is_found(piece: str) -> None:
    assert table_debris(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "| package | meaning |\n| --- | --- |\n| apt | installs |",
        "Run a command: it prints the list.",
        "In C++, std::vector holds values.",
        "Count them:\n\n```\n$ ls | grep deb | wc -l\n```",
        "Pipe it with `ls | sort | uniq` to see each once.",
    ],
)
def test_markdown_tables_and_prose_are_not_table_debris(piece: str) -> None:
    assert not table_debris(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "However, the list is sorted.",
        "On the other hand, it holds older versions.",
        "It is kept in /etc.",
        "This keeps the old files.",
        "- Therefore the package is removed.",
    ],
)
def test_dangling_openings_are_found(piece: str) -> None:
    assert dangling_opening(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "Items are sorted by priority.",
        "Iterating over a list is fast.",
        "Thesaurus entries are kept in one file.",
        "The package is removed; however, its files stay.",
    ],
)
def test_openings_with_their_subject_are_not_dangling(piece: str) -> None:
    assert not dangling_opening(piece)


def test_link_removed_is_found_only_where_the_text_says_so() -> None:
    assert link_removed("See the page (link removed) for more.")
    assert not link_removed("See the page `https://www.debian.org` for more.")


@pytest.mark.parametrize(
    "piece",
    [
        "Get it from https : // www . python . org today.",
        "See http:// example . org",
        "Browse www . debian . org for the list.",
    ],
)
def test_spaced_urls_are_found(piece: str) -> None:
    assert spaced_url(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "Get it from `https://www.python.org` today.",
        "The file ends in .org or .com.",
        "Use version 3. The next one is 4.",
    ],
)
def test_whole_urls_and_prose_are_not_spaced_urls(piece: str) -> None:
    assert not spaced_url(piece)


@pytest.mark.parametrize(
    "piece",
    ["You can use S . rst rip ( ) on it.", "Use the built-in super( ) function."],
)
def test_code_with_spaces_inside_is_found(piece: str) -> None:
    assert spaced_code(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "You can use `S.rstrip()` on it.",
        "Use super() in the method. It calls the base class.",
        "Python 3 . 11 was released.",
    ],
)
def test_code_as_written_and_prose_are_not_spaced_code(piece: str) -> None:
    assert not spaced_code(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "The file is named __.deb and holds the archive.",
        "Its copyright is in /usr/share/doc//copyright.",
        "Name it _.changes when done.",
    ],
)
def test_stripped_placeholders_are_found(piece: str) -> None:
    assert stripped_placeholder(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "The file is named \\<name\\>\\_\\<version\\>.deb.",
        "Define __init__ to set the attributes.",
        "See `https://www.debian.org/doc/` for more.",
        "snake_case names like my_var are common.",
    ],
)
def test_placeholders_kept_and_dunder_names_are_not_stripped(piece: str) -> None:
    assert not stripped_placeholder(piece)


def test_a_lead_in_without_what_it_announces_is_found() -> None:
    assert dangling_lead_in("The priorities are:")
    assert dangling_lead_in("To see the status, execute the command: [1]")
    assert not dangling_lead_in("The priorities are:\n\n- required\n- important")
    assert not dangling_lead_in("It is done.")


@pytest.mark.parametrize(
    "piece",
    [
        "Axes have three main components: the axis line (line style [1]",
        "By using the",
    ],
)
def test_prose_stopping_mid_sentence_is_truncated(piece: str) -> None:
    assert truncated(piece)


@pytest.mark.parametrize(
    "piece",
    [
        "A whole sentence. [1]",
        "A unit cut at the cap, to read on ...",
        "The priorities are:\n\n- required\n- important",
        "Run:\n\n```\napt-get update\n```",
        "| a | b |\n| --- | --- |\n| 1 | 2 |",
        "It says “yes.”",
    ],
)
def test_whole_sentences_capped_units_lists_and_code_are_not_truncated(piece: str) -> None:
    assert not truncated(piece)


def test_defects_lists_each_kind_once_over_the_pieces() -> None:
    found = defects(["However, it is done.", "It holds (link removed).", "Fine text here."])
    assert found == ["dangling_opening", "link_removed"]
    assert defects(["A clean answer with its subject."]) == []
    assert set(reader.DETECTORS) >= set(found)


def test_scores_measure_the_whole_text_and_defects_by_piece() -> None:
    got = scores(["Use the dpkg-deb command to build a package."], GOLD)
    assert got.first_sentence and got.words == 9 and got.defects == ()
    whole = scores(["However, x."], GOLD, text="However, x. [1]")
    assert whole.defects == ("dangling_opening",) and whole.words == 2


def test_reading_counts_refusals_as_covering_nothing() -> None:
    got = reading([(GOLD, [GOLD]), (GOLD, [])])
    assert got["answerable"] == 2 and got["answered"] == 1
    assert got["coverage"] == 0.5 and got["first_sentence"] == 0.5
    assert got["words_median"] == got["words_p95"] == len(words(GOLD))
    assert got["with_defect"] == 0
    assert reading([]) == {}
