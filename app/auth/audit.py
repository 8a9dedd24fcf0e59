"""The audit log: an append-only, HMAC-chained JSON-lines file, fsynced per record.

Each line is one record in canonical JSON (sorted keys, no spaces) with ``seq`` (1, 2,
...), ``time`` (UTC), ``event``, ``user``, the event's fields, ``alg``
(``hmac-sha256``), ``prev`` (the ``hash`` of the record before it; 64 zeros for the
first) and ``hash`` (HMAC-SHA256, under the key in ``<log>.key``, of the record's
canonical JSON without ``hash``). ``verify`` recomputes all of it, so an edited byte,
an inserted, removed or reordered line is reported at the first line where it shows,
and without the key nobody can rewrite the chain so that it verifies.

Logs written before the key existed hold records with no ``alg``, hashed with plain
sha256. They still verify (``Verification.unkeyed`` counts them), and the first write
after the upgrade adds an ``audit.keyed`` record that says from where on the chain is
keyed; a record without the key after a keyed one, or a log with no keyed record while
a key exists, fails verify (someone rewrote it without the key). Once a keyed record is
written, ``<log>.keyed`` says so (see ``audit_key``): from then on a missing or other
key, or a log with no keyed record, fails verify and stops appends, so removing the key
and writing the log again in the older format does not pass for an older log.

A record is written with one ``write`` on a file opened for appending, then fsynced;
writers take an exclusive ``flock`` on the file, so the CLI and UI processes append in
turn. A process killed mid-write can leave an incomplete last line (no newline): every
complete record before it still verifies, ``verify`` fails on the torn tail (a cut
file looks the same), and the next append first writes an ``audit.repair`` record: a
tail that is a whole valid record missing only its newline is kept and completed, any
other tail is cut off and the record says how many bytes were dropped.

The key shows edits by anyone who cannot read it. Someone who can write the log's
folder can also remove the marker with the key and rewrite an unkeyed log; a checkpoint
kept elsewhere still catches that. A cut tail leaves a shorter chain that
still verifies: ``checkpoint`` gives ``<seq>:<hash>`` of the last record to keep
elsewhere (the SIEM, a ticket), and ``verify(checkpoint=...)`` fails when that record is
gone or differs. Someone who holds the key (the service account) can still rewrite
everything after the last checkpoint; compare with the SIEM's copy
(``docent audit export``) for that.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.auth.accounts import User
from app.auth.audit_key import (
    ALGORITHM,
    DamagedKeyError,
    create_key,
    key_id,
    key_path,
    load_key,
    mac,
    marker_path,
    read_marker,
    write_marker,
)
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
        unkeyed: Records written before the log had a key (plain sha256 chain).
    """

    ok: bool
    records: int
    last_hash: str
    bad_line: int | None = None
    problem: str = ""
    torn_tail: bool = False
    unkeyed: int = 0


