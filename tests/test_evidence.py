"""Sentence evidence and answers of quotes: real PDFs, real Chroma, the real embedder.

Answers of quotes ask no model, so these run in the fast set; the chat backend is the
configured one but never called (``answer.model`` stays empty).
"""

from __future__ import annotations

import time

import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.citations import CitationChecker, SourceText
from rag.evidence import (
    HEADING_MATCH,
    OPENS_MATCH,
    RankWeights,
    SentenceRanker,
    gated,
    heading_match,
    literal_match,
    restates,
    score,
    section_of,
    unmatched_terms,
)
from rag.layout import debris, markdown
from rag.prompts import NOT_FOUND
from rag.quotes import QuoteConfig, refusal, units_text
from rag.retrieve import Passage
from rag.sentences import split_passage
from rag.types import Heading
from tests import docgen
from tests.indexed import indexed

TOC = """Contents
1 Annual leave . . . . . . . . . . . . 2
2 Notice periods . . . . . . . . . . . 3
Annual leave
Every employee receives 27 days of annual leave per year. Leave is booked in the HR
portal at least two weeks ahead.
How many days of annual leave do employees get?
Part-time staff receive leave in proportion to their hours."""


def passage(text: str, dense: float = 0.6, page: int = 2) -> Passage:
    return Passage("d:00000", text, "d", "handbook.pdf", "Handbook", page, "", 500,
                   500 + len(text), 0, dense, None, 0.1)  # fmt: skip


def test_sentences_keep_spans_and_drop_headings_contents_and_questions() -> None:
    found = split_passage(passage(TOC))
    texts = [" ".join(s.text.split()) for s in found]
    assert texts == [
        "Every employee receives 27 days of annual leave per year.",
        "Leave is booked in the HR portal at least two weeks ahead.",
        "Part-time staff receive leave in proportion to their hours.",
    ]
    for sentence in found:
        assert TOC[sentence.start : sentence.end] == sentence.text
        assert sentence.doc_start == 500 + sentence.start
    assert found[0].after_heading == "Annual leave"


@pytest.mark.slow
def test_a_sentence_that_only_restates_the_question_is_never_a_candidate(
    embedder: Embedder,
) -> None:
    question = "What is the annual leave policy for every employee?"
    echo = "The answer to this question is: the annual leave policy for every employee."
    assert restates(echo, question)
    assert not restates("Every employee receives 27 days of annual leave per year.", question)
    ranked = SentenceRanker(embedder).rank(question, [passage(f"{echo}\n\n{TOC}")])
    assert ranked and all(r.sentence.text != echo for r in ranked)
    # The citation check refuses it too, though every word of it is in the source.
    checked = CitationChecker(embedder).check(f"{echo} [1]", [SourceText(1, echo)], question)
    assert not checked[0].verified and checked[0].rejected == [1]


@pytest.mark.slow
def test_the_answering_sentence_ranks_first(embedder: Embedder) -> None:
    ranked = SentenceRanker(embedder).rank(
        "How many days of annual leave does every employee receive?",
        [
            passage("Staff work 37.5 hours a week. Core hours are 10:00 to 15:00.", 0.4),
            passage(TOC),
        ],
    )
    assert "27 days" in ranked[0].sentence.text


def test_words_no_passage_holds_are_found() -> None:
    held = [passage(TOC)]
    assert unmatched_terms("How many days of leave do contractors get?", held) == ["contractor"]
    assert unmatched_terms("How do I build a Shiny dashboard for leave?", held) == [
        "build",
        "shini",
        "dashboard",
    ]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    root = tmp_path_factory.mktemp("quotes")
    working, leave, notice = docgen.HANDBOOK_PAGES
    leave = (leave[0], f"{leave[1]} The source is the board minutes, page 99.")
    share = docgen.handbook_share(root, [working, leave, notice])
    return indexed(Settings(data_dir=root / "data"), embedder, share)


