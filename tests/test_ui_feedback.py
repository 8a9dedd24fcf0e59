"""Administrators read readers' feedback on a page of its own; readers cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.eval.feedback import Feedback, FeedbackLog
from app.ui import present
from tests.test_ui_pages import page

pytestmark = pytest.mark.slow

HOSTILE = "<img src=x onerror=alert(1)> **bold** [link](http://example.org)"


def given(time: str, collection: str, helpful: bool, note: str = "", page_: int = 0) -> Feedback:
    return Feedback(
        id=time[-2:],
        time=time,
        user="nina",
        collection=collection,
        question=f"What about {collection}?",
        answer="…",
        status="answered",
        helpful=helpful,
        note=note,
        source="handbook.pdf" if page_ else "",
        page=page_,
    )


@pytest.fixture
def feedback(data_dir: Path) -> list[Feedback]:
    entries = [
        given("2026-03-01T09:00:00+00:00", "board", True),
        given("2026-03-02T10:30:00+00:00", "ward", False, HOSTILE, 4),
    ]
    log = FeedbackLog(data_dir / "eval" / "feedback.jsonl")
    for entry in entries:
        log.append(entry)
    return entries


def test_feedback_rows_are_newest_first_and_say_what_was_given(
    feedback: list[Feedback],
) -> None:
    rows = present.feedback_rows(feedback)

    assert [r["time"] for r in rows] == ["2026-03-02 10:30", "2026-03-01 09:00"]
    assert rows[0] == {
        "time": "2026-03-02 10:30",
        "collection": "ward",
        "rating": "not helpful",
        "question": "What about ward?",
        "comment": HOSTILE,
        "answer is in": "handbook.pdf, p. 4",
        "user": "nina",
    }
    assert present.feedback_rows([given("t", "a\u202eb", True, "x\ny")])[0]["comment"] == "x\\ny"


def test_the_feedback_page_lists_entries_for_administrators(feedback: list[Feedback]) -> None:
    at = page("feedback").run()

    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["collection"]) == ["ward", "board"]
    assert list(table["rating"]) == ["not helpful", "helpful"]
    # A table cell is text: the reader's markup is shown as typed, never rendered.
    assert table["comment"][0] == HOSTILE
    assert not any("<img" in m.value for m in at.markdown)

    at.toggle(key="feedback-unhelpful").set_value(True).run()
    assert list(at.dataframe[0].value["collection"]) == ["ward"]
    at.toggle(key="feedback-unhelpful").set_value(False).run()
    at.selectbox(key="feedback-collection").set_value("board").run()
    assert list(at.dataframe[0].value["question"]) == ["What about board?"]


def test_a_reader_cannot_read_feedback(feedback: list[Feedback]) -> None:
    at = page("feedback", "nina", "user").run()

    assert not at.exception and not at.dataframe
    assert at.error, "refused"


def test_without_feedback_the_page_says_where_it_comes_from(data_dir: Path) -> None:
    at = page("feedback").run()

    assert at.info[0].value.startswith("No feedback yet")
