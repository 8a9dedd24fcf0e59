"""With ``state_url`` set, the audit chain, saved conversations and feedback live in PostgreSQL.

Two replicas are two ``Docent`` objects with data folders of their own and one state
database (a real PostgreSQL started on loopback by the tests, ``tests/postgres_server``),
each with its own connections: what one saves the other lists and reopens, feedback
given on either is read by the administrator on both, and the audit records of two OS
processes appending at once form one chain that verifies, until a row is edited.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from app.answer_record import AnswerRecord
from app.api import Docent
from app.auth.access import AccessError
from app.auth.accounts import User
from app.auth.audit import AuditError, AuditLog
from app.auth.audit_postgres import PostgresAuditLog
from app.auth.gate import Gate
from app.conversation_db import SqliteConversations
from app.conversations import ConversationError, SavedTurn
from app.eval import Evaluation
from app.eval.feedback import FeedbackLog
from app.settings import Settings
from models.embedder import Embedder
from models.errors import DocentError
from tests import postgres_server
from tests.indexed import indexed
from tests.samples import SAMPLES

ANA = User("ana", "user")
BEN = User("ben", "user")
ADMIN = User("root", role="admin")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One PostgreSQL for the module; each test gets a database of its own."""
    with postgres_server.postgres() as url:
        yield url


@pytest.fixture
def database(server: str) -> str:
    return postgres_server.fresh_database(server)


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    settings = Settings(data_dir=tmp_path_factory.mktemp("pg-records") / "data")
    return indexed(settings, embedder, SAMPLES, "samples")


def _replica(handbook: Docent, tmp_path: Path, database: str, name: str) -> Docent:
    """A Docent with a data folder and connections of its own, on the shared state."""
    changed = handbook.settings.model_copy(
        update={
            "data_dir": tmp_path / name,
            "index_dir": handbook.settings.data_dir / "index",
            "state_url": f"{database}?application_name={name}",
        }
    )
    docent = Docent(changed, embedder=handbook.embedder)
    docent.__dict__["index"] = handbook.index  # one Chroma client per folder and process
    return docent


def _events(docent: Docent) -> list[tuple[str, str]]:
    return [(str(r["event"]), str(r["user"])) for r in docent.audit.export()]


@pytest.mark.slow
def test_a_conversation_saved_on_one_replica_is_reopened_changed_on_the_other(
    handbook: Docent, tmp_path: Path, database: str
) -> None:
    one, two = (_replica(handbook, tmp_path, database, n) for n in ("one", "two"))
    asked = SavedTurn("How much can I claim for a hotel?", "done")
    asked.answer = one.ask("samples", asked.question)
    stopped = SavedTurn("And for meals?", "stopped", None, partial="Meals: up to")
    saved = one.conversations.save("samples", [asked, stopped], user=ANA)
    assert saved is not None

    assert [c.id for c in two.conversations.list(user=ANA, search="HOTEL")] == [saved]
    assert two.conversations.list(user=BEN) == [] and two.conversations.count(user=ANA) == 1
    reopened = two.conversations.open(saved, user=ANA)
    again = reopened.turns[0].answer
    assert again is not None and asked.answer is not None
    assert AnswerRecord.of(again) == AnswerRecord.of(asked.answer)
    assert reopened.turns[1].partial == "Meals: up to" and reopened.summary.turns == 2

    failed = SavedTurn("And taxis?", "failed", error="the model stopped")
    assert two.conversations.save("samples", [*reopened.turns, failed], saved, user=ANA)
    assert [t.state for t in one.conversations.open(saved, user=ANA).turns] == [
        "done",
        "stopped",
        "failed",
    ]
    assert two.conversations.rename(saved, "Travel costs", user=ANA) == "Travel costs"
    assert [c.title for c in one.conversations.list(user=ANA)] == ["Travel costs"]
    with pytest.raises(ConversationError, match="no longer saved"):
        two.conversations.open(saved, user=BEN)
    one.conversations.delete(saved, user=ANA)
    with pytest.raises(ConversationError, match="no longer saved"):
        two.conversations.open(saved, user=ANA)

    for replica in ("one", "two"):
        assert not (tmp_path / replica / "conversations.sqlite3").exists()
    changes = [e for e in _events(two) if e[0].startswith("conversation_")]
    assert changes == [
        ("conversation_save", "ana"),
        ("conversation_rename", "ana"),
        ("conversation_delete", "ana"),
    ]
    assert one.audit.verify().ok


