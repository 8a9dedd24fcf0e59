"""Follow-up questions become standalone before retrieval, and keep their topic's evidence."""

from __future__ import annotations

import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.answer import Answer
from rag.condense import Turn, condense_by_rule, is_follow_up
from tests.indexed import indexed
from tests.samples import SAMPLES

HISTORY = [
    Turn("What was the revenue of Northwind in 2022?", "What was the revenue of Northwind in 2022?")
]


def test_year_follow_up_keeps_the_topic_and_swaps_the_year() -> None:
    query = condense_by_rule("And in 2023?", HISTORY)
    assert query == "What was the revenue of Northwind in 2023?"


def test_pronoun_follow_up_carries_the_topic() -> None:
    query = condense_by_rule("Who approves it?", HISTORY)
    assert query.startswith("Who approves it?") and "revenue" in query


def test_standalone_questions_are_left_alone() -> None:
    question = "How many days of annual leave does a new employee get?"
    assert not is_follow_up(question)
    assert condense_by_rule(question, HISTORY) == question
    assert condense_by_rule("And in 2023?", []) == "And in 2023?"


def test_chained_follow_ups_use_the_last_standalone_query() -> None:
    first = condense_by_rule("And in 2023?", HISTORY)
    second = condense_by_rule("What about 2024?", [*HISTORY, Turn("And in 2023?", first)])
    assert "2024" in second and "revenue" in second and "2023" not in second


HOTEL = [Turn("How much can I claim for a hotel?", "How much can I claim for a hotel?")]


def test_a_follow_up_that_swaps_a_part_becomes_the_question_before_with_it() -> None:
    assert condense_by_rule("And for meals?", HOTEL) == "How much can I claim for meals?"
    assert condense_by_rule("Same for meals?", HOTEL) == "How much can I claim for meals?"
    leave = [Turn("x", "How many days of annual leave do full-time employees get?")]
    assert condense_by_rule("And part-time employees?", leave) == (
        "How many days of annual leave do part-time employees get?"
    )
    nested = [Turn("x", "How many days of leave in 2022 for nurses?")]
    assert condense_by_rule("And in 2023?", nested) == "How many days of leave in 2023 for nurses?"


def test_a_follow_up_that_refers_back_keeps_its_words_and_the_topic() -> None:
    assert condense_by_rule("And for it?", HOTEL) == "And for it? (claim hotel)"
    assert condense_by_rule("What about meals?", HOTEL) == "What about meals? (claim hotel)"


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    """The sample documents in a fresh index, answered with quotes (the default mode)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("condense") / "data")
    return indexed(settings, embedder, SAMPLES, "samples")


def _after(docent: Docent, first: str, follow_up: str) -> tuple[Answer, Answer]:
    answer = docent.ask("samples", first)
    assert answer.status == "answered", answer.text
    turn = Turn(answer.question, answer.query, answer.text)
    return answer, docent.ask("samples", follow_up, [turn])


@pytest.mark.slow
def test_and_for_meals_after_the_hotel_limit_quotes_the_meals_limit(handbook: Docent) -> None:
    assert handbook.settings.answer_mode == "quotes"
    hotel, meals = _after(handbook, "How much can I claim for a hotel?", "And for meals?")

    assert "EUR 140" in hotel.sentences[0].citation.quote
    assert meals.status == "answered", meals.text
    assert meals.query == "How much can I claim for meals?"
    first = meals.sentences[0].citation
    assert "Meals: up to EUR 45 per day" in first.quote
    assert (first.source, first.page) == ("employee-handbook.pdf", 5)


@pytest.mark.slow
def test_the_same_words_without_the_conversation_stay_unanswered(handbook: Docent) -> None:
    # The standalone form alone is below the gate: the topic's passage is what answers it.
    assert handbook.ask("samples", "How much can I claim for meals?").status == "not_found"


@pytest.mark.slow
def test_a_follow_up_the_topic_does_not_cover_is_still_refused(handbook: Docent) -> None:
    _, parking = _after(handbook, "How much can I claim for a hotel?", "And for parking?")
    assert parking.status == "not_found", parking.text


@pytest.mark.slow
def test_a_model_rewrite_keeps_the_follow_up_on_its_topic(handbook: Docent) -> None:
    settings = handbook.settings.model_copy(update={"condense_with_model": True})
    rewriting = Docent(settings, embedder=handbook.embedder)
    rewriting.__dict__["index"] = handbook.index  # one Chroma client per folder and process
    _, meals = _after(rewriting, "How much can I claim for a hotel?", "And for meals?")

    assert "meals" in meals.query.lower(), meals.query  # the model's, or the rule's
    assert meals.status == "answered", (meals.query, meals.text)
    assert "Meals: up to EUR 45 per day" in meals.sentences[0].citation.quote
