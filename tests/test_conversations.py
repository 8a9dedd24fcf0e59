"""Saved conversations: per person, private on disk, reopened whole, retention, the switch."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.answer_record import AnswerRecord
from app.api import Docent
from app.auth.accounts import User
from app.conversations import ConversationError, SavedTurn, answer_markdown
from app.settings import Settings
from models.embedder import Embedder
from rag.answer import Answer
from tests.indexed import indexed
from tests.samples import SAMPLES

pytestmark = pytest.mark.slow

ANA = User("ana", "user")
BEN = User("ben", "user")


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    settings = Settings(data_dir=tmp_path_factory.mktemp("talks") / "data")
    return indexed(settings, embedder, SAMPLES, "samples")


def _fresh(handbook: Docent, tmp_path: Path, **settings: object) -> Docent:
    """A Docent over the same index with a data folder of its own for conversations."""
    index = handbook.settings.data_dir / "index"
    changed = handbook.settings.model_copy(
        update={"data_dir": tmp_path / "data", "index_dir": index, **settings}
    )
    docent = Docent(changed, embedder=handbook.embedder)
    docent.__dict__["index"] = handbook.index  # one Chroma client per folder and process
    return docent


def _turn(docent: Docent, question: str) -> SavedTurn:
    return SavedTurn(question, "done", docent.ask("samples", question))


def test_a_saved_conversation_reopens_with_its_answers_and_citations(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path)
    asked = _turn(docent, "How much can I claim for a hotel?")
    stopped = SavedTurn("And for meals?", "stopped", None, partial="Meals: up to")
    saved = docent.conversations.save("samples", [asked, stopped], user=ANA)
    assert saved is not None

    reopened = docent.conversations.open(saved, user=ANA)

    assert reopened.summary.title == "How much can I claim for a hotel?"
    assert reopened.summary.collection == "samples" and reopened.summary.turns == 2
    again = reopened.turns[0].answer
    assert again is not None and asked.answer is not None
    # Units, citations, spans, the passages' text: all as shown (retrieval scores are not kept).
    assert AnswerRecord.of(again) == AnswerRecord.of(asked.answer)
    assert again.sentences == asked.answer.sentences and again.citations
    assert reopened.turns[1].state == "stopped" and reopened.turns[1].partial == "Meals: up to"


_QUOTE = "Hotels are reimbursed up to 120 EUR per night."
_CITED = {
    "number": 1,
    "source": "travel-policy.md",
    "title": "Travel policy",
    "page": 0,
    "doc_id": "ab12",
    "quote": _QUOTE,
    "char_start": 40,
    "char_end": 86,
    "attributed": False,
    "also_in": [],
}
# An answer as conversations saved it before the answer record: the dataclasses' fields.
EARLIER: dict[str, Any] = {
    "question": "How much can I claim for a hotel?",
    "query": "How much can I claim for a hotel?",
    "text": f"{_QUOTE} [1]",
    "status": "answered",
    "citations": [_CITED],
    "sentences": [{"text": _QUOTE, "citation": _CITED}],
    "rejected": [],
    "evidence": [
        {
            "number": 1,
            "passages": [
                {
                    "id": "ab12:3",
                    "text": _QUOTE,
                    "doc_id": "ab12",
                    "source": "travel-policy.md",
                    "title": "Travel policy",
                    "page": 0,
                    "heading": "Hotels",
                    "char_start": 40,
                    "char_end": 86,
                    "position": 3,
                    "dense": 0.71,
                    "lexical": 4.2,
                    "score": 0.09,
                    "also_in": [],
                }
            ],
            "text": _QUOTE,
            "source": "travel-policy.md",
            "title": "Travel policy",
            "page": 0,
            "char_start": 40,
            "char_end": 86,
        }
    ],
    "model": "",
    "raw": "",
    "made_by": "quotes",
    "fallback": "",
    "timings": {"retrieve": 0.05, "rank": 0.02, "first_text": 0.08, "total": 0.08},
}


def test_a_conversation_saved_in_the_earlier_shape_still_opens(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path)
    saved = docent.conversations.save("samples", [_turn(docent, "Hotels?")], user=ANA)
    assert saved is not None
    with contextlib.closing(sqlite3.connect(docent.conversations.config.path)) as db, db:
        db.execute(
            "UPDATE turns SET answer = ? WHERE conversation = ?", (json.dumps(EARLIER), saved)
        )

    answer = docent.conversations.open(saved, user=ANA).turns[0].answer

    assert answer is not None and answer.status == "answered" and answer.made_by == "quotes"
    cited = answer.sentences[0].citation
    assert (cited.source, cited.char_start, cited.char_end) == ("travel-policy.md", 40, 86)
    assert answer.evidence[0].text == _QUOTE
    record = AnswerRecord.of(answer)
    assert record.units[0].citation.status == "quoted" and record.lead == ""
    assert "Hotels are reimbursed" in answer_markdown(answer)


def test_the_file_is_private_and_holds_no_one_elses_conversations(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path)
    mine = docent.conversations.save("samples", [SavedTurn("Q one")], user=ANA)
    assert mine is not None
    path = tmp_path / "data" / "conversations.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    assert [c.id for c in docent.conversations.list(user=ANA)] == [mine]
    assert docent.conversations.list(user=BEN) == []
    for other in (
        lambda: docent.conversations.open(mine, user=BEN),
        lambda: docent.conversations.rename(mine, "taken", user=BEN),
        lambda: docent.conversations.delete(mine, user=BEN),
        lambda: docent.conversations.save("samples", [SavedTurn("x")], mine, user=BEN),
    ):
        with pytest.raises(ConversationError, match="no longer saved"):
            other()
    assert docent.conversations.open(mine, user=ANA).turns[0].question == "Q one"


def test_rename_delete_and_the_audit_log(handbook: Docent, tmp_path: Path) -> None:
    docent = _fresh(handbook, tmp_path)
    talks = docent.conversations
    first = talks.save("samples", [SavedTurn("Where is the VPN guide?")], user=ANA)
    assert first is not None
    time.sleep(0.01)
    second = talks.save("samples", [SavedTurn("Who owns the handbook?")], user=ANA)
    assert second is not None

    assert talks.rename(first, "  VPN\n setup  ", user=ANA) == "VPN setup"
    with pytest.raises(ConversationError, match="needs a title"):
        talks.rename(first, "   ", user=ANA)
    talks.save(
        "samples", [SavedTurn("Where is the VPN guide?"), SavedTurn("And Wi-Fi?")], first, user=ANA
    )
    listed = talks.list(user=ANA)
    assert [(c.title, c.turns) for c in listed] == [("VPN setup", 2), ("Who owns the handbook?", 1)]
    assert [c.title for c in talks.list(user=ANA, search="vpn")] == ["VPN setup"]
    assert talks.list(user=ANA, search="%") == []

    talks.delete(second, user=ANA)
    assert [c.id for c in talks.list(user=ANA)] == [first]
    with pytest.raises(ConversationError):
        talks.open(second, user=ANA)
    events = [json.loads(line) for line in docent.audit.path.read_text().splitlines()]
    names = [(e["event"], e["user"]) for e in events if e["event"].startswith("conversation")]
    assert names == [
        ("conversation_save", "ana"),
        ("conversation_save", "ana"),
        ("conversation_rename", "ana"),
        ("conversation_delete", "ana"),
    ]


def test_markdown_export_has_every_question_answer_and_source(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path)
    hotel = _turn(docent, "How much can I claim for a hotel?")
    saved = docent.conversations.save(
        "samples", [hotel, SavedTurn("And?", "failed", error="busy")], user=ANA
    )
    assert saved is not None and hotel.answer is not None

    text = docent.conversations.export_markdown(saved, user=ANA)

    assert text.startswith("# How much can I claim for a hotel?\n")
    assert "Collection: samples" in text
    assert "## How much can I claim for a hotel?" in text
    assert "Hotel: up to EUR 140 per night." in text
    assert "- [1] Northwind Clinic Employee Handbook (employee-handbook.pdf), p. 5: " in text
    assert answer_markdown(hotel.answer) in text
    assert "## And?\n\n(No answer: busy)" in text


def test_retention_deletes_conversations_untouched_for_its_days(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path, conversation_retention_days=30)
    talks = docent.conversations
    kept = talks.save("samples", [SavedTurn("kept")], user=ANA)

    assert talks.purge(datetime.now(UTC) + timedelta(days=29)) == 0
    assert talks.purge(datetime.now(UTC) + timedelta(days=31)) == 1
    assert talks.list(user=ANA) == []
    with pytest.raises(ConversationError):
        talks.open(str(kept), user=ANA)
    last = json.loads(docent.audit.path.read_text().splitlines()[-1])
    assert last["event"] == "conversation_retention" and last["deleted"] == 1


def test_with_saving_switched_off_nothing_is_saved_or_listed(
    handbook: Docent, tmp_path: Path
) -> None:
    before = _fresh(handbook, tmp_path)
    assert before.conversations.save("samples", [SavedTurn("earlier")], user=ANA)
    off = _fresh(handbook, tmp_path, conversations_saved=False)

    assert off.conversations.save("samples", [SavedTurn("not kept")], user=ANA) is None
    assert off.conversations.list(user=ANA) == [] and off.conversations.count(user=ANA) == 0
    assert before.conversations.count(user=ANA) == 1


def test_five_hundred_conversations_list_in_well_under_a_second(
    handbook: Docent, tmp_path: Path
) -> None:
    docent = _fresh(handbook, tmp_path)
    answer = handbook.ask("samples", "How much can I claim for a hotel?")
    for n in range(500):
        docent.conversations.save("samples", [SavedTurn(f"Question {n}", "done", answer)], user=ANA)

    started = time.perf_counter()
    listed = docent.conversations.list(user=ANA)
    seconds = time.perf_counter() - started

    assert len(listed) == 500 and listed[0].title == "Question 499"
    assert seconds < 1.0, seconds


def test_a_copied_answer_keeps_its_units_lines() -> None:
    text = "Leave goes in this order:\n\n1. parents\n2. refused before\n3. everyone else [1]"
    answer = Answer(question="q", query="q", text=text, status="answered")

    assert answer_markdown(answer).startswith(text)
