"""Tampering with the keyed audit log: every case without the key fails verify, and a cut
tail fails against a checkpoint taken before the cut."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from app.auth.audit import GENESIS, AuditError, AuditLog, canonical
from app.auth.audit_key import ALGORITHM, AuditKeyError, load_key, mac
from app.cli import cli

Records = list[dict[str, Any]]


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl")
    for n in range(6):
        audit.append("ask", f"user{n % 2}", collection=f"c{n % 3}", question=f"q{n}?")
    return audit


def _records(log: AuditLog) -> Records:
    return [json.loads(line) for line in log.path.read_bytes().splitlines()]


def _rechain(records: Records, key: bytes | None) -> bytes:
    """The records renumbered and chained again as a forger would: no key, or a guessed one."""
    lines, previous = [], GENESIS
    for seq, record in enumerate(records, start=1):
        record = {k: v for k, v in record.items() if k not in ("hash", "alg")}
        record |= {"seq": seq, "prev": previous} | ({"alg": ALGORITHM} if key else {})
        body = canonical(record)
        record["hash"] = mac(key, body) if key else hashlib.sha256(body).hexdigest()
        previous = record["hash"]
        lines.append(canonical(record) + b"\n")
    return b"".join(lines)


def _move_to_user1(records: Records) -> Records:
    return [r | {"user": "user1"} if r["seq"] == 3 else r for r in records]


# Each forgery rewrites the chain whole, the way a chain without a key could be rewritten.
FORGERIES: dict[str, Callable[[Records], Records]] = {
    "record moved to another user": _move_to_user1,
    "record moved to another collection": lambda rs: [
        r | {"collection": "c9"} if r["seq"] == 2 else r for r in rs
    ],
    "question edited": lambda rs: [r | {"question": "other?"} if r["seq"] == 4 else r for r in rs],
    "records reordered": lambda rs: [rs[0], rs[2], rs[1], *rs[3:]],
    "middle record deleted": lambda rs: rs[:2] + rs[3:],
    "first record deleted": lambda rs: rs[1:],
    "record inserted": lambda rs: [*rs[:2], rs[1] | {"question": "planted?"}, *rs[2:]],
    "nothing changed, only re-hashed": lambda rs: rs,
}


@pytest.mark.parametrize("guess", [None, b"\0" * 32], ids=["no key", "guessed key"])
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_chain_recomputed_without_the_key_fails(
    log: AuditLog, forgery: str, guess: bytes | None
) -> None:
    assert log.verify().ok
    log.path.write_bytes(_rechain(FORGERIES[forgery](_records(log)), guess))

    result = log.verify()

    assert not result.ok, forgery
    assert "without the key" in result.problem or "edited" in result.problem


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: [lines[0], lines[1].replace(b"user1", b"user0"), *lines[2:]],
        lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
        lambda lines: lines[:2] + lines[3:],
        lambda lines: [lines[0].replace(f'"alg":"{ALGORITHM}",'.encode(), b""), *lines[1:]],
    ],
    ids=["edit in place", "swap lines", "delete a middle line", "strip the key marker"],
)
def test_edits_in_place_fail(log: AuditLog, edit: Callable[[list[bytes]], list[bytes]]) -> None:
    log.path.write_bytes(b"".join(edit(log.path.read_bytes().splitlines(keepends=True))))

    assert not log.verify().ok


@pytest.mark.parametrize("cut", [1, 3])
def test_a_cut_tail_verifies_alone_but_fails_against_an_earlier_checkpoint(
    log: AuditLog, cut: int
) -> None:
    checkpoint = log.checkpoint()
    assert checkpoint.startswith("6:") and log.verify(checkpoint).ok
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:-cut]))

    assert log.verify().ok  # the shorter chain is intact on its own
    result = log.verify(checkpoint)
    assert not result.ok and "cut from its end" in result.problem


def test_a_checkpoint_holds_while_the_log_grows_and_catches_a_rewritten_record(
    log: AuditLog,
) -> None:
    checkpoint = log.checkpoint()
    log.append("ask", "user0", question="later?")
    assert log.verify(checkpoint).ok
    # Even with the key, rewriting up to the checkpointed record changes its hash.
    records = _records(log)
    log.path.write_bytes(_rechain(_move_to_user1(records), load_key(log.key_path)))
    result = log.verify(checkpoint)
    assert not result.ok and "checkpoint" in result.problem
    with pytest.raises(AuditError, match="not an audit checkpoint"):
        log.verify("6:abc")


def test_the_key_is_private_and_its_loss_is_reported(log: AuditLog) -> None:
    assert stat.S_IMODE(log.key_path.stat().st_mode) == 0o600
    log.key_path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="readable by other accounts"):
        log.verify()
    log.key_path.chmod(0o600)
    log.key_path.unlink()

    result = log.verify()
    assert not result.ok and "the audit key is gone" in result.problem
    with pytest.raises(AuditError, match=r"key .* is missing"):
        log.append("ask", "user0", question="unrecorded?")


def test_an_unkeyed_log_still_verifies_and_is_keyed_from_the_next_record(tmp_path: Path) -> None:
    old = AuditLog(tmp_path / "audit.jsonl")
    records = [
        {"event": "ask", "user": f"u{n}", "time": "2026-01-01T00:00:00+00:00"} for n in range(3)
    ]
    old.path.write_bytes(_rechain(records, None))  # as an older Docent wrote it
    assert old.verify().ok and old.verify().unkeyed == 3 and not old.key_path.exists()

    old.append("ask", "u9", question="after the upgrade?")

    keyed, added = _records(old)[3:]
    assert keyed["event"] == "audit.keyed" and keyed["unkeyed_records"] == 3
    assert added["alg"] == ALGORITHM and old.verify().ok and old.verify().unkeyed == 3
    # The unkeyed part is now vouched for by the keyed record after it.
    lines = old.path.read_bytes().splitlines(keepends=True)
    forged = _rechain([records[0] | {"user": "x"}, *records[1:]], None)
    old.path.write_bytes(forged + b"".join(lines[3:]))
    assert not old.verify().ok


def test_the_cli_prints_a_checkpoint_and_verifies_against_it(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_AUDIT_LOG", str(log.path))
    runner = CliRunner()
    checkpoint = runner.invoke(cli, ["audit", "checkpoint"]).output.strip()
    held = runner.invoke(cli, ["audit", "verify", "--checkpoint", checkpoint])
    assert held.exit_code == 0 and f"checkpoint {checkpoint} held" in held.output
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:-1]))

    cut = runner.invoke(cli, ["audit", "verify", "--checkpoint", checkpoint], standalone_mode=False)

    assert cut.return_value == 1 and "cut from its end" in cut.output
