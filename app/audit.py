"""The audit log: an append-only, hash-chained JSON-lines file, fsynced per record.

Each line is one record in canonical JSON (sorted keys, no spaces) with ``seq`` (1, 2,
...), ``time`` (UTC), ``event``, ``user``, the event's fields, ``prev`` (the ``hash`` of
the record before it; 64 zeros for the first) and ``hash`` (sha256 of the record's
canonical JSON without ``hash``). ``verify`` recomputes all of it, so an edited byte,
an inserted, removed or reordered line is reported at the first line where it shows.

A record is written with one ``write`` on a file opened for appending, then fsynced;
writers take an exclusive ``flock`` on the file, so the CLI and UI processes append in
turn. A process killed mid-write can leave an incomplete last line (no newline): every
complete record before it still verifies, ``verify`` fails on the torn tail (a cut
file looks the same), and the next append first writes an ``audit.repair`` record: a
tail that is a whole valid record missing only its newline is kept and completed, any
other tail is cut off and the record says how many bytes were dropped.

The chain shows edits by anyone who does not rewrite every later record too. Against
someone who can rewrite the whole file, compare with the copy the site's SIEM holds
(``docent audit export``): ``verify`` prints the last hash for that comparison.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.accounts import User
from models.errors import DocentError

if TYPE_CHECKING:
    from ingest.report import IngestReport
    from rag.answer import Answer
    from rag.summarize import Summary

GENESIS = "0" * 64
_BLOCK = 1 << 16


class AuditError(DocentError):
    """The audit log cannot be written (Docent refuses to act unrecorded)."""


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the log.

    Attributes:
        ok: Every complete record is intact and in its place.
        records: Complete records read (up to the first bad one).
        last_hash: The hash of the last good record (compare with the SIEM's copy).
        bad_line: 1-based line of the first problem, None when ``ok``.
        problem: What is wrong at ``bad_line``.
        torn_tail: The file ends in an incomplete record (a writer was killed, or the
            file was cut); ``ok`` is False, and the next append repairs it.
    """

    ok: bool
    records: int
    last_hash: str
    bad_line: int | None = None
    problem: str = ""
    torn_tail: bool = False


def canonical(record: dict[str, Any]) -> bytes:
    """The one byte form of a record: sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    """sha256 of the record's canonical form without its ``hash`` field."""
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