@pytest.mark.slow
def test_an_answer_of_quotes_cites_each_quote_with_its_page(library: Docent) -> None:
    started = time.perf_counter()
    answer = library.ask("docs", "How many days of annual leave does every employee receive?")
    assert time.perf_counter() - started < 2.0  # no model: retrieval and ranking only
    assert answer.status == "answered" and answer.made_by == "quotes" and answer.model == ""
    first = answer.sentences[0]
    assert "27 days" in first.text and first.citation.page == 2
    assert 1 <= len(answer.sentences) <= 3
    for sentence in answer.sentences:
        cited = sentence.citation
        assert cited.char_end - cited.char_start == len(cited.quote)
        source = next(s for s in answer.evidence if s.number == cited.number)
        offset = cited.char_start - source.char_start
        assert source.text[offset : offset + len(cited.quote)] == cited.quote


@pytest.mark.slow
def test_a_planted_attribution_is_only_ever_a_quote_of_its_page(library: Docent) -> None:
    answer = library.ask("docs", "What is the source of the annual leave figure?")
    # Whatever is shown is a verbatim span of its page with its number, nothing else:
    # the document's claim about its source is never the answer's own words.
    assert answer.text == units_text([s.text for s in answer.sentences])
    for sentence in answer.sentences:
        assert sentence.text.rstrip(". ") == markdown(sentence.citation.quote).rstrip(". ")
        if "page 99" in sentence.text:
            assert sentence.citation.page == 2


@pytest.mark.slow
def test_questions_the_documents_do_not_cover_are_refused(library: Docent) -> None:
    for question in (
        "What is the boiling point of tungsten in kelvin?",
        "How do I book annual leave in the Workday mobile app?",
    ):
        answer = library.ask("docs", question)
        assert answer.status == "not_found", answer.text
        assert answer.text == NOT_FOUND and not answer.sentences


def test_an_ellipsis_in_a_paragraph_is_not_a_contents_line() -> None:
    text = (
        "Commands may be grouped together in braces, {expr_1 ; . . . ; expr_m}, in which "
        "case the value of the group is the result of the last expression evaluated."
    )
    assert [s.text for s in split_passage(passage(text))] == [text]
    assert not split_passage(passage("2 Notice periods . . . . . . . . 3"))


def test_a_short_sentence_is_joined_to_its_neighbour() -> None:
    text = "This is called lexical scope. It lets functions keep a mutable state of their own."
    assert [s.text for s in split_passage(passage(text))] == [text]


def test_a_heading_that_names_the_question_lets_its_passage_in() -> None:
    text = "Symbols in a function body are found where it was defined."
    named = Passage("d:00001", text, "d", "manual.pdf", "Manual", 4, "10.7 Scope", 0,
                    len(text), 1, 0.2, None, 0.1)  # fmt: skip
    assert heading_match("Scope", "10.7 Scope") == 1.0
    assert heading_match("What is the scope of a loan?", "10.7 Scope") < HEADING_MATCH
    assert gated("Scope", [named, passage(TOC, dense=0.1)], 0.44) == [named]


@pytest.mark.slow
def test_two_words_no_passage_holds_refuse_however_close_it_comes(embedder: Embedder) -> None:
    held = [passage(TOC, dense=0.9)]
    config = QuoteConfig()
    for question, refused in (
        ("How many days of annual leave does every employee receive?", False),
        ("How many days of leave do contractors get?", False),  # one word, a close passage
        ("How do I book annual leave in the Workday mobile app?", True),
    ):
        ranked = SentenceRanker(embedder).rank(question, held)
        assert bool(refusal(question, held, ranked, config)) is refused, question


CONTRASTS = (
    "We need at least some idea how the model formulae specify the columns of the model "
    "matrix. Factors with k levels are coded by k - 1 columns.\n\n"
    "First, contrasts for ordered factors default to polynomials. Second, contrasts as a "
    "whole can be changed by the options setting for contrasts."
)


def _sectioned(text: str, heading: str) -> Passage:
    """A passage whose stored outline opens ``heading`` where its text begins."""
    return Passage("m:00011", text, "m", "manual.pdf", "Manual", 57, "11.1 Formulae", 900,
                   900 + len(text), 11, 0.5, None, 0.1,
                   headings=(Heading(900, 2, heading),))  # fmt: skip