@pytest.mark.slow
def test_retention_on_one_replica_deletes_what_the_other_saved(
    handbook: Docent, tmp_path: Path, database: str
) -> None:
    one, two = (_replica(handbook, tmp_path, database, n) for n in ("one", "two"))
    saved = one.conversations.save("samples", [SavedTurn("Q one")], user=ANA)
    later = datetime.now(UTC) + timedelta(days=one.settings.conversation_retention_days + 1)

    assert two.conversations.purge(now=datetime.now(UTC)) == 0
    assert two.conversations.purge(now=later) == 1
    with pytest.raises(ConversationError):
        one.conversations.open(str(saved), user=ANA)
    assert ("conversation_retention", "docent") in _events(one)


@pytest.mark.slow
def test_feedback_from_both_replicas_is_read_by_the_administrator_on_either(
    handbook: Docent, tmp_path: Path, database: str
) -> None:
    one, two = (_replica(handbook, tmp_path, database, n) for n in ("one", "two"))
    one.accounts.add("ana", "ana's passphrase")  # an account made on one replica ...
    two.grant("ana", "samples")  # ... is granted on the other
    two.accounts.add("ben", "ben's passphrase")
    one.grant("ben", "samples")
    answer = one.ask("samples", "How much can I claim for a hotel?", user=ANA)
    first = one.give_feedback(
        "samples", answer, helpful=False, note="see page 2", source="travel.md", page=2, user=ANA
    )
    second = two.give_feedback("samples", answer, helpful=True, user=BEN)

    for replica in (one, two):
        seen = replica.feedback("samples", user=ADMIN)
        assert [(f.id, f.user, f.helpful, f.page) for f in seen] == [
            (first.id, "ana", False, 2),
            (second.id, "ben", True, 0),
        ]
        assert seen[0] == first and seen[1] == second
    assert two.feedback("other", user=ADMIN) == [] and len(two.feedback(user=ADMIN)) == 2
    with pytest.raises(AccessError):
        two.feedback(user=BEN)
    taught = Evaluation(two).import_feedback("samples", [first.id])
    assert [(q.source, q.pages) for q in taught] == [("travel.md", (2,))]
    for replica in ("one", "two"):
        assert not (tmp_path / replica / "eval" / "feedback.jsonl").exists()
    assert {("feedback", "ana"), ("feedback", "ben")} <= set(_events(one))


_APPENDER = """
import sys, time
from pathlib import Path
from app.auth.gate import Gate
from app.settings import Settings

name, folder, url, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
gate = Gate(Settings(data_dir=folder / name, state_url=url))
gate.audit.verify()  # connected and migrated before the start
(folder / f"{name}.ready").touch()
while not (folder / "go").exists():
    time.sleep(0.0005)
for number in range(count):
    gate.audit.append("test.append", name, number=number)
"""


def _append_at_once(tmp_path: Path, database: str, count: int) -> None:
    """Two OS processes, each with its own data folder, append ``count`` records at once."""
    env = os.environ | {"PYTHONPATH": str(Path.cwd())}
    names = ("one", "two")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, name, str(tmp_path), database, str(count)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"{n}.ready").exists() for n in names):
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors[-2000:]