class AuditLog:
    """The audit log file.

    Args:
        path: The JSON-lines file (``audit_log`` setting; default ``<data_dir>/audit.jsonl``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, event: str, user: str, **fields: Any) -> dict[str, Any]:
        """Write one record and fsync it; return the record as written.

        Raises:
            AuditError: The log cannot be written, or its last record is unreadable.
        """
        try:
            with self._lock, self._open() as descriptor:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                size = os.fstat(descriptor).st_size
                last, end = _last_line(descriptor, size)
                previous = _parse_last(last, self.path)
                if end < size:
                    previous = self._repair(descriptor, previous, end, size)
                return self._write(descriptor, previous, event, user, fields)
        except OSError as error:
            raise AuditError(
                f"Cannot write the audit log {self.path}: {error.strerror}.",
                hint="check the disk space and the permissions of the `audit_log` file",
            ) from None

    def _repair(
        self, descriptor: int, previous: dict[str, Any] | None, end: int, size: int
    ) -> dict[str, Any]:
        """Mend a tail with no newline: a whole valid record is kept, anything else cut."""
        tail = os.pread(descriptor, size - end, end)
        expected = str(previous["hash"]) if previous else GENESIS
        problem, record = _check(tail, expected, int(previous["seq"]) + 1 if previous else 1)
        fields: dict[str, Any] = {"dropped_bytes": 0, "completed_record": record.get("seq")}
        if problem:
            os.ftruncate(descriptor, end)
            fields = {"dropped_bytes": size - end}
        else:
            os.write(descriptor, b"\n")
            previous = record
        return self._write(descriptor, previous, "audit.repair", "docent", fields)

    def _open(self) -> _Descriptor:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return _Descriptor(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600))

    @staticmethod
    def _write(
        descriptor: int,
        previous: dict[str, Any] | None,
        event: str,
        user: str,
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            **fields,
            "seq": int(previous["seq"]) + 1 if previous else 1,
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "event": event,
            "user": user,
            "prev": str(previous["hash"]) if previous else GENESIS,
        }
        record["hash"] = record_hash(record)
        line = canonical(record) + b"\n"
        written = 0
        while written < len(line):
            written += os.write(descriptor, line[written:])
        os.fsync(descriptor)
        return record

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Every line of the log with its 1-based number, newline kept."""
        try:
            with self.path.open("rb") as file:
                yield from enumerate(file, start=1)
        except FileNotFoundError:
            return

    def verify(self) -> Verification:
        """Check every record's hash, its link to the one before, and its sequence number."""
        expected, count = GENESIS, 0
        for number, raw in self.lines():
            if not raw.endswith(b"\n"):
                problem = "the last record is incomplete (no newline): a writer was stopped"
                return Verification(False, count, expected, number, problem, torn_tail=True)
            problem, record = _check(raw[:-1], expected, count + 1)
            if problem:
                return Verification(False, count, expected, number, problem)
            expected, count = str(record["hash"]), count + 1
        return Verification(True, count, expected)

    def export(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The complete records written at or after ``since`` (all when None)."""
        for _, raw in self.lines():
            if not raw.endswith(b"\n"):
                return
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if since is None or datetime.fromisoformat(str(record.get("time"))) >= since:
                yield record


class _Descriptor:
    """An OS file descriptor closed on leaving a ``with`` block."""

    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    def __enter__(self) -> int:
        return self.descriptor

    def __exit__(self, *exc: object) -> None:
        os.close(self.descriptor)


def _last_line(descriptor: int, size: int) -> tuple[bytes, int]:
    """The last complete line (without newline) and the offset just after it."""
    start, step = size, _BLOCK
    while start > 0:
        # Read further back, twice as far each time, until a whole line is in view.
        start, step = max(0, start - step), step * 2
        data = os.pread(descriptor, size - start, start)
        last = data.rfind(b"\n")
        if last < 0:
            continue
        before = data.rfind(b"\n", 0, last)
        if before >= 0 or start == 0:
            return data[before + 1 : last], start + last + 1
    return b"", 0


def _parse_last(line: bytes, path: Path) -> dict[str, Any] | None:
    if not line:
        return None
    try:
        record = json.loads(line)
        int(record["seq"]), str(record["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditError(
            f"The last record of the audit log {path} is unreadable.",
            hint="run `docent audit verify` and restore the log from the SIEM's copy",
        ) from None
    return dict(record)


def _check(line: bytes, expected: str, seq: int) -> tuple[str, dict[str, Any]]:
    """What is wrong with one record ("" when nothing), and the record."""
    try:
        record = json.loads(line)
    except ValueError:
        return "not a JSON record (edited or damaged)", {}
    if not isinstance(record, dict) or canonical(record) != line:
        return "not in canonical form (edited)", {}
    if record.get("hash") != record_hash(record):
        return "its hash does not match its content (edited)", record
    if record.get("prev") != expected:
        return "does not follow the record before it (a record was removed, inserted or moved)", {}
    if record.get("seq") != seq:
        return f"sequence number {record.get('seq')} where {seq} was due", {}
    return "", record


def actor(user: User | None) -> str:
    """Who a record names: the signed-in user, or the OS account that ran the CLI."""
    if user is not None:
        return user.name
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid={os.getuid()}"


def answer_fields(collection: str, answer: Answer) -> dict[str, Any]:
    """What the log keeps of a question: the chunks shown to the model, the citations."""
    return {
        "collection": collection,
        "question": answer.question,
        "status": answer.status,
        "chunks": [p.id for source in answer.evidence for p in source.passages],
        "cited": [[c.doc_id, c.source, c.page] for c in answer.citations],
        "model": answer.model,
        "seconds": answer.timings.get("total", 0.0),
    }


def summary_fields(collection: str, summary: Summary, model: str, seconds: float) -> dict[str, Any]:
    """What the log keeps of a summary."""
    return {
        "collection": collection,
        "source": summary.source,
        "doc_id": summary.doc_id,
        "length": summary.length,
        "focus": summary.focus,
        "model": model,
        "seconds": round(seconds, 3),
    }


def ingest_fields(report: IngestReport, labels: tuple[str, ...]) -> dict[str, Any]:
    """What the log keeps of an ingest run: the files and what became of each."""
    return {
        "collection": report.collection,
        "labels": list(labels),
        "files": [[f.source, f.status] for f in report.files],
    }
