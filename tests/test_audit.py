"""The audit log: what is recorded, tamper evidence, export, and surviving SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.api import Docent
from app.auth.access import AccessError
from app.auth.accounts import SignInError
from app.auth.audit import AuditLog, ingest_fields
from app.cli import cli
from app.settings import Settings
from ingest.report import FileOutcome, IngestReport
from models.embedder import Embedder
from tests.fake_ollama import FakeModel, FakeOllama

MODEL = "qwen2.5:1.5b"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl")
    for n in range(5):
        audit.append("ask", f"user{n}", question=f"question {n}?", chunks=[f"c{n}"])
    return audit


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        yield server


def _lines(log: AuditLog) -> list[bytes]:
    return log.path.read_bytes().splitlines(keepends=True)


@pytest.mark.slow
def test_every_operation_is_recorded(tmp_path: Path, embedder: Embedder, fake: FakeOllama) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", chat_backend="ollama", chat_model=MODEL, chat_base_url=fake.url
    )
    docent = Docent(settings, embedder=embedder)
    share = tmp_path / "share"
    share.mkdir()
    (share / "leave.md").write_text("# Leave\n\nEvery employee receives 27 days of annual leave.\n")
    fake.behaviour.answer = "Every employee receives 27 days of annual leave [1]."
    docent.accounts.add("alice", "alice's passphrase")

    docent.ingest([share], "staff")
    docent.gate.sign_in("alice", "alice's passphrase")
    with pytest.raises(SignInError):
        docent.gate.sign_in("alice", "guess")
    assert docent.gate.sign_in_verified("alice", "oidc:idp").user.name == "alice"
    with pytest.raises(SignInError, match="No Docent account"):
        docent.gate.sign_in_verified("mallory", "oidc:idp")
    docent.grant("alice", "staff")
    user = docent.accounts.get("alice")
    answer = docent.ask("staff", "How many days of annual leave?", user=user)
    stopped = docent.stream_answer("staff", "How many days of annual leave?", user=user)
    next(stopped)
    stopped.close()  # type: ignore[attr-defined]
    docent.summarize("staff", "leave.md", user=user)
    docent.revoke("alice", "staff")
    docent.remove_document("staff", "leave.md")
    docent.delete_collection("staff")

    records = list(docent.audit.export())
    events = [(r["event"], r["user"].split(":")[0]) for r in records]
    assert events == [
        ("ingest", "cli"),
        ("sign_in", "alice"),
        ("sign_in", "alice"),
        ("sign_in", "alice"),
        ("sign_in", "mallory"),
        ("grant", "cli"),
        ("ask", "alice"),
        ("ask", "alice"),
        ("summarize", "alice"),
        ("revoke", "cli"),
        ("delete_document", "cli"),
        ("delete_collection", "cli"),
    ]
    ingest, signed, refused, verified, unknown, _, ask, halted, summary = records[:9]
    assert ingest["files"] == [["leave.md", "added"]] and ingest["labels"] == ["staff"]
    assert signed["ok"] and not refused["ok"]
    assert verified["ok"] and verified["provider"] == "oidc:idp" and not unknown["ok"]
    assert ask["question"] == "How many days of annual leave?" and ask["collection"] == "staff"
    assert ask["chunks"] == [p.id for s in answer.evidence for p in s.passages] != []
    # An answer of quotes (the default) asks no model, and the log says none was asked.
    assert ask["model"] == answer.model == "" and ask["seconds"] > 0
    assert halted["status"] == "stopped" and halted["question"] == ask["question"]
    assert summary["source"] == "leave.md" and summary["model"] == f"ollama:{MODEL}"
    assert docent.audit.verify().ok
    assert stat.S_IMODE(docent.audit.path.stat().st_mode) == 0o600


def test_an_ingest_record_lists_what_changed_and_counts_the_unchanged() -> None:
    # A nightly re-run of a large share must not write a line per unchanged file.
    files = [FileOutcome(f"/s/{n}.md", f"{n}.md", "unchanged") for n in range(1000)]
    files += [FileOutcome("/s/new.md", "new.md", "added", chunks=2)]
    files += [FileOutcome("/s/bad.pdf", "bad.pdf", "failed", "encrypted")]
    report = IngestReport(collection="share", files=files, pruned=["old.md"])
    fields = ingest_fields(report, ("staff",))
    assert fields["files"] == [["new.md", "added"], ["bad.pdf", "failed"]]
    assert (fields["unchanged"], fields["pruned"]) == (1000, ["old.md"])
    assert fields["labels"] == ["staff"]
    assert len(json.dumps(fields)) < 300


def test_verify_passes_on_an_intact_log(log: AuditLog) -> None:
    result = log.verify()

    assert result.ok and result.records == 5 and result.bad_line is None
    assert result.last_hash == json.loads(_lines(log)[-1])["hash"]


@pytest.mark.parametrize("line", [1, 3, 5])
def test_verify_finds_an_edited_byte(log: AuditLog, line: int) -> None:
    lines = _lines(log)
    lines[line - 1] = lines[line - 1].replace(
        f"user{line - 1}".encode(), f"user{line + 4}".encode()
    )
    log.path.write_bytes(b"".join(lines))

    result = log.verify()

    assert not result.ok and result.bad_line == line and "edited" in result.problem


def test_verify_finds_an_added_space(log: AuditLog) -> None:
    lines = _lines(log)
    lines[1] = lines[1].replace(b",", b", ", 1)
    log.path.write_bytes(b"".join(lines))

    assert log.verify().bad_line == 2


@pytest.mark.parametrize(
    ("change", "bad_line"),
    [
        (lambda lines: lines[:2] + lines[3:], 3),  # a record removed
        (lambda lines: lines[1:], 1),  # the first record removed
        (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], 2),  # two swapped
        (lambda lines: [*lines[:3], lines[1], *lines[3:]], 4),  # a copy inserted
    ],
)
def test_verify_finds_removed_reordered_and_inserted_lines(
    log: AuditLog, change: object, bad_line: int
) -> None:
    log.path.write_bytes(b"".join(change(_lines(log))))  # type: ignore[operator]

    result = log.verify()

    assert not result.ok and result.bad_line == bad_line


def test_export_since_and_the_cli(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    times = [datetime.fromisoformat(json.loads(line)["time"]) for line in _lines(log)]
    monkeypatch.setenv("DOCENT_AUDIT_LOG", str(log.path))
    runner = CliRunner()

    assert [r["seq"] for r in log.export(times[2])] == [3, 4, 5]
    exported = runner.invoke(cli, ["audit", "export", "--since", "2000-01-01"])
    none = runner.invoke(cli, ["audit", "export", "--since", "2999-01-01T00:00:00"])
    verified = runner.invoke(cli, ["audit", "verify"])
    assert exported.output.encode() == log.path.read_bytes() and none.output == ""
    assert verified.exit_code == 0 and "5 records intact" in verified.output

    lines = _lines(log)
    log.path.write_bytes(b"".join(lines[:1] + lines[2:]))
    broken = runner.invoke(cli, ["audit", "verify"], standalone_mode=False)
    assert broken.return_value == 1 and "line 2:" in broken.output


def test_a_torn_tail_fails_verify_then_is_cut_off_by_the_next_append(log: AuditLog) -> None:
    intact = log.path.read_bytes()
    with log.path.open("ab") as file:
        file.write(b'{"event":"ask","question":"half a rec')

    torn = log.verify()
    log.append("ask", "alice", question="after the crash")
    repaired = log.verify()

    assert not torn.ok and torn.torn_tail and torn.records == 5 and torn.bad_line == 6
    assert "incomplete" in torn.problem
    assert repaired.ok and not repaired.torn_tail and repaired.records == 7
    assert log.path.read_bytes().startswith(intact)
    repair, after = list(log.export())[5:]
    assert repair["event"] == "audit.repair" and repair["dropped_bytes"] == 37
    assert after["question"] == "after the crash"


def test_a_complete_record_missing_only_its_newline_is_kept(log: AuditLog) -> None:
    whole = log.path.read_bytes()
    log.path.write_bytes(whole[:-1])  # the last record intact, its newline cut

    torn = log.verify()
    log.append("ask", "alice", question="after the cut")
    repaired = log.verify()

    assert not torn.ok and torn.torn_tail and torn.records == 4
    assert repaired.ok and repaired.records == 7
    assert log.path.read_bytes().startswith(whole)
    records = list(log.export())
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert records[5]["event"] == "audit.repair" and records[5]["dropped_bytes"] == 0
    assert records[5]["completed_record"] == 5


def test_threads_append_in_turn(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")

    def burst(n: int) -> None:
        for i in range(20):
            log.append("ask", f"user{n}", i=i)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert log.verify().ok and log.verify().records == 80


_WRITER = """
import sys
from pathlib import Path
from app.auth.audit import AuditLog
log = AuditLog(Path(sys.argv[1]))
payload = "x" * 200_000
n = 0
while True:
    n += 1
    log.append("ask", "burst", n=n, question=payload)