@pytest.mark.slow
def test_a_question_naming_a_section_is_answered_by_its_opening(embedder: Embedder) -> None:
    held = [_sectioned(CONTRASTS, "11.1.1 Contrasts")]
    ranker = SentenceRanker(embedder)
    unordered = score(
        ranker.features("Contrasts", ranker.candidates("Contrasts", held)), ranker.weights
    )
    assert not unordered[0].sentence.text.startswith("We need")  # what the opening undoes
    assert section_of(unordered[0].sentence) == ("11.1.1 Contrasts", 900, False)
    ranked = ranker.rank("Contrasts", held)
    assert ranked[0].sentence.text.startswith("We need at least some idea")
    assert section_of(ranked[0].sentence) == ("11.1.1 Contrasts", 900, True)
    # A question about one detail of the section is answered by the detail.
    detail = "How do I change the contrasts used for every model?"
    assert heading_match(detail, "11.1.1 Contrasts") < OPENS_MATCH
    assert not ranker.rank(detail, held)[0].sentence.text.startswith("We need")


def test_of_headings_opened_at_one_offset_a_sentence_stands_under_the_last() -> None:
    text = "See the chapters titled Internet Protocols in the Library Reference."
    chapter_and_question = Passage(
        "f:00003", text, "f", "faq.html", "FAQ", 0, "Library", 400, 400 + len(text), 3,
        0.5, None, 0.1,
        headings=(Heading(400, 1, "Network Programming"), Heading(400, 2, "What WWW tools?")),
    )  # fmt: skip
    (sentence,) = split_passage(chapter_and_question)
    assert section_of(sentence) == ("What WWW tools?", 400, True)


@pytest.mark.slow
def test_one_name_no_passage_holds_refuses_where_one_everyday_word_does_not(
    embedder: Embedder,
) -> None:
    ranker = SentenceRanker(embedder)
    held = [passage(TOC, dense=0.9)]
    config = QuoteConfig()
    for question, names in (
        ("Can I book annual leave through Workday?", ["Workday"]),
        ("How many days of annual leave do employees get on the iPhone?", ["iPhone"]),
        ("Is annual leave recorded with ggplot2 for employees?", ["ggplot2"]),
        ("How many days of annual leave do employees get on a PC?", []),  # an abbreviation
        ("How many days of annual leave do employees cram in a year?", []),  # everyday word
    ):
        missing = unmatched_terms(question, held)
        assert missing, question  # each asks a word the passage does not hold
        assert ranker.names(question, missing) == names, question
        ranked = ranker.rank(question, held)
        refused = refusal(question, held, ranked, config, missing, ranker.names(question, missing))
        assert bool(refused) is bool(names), (question, refused)


def _rota() -> Passage:
    """A rota as the spreadsheet loaders write it: header row, then rows that differ
    only in their ward, day, nurse and bleep number."""
    rows = ["Ward | Day | Shift | Nurse in charge | Bleep"]
    nurses = ["Amal Smith", "Bea Jones", "Carl Wu", "Dina Patel", "Eli Brown", "Fay Khan"]
    for n, (ward, day) in enumerate((w, d) for w in (2, 3, 4, 5) for d in ("Monday", "Tuesday")):
        rows.append(f"Ward {ward} | {day} | Night | {nurses[n % 6]} | {2200 + n}")
    return passage("\n".join(rows))


def test_a_table_row_is_content_not_layout_debris() -> None:
    assert not debris("Ward 4 | Tuesday | Night | Fay Khan | 2205")
    assert debris("| ... Description :: Release :; Version :: 3 | :: |")
    assert len(split_passage(_rota())) == 8


@pytest.mark.slow
def test_the_row_holding_the_questions_numbers_and_values_is_quoted(embedder: Embedder) -> None:
    held = [_rota()]
    blind = SentenceRanker(embedder, RankWeights(literal=0.0))
    ranker = SentenceRanker(embedder)
    for question, row in (
        ("Who is on night shift on Ward 4 on Tuesday?", "Ward 4 | Tuesday"),
        ("Which nurse carries bleep 2205?", "| 2205"),
    ):
        assert row not in blind.rank(question, held)[0].sentence.text  # numbers look alike
        assert row in ranker.rank(question, held)[0].sentence.text, question
    assert literal_match("Is form E-4471-B signed?", "Sign form E-4471-B first.") == 1.0
    assert literal_match("Is form E-4471-B signed?", "Sign form E-4471-C first.") == 0.0
    assert literal_match("Who signs the form?", "Sign form E-4471-B first.") == 0.0