def _cli(tmp_path: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PYTHONPATH": str(Path.cwd()),
        "DOCENT_DATA_DIR": str(tmp_path / "cli"),
        "DOCENT_STATE_URL": database,
    }
    command = [sys.executable, "-m", "app.cli", "audit", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_two_processes_append_to_one_chain_that_verifies_until_a_row_is_edited(
    tmp_path: Path, database: str
) -> None:
    _append_at_once(tmp_path, database, 50)

    audit = Gate(Settings(data_dir=tmp_path / "reader", state_url=database)).audit
    assert isinstance(audit, PostgresAuditLog)
    result = audit.verify()
    assert result.ok and result.records == 100 and result.unkeyed == 0
    records = list(audit.export())
    assert [r["seq"] for r in records] == list(range(1, 101))
    for name in ("one", "two"):
        assert [r["number"] for r in records if r["user"] == name] == list(range(50))
    writers = [r["user"] for r in records]
    assert sum(a != b for a, b in itertools.pairwise(writers)) > 1  # interleaved

    checkpoint = audit.checkpoint()
    verified = _cli(tmp_path, database, "verify", "--checkpoint", checkpoint)
    assert verified.returncode == 0, verified.stderr[-2000:]
    assert "audit_records in docent@127.0.0.1:" in verified.stdout
    assert f"100 records intact; checkpoint {checkpoint} held" in verified.stdout

    with psycopg.connect(database) as connection:  # record 40's number gains a 1
        connection.execute(
            "UPDATE audit_records SET record = replace(record, '\"number\":', "
            "'\"number\":1') WHERE seq = 40"
        )
    tampered = audit.verify()
    assert not tampered.ok and tampered.bad_line == 40 and tampered.records == 39
    assert "hash does not match" in tampered.problem
    refused = _cli(tmp_path, database, "verify")
    assert refused.returncode == 1 and "line 40: its hash does not match" in refused.stderr
    with pytest.raises(AuditError, match="does not verify"):
        audit.checkpoint()


@pytest.mark.slow
def test_a_removed_row_an_edited_head_and_a_cut_tail_are_caught(
    tmp_path: Path, database: str
) -> None:
    audit = Gate(Settings(data_dir=tmp_path / "data", state_url=database)).audit
    for number in range(6):
        audit.append("test.append", "ana", number=number)
    checkpoint = audit.checkpoint()

    with psycopg.connect(database) as connection:
        connection.execute("DELETE FROM audit_records WHERE seq = 6")
    assert audit.verify().ok  # a cut tail looks like a shorter chain ...
    cut = audit.verify(checkpoint)  # ... that the checkpoint kept elsewhere catches
    assert not cut.ok and "cut from its end" in cut.problem

    with psycopg.connect(database) as connection:
        connection.execute("DELETE FROM audit_records WHERE seq = 3")
    removed = audit.verify()
    assert not removed.ok and removed.bad_line == 3 and "does not follow" in removed.problem

    with psycopg.connect(database) as connection:
        connection.execute(
            "UPDATE audit_records SET record = replace(record, '\"ana\"', '\"bob\"') WHERE seq = 5"
        )
    with pytest.raises(AuditError, match="tampered"):
        audit.append("test.append", "ana", number=6)
    with psycopg.connect(database) as connection:
        assert connection.execute("SELECT max(seq) FROM audit_records").fetchone() == (5,)


@pytest.mark.slow
def test_an_unreachable_database_names_state_url(tmp_path: Path, server: str) -> None:
    url = server.rsplit(":", 1)[0] + ":1/postgres?connect_timeout=2"
    settings = Settings(data_dir=tmp_path, state_url=url)
    for action in (
        lambda: Gate(settings).audit.append("test.append", "ana"),
        lambda: Docent(settings).conversations.list(user=ANA),
        lambda: Docent(settings).feedback_store.entries(),
    ):
        with pytest.raises(DocentError) as refused:
            action()
        assert "state_url" in refused.value.hint and "127.0.0.1:1/postgres" in str(refused.value)


def test_an_empty_state_url_keeps_the_data_folders_files(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    docent = Docent(settings)
    assert isinstance(docent.audit, AuditLog) and docent.audit.path == settings.audit_path()
    assert isinstance(docent.conversations.db, SqliteConversations)
    assert docent.conversations.db.path == tmp_path / "data" / "conversations.sqlite3"
    store = docent.feedback_store
    assert isinstance(store, FeedbackLog)
    assert store.path == tmp_path / "data" / "eval" / "feedback.jsonl"
