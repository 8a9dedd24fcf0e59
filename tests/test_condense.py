"""Follow-up questions become standalone before retrieval."""

from __future__ import annotations

from rag.condense import Turn, condense_by_rule, is_follow_up

HISTORY = [
    Turn("What was the revenue of Northwind in 2022?", "What was the revenue of Northwind in 2022?")
]


def test_year_follow_up_keeps_the_topic_and_swaps_the_year() -> None:
    query = condense_by_rule("And in 2023?", HISTORY)
    assert "2023" in query and "revenue" in query and "northwind" in query
    assert "2022" not in query


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