"""


@pytest.mark.slow
def test_sigkill_during_a_burst_of_appends_leaves_a_valid_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 5_000_000):
        time.sleep(0.02)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    log = AuditLog(path)

    killed = log.verify()
    log.append("ask", "alice", question="after the kill")
    after = log.verify()

    # A kill inside the kernel's copy of a large record can leave part of it (the write
    # returns short on a fatal signal): every whole record before it verifies, and the
    # next append repairs the tail (completing a whole record, or cutting a partial one).
    assert killed.ok or (killed.torn_tail and killed.bad_line == killed.records + 1)
    assert killed.records >= 20
    repairs = 0 if killed.ok else 2  # the repair record, and the tail completed (or not)
    assert after.ok and killed.records + 1 <= after.records <= killed.records + 1 + repairs
    assert list(log.export())[-1]["question"] == "after the kill"


@pytest.mark.slow
def test_administration_called_through_the_api_is_recorded(docent: Docent) -> None:
    docent.add_user("alice", "alice's passphrase", groups=("legal",))
    docent.edit_user("alice", role="admin", groups=())
    docent.set_password("alice", "a new passphrase")
    docent.grant("alice", "staff")
    secret, token = docent.create_token("alice", "ticket-system", timedelta(days=1))
    docent.revoke_token(token.id)
    gone = docent.remove_user("alice")
    bob = docent.add_user("bob", "bob's passphrase")
    with pytest.raises(AccessError):
        docent.add_user("eve", "eve's passphrase", user=bob)

    records = list(docent.audit.export())
    assert [(r["event"], r["user"].split(":")[0]) for r in records] == [
        ("user_add", "cli"),
        ("user_edit", "cli"),
        ("user_passwd", "cli"),
        ("grant", "cli"),
        ("token_create", "cli"),
        ("token_revoke", "cli"),
        ("user_rm", "cli"),
        ("user_add", "cli"),
        ("denied", "bob"),
    ]
    added, edited, _, _, created, revoked, removed, _, denied = records
    assert added["groups"] == ["legal"] and (edited["role"], edited["groups"]) == ("admin", [])
    assert created["token"] == revoked["token"] == token.id and created["owner"] == "alice"
    assert removed["grants"] == [["staff", "staff"]] and [g.collection for g in gone] == ["staff"]
    assert denied["action"] == "add users"
    assert docent.grants.all() == [] and [u.name for u in docent.accounts.users()] == ["bob"]
    assert secret not in docent.audit.path.read_text()
