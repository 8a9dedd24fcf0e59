"""The audit key's marker and its creation: a keyed log never verifies as an unkeyed one,
and a first write that fails (a full disk) leaves nothing that blocks the next."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.auth.audit import AuditError, AuditLog
from app.auth.audit_key import AuditKeyError, create_key
from app.cli import cli
from tests.test_audit_tamper import _rechain


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    audit = AuditLog(tmp_path / "audit.jsonl")
    for n in range(4):
        audit.append("ask", f"user{n % 2}", question=f"q{n}?")
    return audit


def _unkeyed(log: AuditLog) -> bytes:
    """The log as an older Docent would have written it: no key, plain sha256."""
    records = [json.loads(line) for line in log.path.read_bytes().splitlines()]
    return _rechain([r for r in records if r["event"] != "audit.keyed"], None)


def _key_gone_log_unkeyed(log: AuditLog) -> None:
    forged = _unkeyed(log)
    log.key_path.unlink()
    log.path.write_bytes(forged)


def _key_kept_log_unkeyed(log: AuditLog) -> None:
    log.path.write_bytes(_unkeyed(log))


def _key_replaced_log_rekeyed(log: AuditLog) -> None:
    records = [json.loads(line) for line in log.path.read_bytes().splitlines()]
    log.key_path.unlink()
    log.path.write_bytes(_rechain(records, create_key(log.key_path)))


def _key_gone_log_emptied(log: AuditLog) -> None:
    log.key_path.unlink()
    log.path.write_bytes(b"")


def _key_kept_log_deleted(log: AuditLog) -> None:
    log.path.unlink()


# What someone with write access to the log and its key can do short of the marker.
DOWNGRADES: dict[str, Callable[[AuditLog], None]] = {
    "key deleted, log rewritten in the pre-key format": _key_gone_log_unkeyed,
    "key kept, log rewritten in the pre-key format": _key_kept_log_unkeyed,
    "key replaced, log rechained under the new key": _key_replaced_log_rekeyed,
    "key deleted, log emptied": _key_gone_log_emptied,
    "key kept, log deleted": _key_kept_log_deleted,
}


@pytest.mark.parametrize("forge", DOWNGRADES.values(), ids=DOWNGRADES.keys())
def test_a_keyed_log_never_verifies_as_another(
    log: AuditLog, forge: Callable[[AuditLog], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    forge(log)

    result = log.verify()

    assert not result.ok and result.problem
    monkeypatch.setenv("DOCENT_AUDIT_LOG", str(log.path))
    shown = CliRunner().invoke(cli, ["audit", "verify"], standalone_mode=False)
    assert shown.return_value != 0 and "intact" not in shown.output
    # Nor does the next record vouch for the forgery.
    with pytest.raises(AuditError):
        log.append("ask", "user0", question="after the forgery?")
    assert not log.verify().ok


def test_the_reported_downgrade_names_the_missing_key(log: AuditLog) -> None:
    _key_gone_log_unkeyed(log)

    assert "tampered: the audit key is gone" in log.verify().problem


def test_the_marker_is_private_and_made_for_a_log_keyed_before_it_existed(log: AuditLog) -> None:
    assert stat.S_IMODE(log.marker_path.stat().st_mode) == 0o600
    log.marker_path.unlink()  # as a Docent before the marker left a keyed log
    assert log.verify().ok

    log.append("ask", "user0", question="after the upgrade?")

    assert log.marker_path.exists() and log.verify().ok
    _key_gone_log_unkeyed(log)
    assert not log.verify().ok


def test_a_log_that_never_had_a_key_still_verifies(tmp_path: Path) -> None:
    old = AuditLog(tmp_path / "audit.jsonl")
    old.path.write_bytes(_rechain([{"event": "ask", "user": "u", "time": "2026-01-01"}], None))

    assert old.verify().ok and not old.marker_path.exists()


# Every file Docent writes from here on fails, as on a full disk (EFBIG, not ENOSPC, but
# the same failed write() at the same place).
_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from app.auth.audit import AuditError, AuditLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
try:
    AuditLog(Path(sys.argv[1])).append("ask", "alice", question="on a full disk?")
except AuditError as error:
    print(error)
    sys.exit(3)
"""


@pytest.mark.slow
def test_a_first_write_on_a_full_disk_leaves_the_next_one_working(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    failed = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(log.path)], capture_output=True, text=True
    )
    assert failed.returncode == 3, failed.stderr

    log.append("ask", "alice", question="after space was freed?")

    assert log.verify().ok and log.verify().records == 1


def test_an_empty_key_is_made_again_only_while_nothing_was_keyed(log: AuditLog) -> None:
    fresh = AuditLog(log.path.with_name("fresh.jsonl"))
    fresh.key_path.touch(mode=0o600)  # what an older Docent left on a full disk
    fresh.append("ask", "alice", question="now?")
    assert fresh.verify().ok

    log.key_path.write_bytes(b"")

    with pytest.raises(AuditKeyError, match="restore the key file from the backup"):
        log.append("ask", "alice", question="with the key emptied?")
    assert log.key_path.read_bytes() == b""