def canonical(record: dict[str, Any]) -> bytes:
    """The one byte form of a record: sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any], key: bytes | None = None) -> str:
    """The record's hash: HMAC under ``key`` for a keyed record, else sha256 (older logs).

    A keyed record with no key gets an empty hash, which matches nothing.
    """
    body = canonical({k: v for k, v in record.items() if k != "hash"})
    if record.get("alg") == ALGORITHM:
        return mac(key, body) if key is not None else ""
    return hashlib.sha256(body).hexdigest()


def parse_checkpoint(text: str) -> tuple[int, str]:
    """``<seq>:<hash>`` as ``checkpoint`` prints it.

    Raises:
        AuditError: Not a checkpoint.
    """
    seq, _, digest = text.strip().partition(":")
    if not (seq.isdigit() and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        raise AuditError(
            f"`{text}` is not an audit checkpoint.",
            hint="pass what `docent audit checkpoint` printed: <seq>:<64 hex digits>",
        )
    return int(seq), digest


class AuditTrail(Protocol):
    """The audit chain, wherever it is kept: ``AuditLog`` (a file) or, with ``state_url``
    set, ``app.auth.audit_postgres.PostgresAuditLog`` (rows every replica appends to)."""

    @property
    def location(self) -> str:
        """Where the chain is kept, for messages."""
        ...

    def append(self, event: str, user: str, **fields: Any) -> dict[str, Any]:
        """Write one record after the last; return it as written."""
        ...

    def verify(self, checkpoint: str | None = None) -> Verification:
        """Check every record's hash, its link to the one before, and its sequence number."""
        ...

    def checkpoint(self) -> str:
        """``<seq>:<hash>`` of the last record, to keep outside the chain."""
        ...

    def export(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The complete records written at or after ``since`` (all when None)."""
        ...


class AuditLog:
    """The audit log file and its key.

    Args:
        path: The JSON-lines file (``audit_log`` setting; default ``<data_dir>/audit.jsonl``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.key_path = key_path(path)
        self.marker_path = marker_path(path)
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        """The log file's path."""
        return str(self.path)

    def append(self, event: str, user: str, **fields: Any) -> dict[str, Any]:
        """Write one record and fsync it; return the record as written.

        Raises:
            AuditError: The log cannot be written, its last record is unreadable, or
                its key is missing or exposed.
        """
        try:
            with self._lock, self._open() as descriptor:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
                size = os.fstat(descriptor).st_size
                last, end = _last_line(descriptor, size)
                previous = _parse_last(last, self.path)
                key = self._key(previous)
                if end < size:
                    previous = self._repair(descriptor, key, previous, end, size)
                elif previous is not None and previous.get("alg") != ALGORITHM:
                    unkeyed = {"unkeyed_records": int(previous["seq"])}
                    previous = _write(descriptor, key, previous, "audit.keyed", "docent", unkeyed)
                record = _write(descriptor, key, previous, event, user, fields)
                if read_marker(self.marker_path) is None:
                    write_marker(self.marker_path, key)
                return record
        except OSError as error:
            raise AuditError(
                f"Cannot write the audit log {self.path}: {error.strerror}.",
                hint="check the disk space and the permissions of the `audit_log` file",
            ) from None

    def _key(self, previous: dict[str, Any] | None) -> bytes:
        """The log's key, checked against its marker; made now for a log that never had one."""
        marked = read_marker(self.marker_path)
        keyed = marked is not None or (previous is not None and previous.get("alg") == ALGORITHM)
        try:
            key = load_key(self.key_path)
        except DamagedKeyError:
            if keyed:
                raise
            # Left empty by a full disk at the first write: no record was ever keyed with it.
            self.key_path.unlink()
            key = None
        if key is None and keyed:
            raise AuditError(
                f"The audit key {self.key_path} is missing, so no record can be added.",
                hint="restore the key file from the backup (a new key would break the chain)",
            )
        if key is None:
            return create_key(self.key_path)
        problem = _marker_problem(marked, key) if marked is not None else ""
        if not problem and marked is not None and (previous or {}).get("alg") != ALGORITHM:
            problem = "its last record is not keyed though the log was (rewritten or emptied)"
        if problem:
            raise AuditError(
                f"The audit log {self.path} was tampered with: {problem}.",
                hint="run `docent audit verify` and restore the log and its key from the backup",
            )
        return key

    def _repair(
        self, descriptor: int, key: bytes, previous: dict[str, Any] | None, end: int, size: int
    ) -> dict[str, Any]:
        """Mend a tail with no newline: a whole valid record is kept, anything else cut."""
        tail = os.pread(descriptor, size - end, end)
        expected = str(previous["hash"]) if previous else GENESIS
        seq = int(previous["seq"]) + 1 if previous else 1
        problem, record = check_record(tail, key, expected, seq)
        fields: dict[str, Any] = {"dropped_bytes": 0, "completed_record": record.get("seq")}
        if problem:
            os.ftruncate(descriptor, end)
            fields = {"dropped_bytes": size - end}
        else:
            os.write(descriptor, b"\n")
            previous = record
        return _write(descriptor, key, previous, "audit.repair", "docent", fields)

    def _open(self) -> _Descriptor:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return _Descriptor(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600))

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Every line of the log with its 1-based number, newline kept."""
        try:
            with self.path.open("rb") as file:
                yield from enumerate(file, start=1)
        except FileNotFoundError:
            return

    def verify(self, checkpoint: str | None = None) -> Verification:
        """Check every record's hash, its link to the one before, and its sequence number.

        Args:
            checkpoint: ``<seq>:<hash>`` from ``checkpoint``: that record must be in the
                log as it was, so a cut tail fails too.

        Raises:
            AuditError: ``checkpoint`` is not a checkpoint.
            AuditKeyError: The key file is exposed or damaged.
        """
        mark = parse_checkpoint(checkpoint) if checkpoint else None
        key = load_key(self.key_path)
        return verify_records(self.lines(), key, read_marker(self.marker_path), mark)

    def checkpoint(self) -> str:
        """``<seq>:<hash>`` of the last record, to keep outside the log.

        Raises:
            AuditError: The log does not verify, so it has nothing to vouch for.
        """
        return checkpoint_of(self.verify(), self.location)

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


def verify_records(
    lines: Iterable[tuple[int, bytes]],
    key: bytes | None,
    marked: str | None,
    mark: tuple[int, str] | None,
    *,
    keyed: bool = False,
) -> Verification:
    """Walk a chain's records in order and say where, if anywhere, it breaks.

    Args:
        lines: Each record's canonical JSON and its newline, with its 1-based position.
        key: The chain's key (None: none was ever made).
        marked: The id of the key the chain was keyed with, when it says so.
        mark: A checkpoint's ``(seq, hash)``: that record must be there as it was.
        keyed: Every record must be keyed (a chain begun after keys existed).
    """
    chain = _Chain(key, keyed=keyed)
    if marked is not None and (problem := _marker_problem(marked, key)):
        return chain.failed(1, f"tampered: {problem}")
    for number, raw in lines:
        if not raw.endswith(b"\n"):
            problem = "the last record is incomplete (no newline): a writer was stopped"
            return chain.failed(number, problem, torn_tail=True)
        problem = chain.add(raw[:-1])
        if not problem and mark and mark[0] == chain.count and mark[1] != chain.last:
            problem = f"record {mark[0]} is not the one the checkpoint names (rewritten)"
        if problem:
            return chain.failed(number, problem)
    if chain.unkeyed == chain.count and ((chain.count and key is not None) or marked is not None):
        problem = "no record is keyed though the log has a key (rewritten without the key)"
        return chain.failed(1, problem)
    if mark and mark[0] > chain.count:
        problem = (
            f"the log ends at record {chain.count}, but the checkpoint names record "
            f"{mark[0]}: records were cut from its end"
        )
        return chain.failed(chain.count + 1, problem)
    return Verification(True, chain.count, chain.last, unkeyed=chain.unkeyed)


def checkpoint_of(result: Verification, location: str) -> str:
    """``<seq>:<hash>`` of a verified chain's last record.

    Raises:
        AuditError: The chain does not verify, so it has nothing to vouch for.
    """
    if not result.ok:
        raise AuditError(
            f"The audit log {location} does not verify (line {result.bad_line}: "
            f"{result.problem}), so no checkpoint is given.",
            hint="run `docent audit verify` and restore the log from the SIEM's copy",
        )
    return f"{result.records}:{result.last_hash}"


def _marker_problem(marked: str, key: bytes | None) -> str:
    """What is wrong between a keyed log's marker and its key ("" when nothing)."""
    if key is None:
        return "the audit key is gone, though the log was keyed"
    if marked != key_id(key):
        return "the audit key is not the one the log was keyed with"
    return ""


class _Chain:
    """The state of a verify walk: records seen, the last hash, keyed or not so far."""

    def __init__(self, key: bytes | None, *, keyed: bool = False) -> None:
        self.key = key
        self.count, self.unkeyed, self.last, self.keyed = 0, 0, GENESIS, keyed

    def add(self, line: bytes) -> str:
        """Check the next record; what is wrong with it, "" when nothing."""
        problem, record = check_record(line, self.key, self.last, self.count + 1)
        if problem:
            return problem
        if record.get("alg") != ALGORITHM:
            if self.keyed:
                return "a record without the key after keyed ones (rewritten without the key)"
            self.unkeyed += 1
        self.keyed = self.keyed or record.get("alg") == ALGORITHM
        self.count, self.last = self.count + 1, str(record["hash"])
        return ""

    def failed(self, line: int, problem: str, *, torn_tail: bool = False) -> Verification:
        return Verification(
            False, self.count, self.last, line, problem, torn_tail=torn_tail, unkeyed=self.unkeyed
        )


def next_record(
    key: bytes, previous: dict[str, Any] | None, event: str, user: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """The record that follows ``previous`` (None: the first), stamped now and hashed."""
    record: dict[str, Any] = {
        **fields,
        "seq": int(previous["seq"]) + 1 if previous else 1,
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "event": event,
        "user": user,
        "alg": ALGORITHM,
        "prev": str(previous["hash"]) if previous else GENESIS,
    }
    record["hash"] = record_hash(record, key)
    return record


def _write(
    descriptor: int,
    key: bytes,
    previous: dict[str, Any] | None,
    event: str,
    user: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    record = next_record(key, previous, event, user, fields)
    line = canonical(record) + b"\n"
    written = 0
    while written < len(line):
        written += os.write(descriptor, line[written:])
    os.fsync(descriptor)
    return record


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


def check_record(
    line: bytes, key: bytes | None, expected: str, seq: int
) -> tuple[str, dict[str, Any]]:
    """What is wrong with one record ("" when nothing), and the record."""
    try:
        record = json.loads(line)
    except ValueError:
        return "not a JSON record (edited or damaged)", {}
    if not isinstance(record, dict) or canonical(record) != line:
        return "not in canonical form (edited)", {}
    if record.get("alg") == ALGORITHM and key is None:
        return "a keyed record, but the audit key file is missing", {}
    if record.get("alg") not in (None, ALGORITHM):
        return f"unknown hash algorithm {record.get('alg')!r} (edited)", {}
    if record.get("hash") != record_hash(record, key):
        return "its hash does not match its content (edited, or hashed without the key)", {}
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
        "mode": summary.mode,
        "model": model if summary.calls else "",
        "seconds": round(seconds, 3),
    }


def ingest_fields(report: IngestReport, labels: tuple[str, ...]) -> dict[str, Any]:
    """What the log keeps of an ingest run: the files that changed and what became of each.

    Unchanged files are counted, not listed: a nightly re-run of a 100k-file share would
    otherwise add a 4 MB line of "unchanged" to the log each night.
    """
    counts = report.counts()
    return {
        "collection": report.collection,
        "labels": list(labels),
        "files": [[f.source, f.status] for f in report.files if f.status != "unchanged"],
        "unchanged": counts["unchanged"],
        "pruned": list(report.pruned),
    }
