"""The audit chain in PostgreSQL (``state_url``): one chain every replica appends to.

A record is the file log's record, byte for byte: the same canonical JSON, ``seq``,
``prev`` and HMAC-SHA256 ``hash`` (``app.auth.audit.next_record``), kept as one row of
``audit_records`` (its ``seq``, its ``time`` and its canonical text). Verification reads
the rows in ``seq`` order through the file's own ``verify_records``, so ``docent audit
verify``, ``checkpoint`` and ``export`` mean the same on both.

An append is one transaction: it takes an advisory lock held to its end (replicas append
in turn, a waiting one sees the head the other just wrote), reads the chain's head,
checks the head's hash under the key (an edited head or a replaced key stops appends, as
a tampered file does), and inserts the next record. ``seq`` is the primary key, so even
a writer that skipped the lock could not fork the chain.

The key is the state's secret ``audit`` (``state_secrets``), made by the first replica
to write. Every record is keyed from the first, so an unkeyed record fails verify. The
limit: whoever can write the database as Docent's role can read the key too and rewrite
the chain so that it verifies; a checkpoint or the SIEM's copy kept elsewhere catches
that, as for the file's service account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg

from app.auth.audit import (
    AuditError,
    Verification,
    canonical,
    check_record,
    checkpoint_of,
    next_record,
    parse_checkpoint,
    verify_records,
)
from app.auth.audit_key import ALGORITHM, key_id
from app.auth.state_postgres import PostgresState, where
from models.errors import DocentError

_APPEND_LOCK = 4_510_002  # the advisory lock that puts appends in one line
_VERIFY_BATCH = 2000  # rows fetched at a time when walking the chain


class PostgresAuditLog:
    """The audit chain as rows of ``audit_records``.

    Args:
        state: The state database (``state_url``).
    """

    def __init__(self, state: PostgresState) -> None:
        self.state = state

    @property
    def location(self) -> str:
        """The table and database (never the password)."""
        return f"audit_records in {where(self.state.url)}"

    def _key(self) -> bytes:
        return self.state.secret("audit")

    def append(self, event: str, user: str, **fields: Any) -> dict[str, Any]:
        """Write one record after the chain's head; return it as written.

        Raises:
            AuditError: The database cannot be written, or the head does not match its
                hash under the key (edited, or the key was replaced).
        """
        try:
            key = self._key()
            with self.state.connection() as connection:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_APPEND_LOCK,))
                row = connection.execute(
                    "SELECT record FROM audit_records ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                previous = self._head(str(row[0]), key) if row else None
                record = next_record(key, previous, event, user, fields)
                connection.execute(
                    "INSERT INTO audit_records (seq, time, record) VALUES (%s, %s, %s)",
                    (record["seq"], datetime.fromisoformat(record["time"]), _text(record)),
                )
        except AuditError:
            raise
        except DocentError as error:
            raise AuditError(error.message, hint=error.hint) from None
        except psycopg.Error as error:
            raise AuditError(
                f"Cannot write the audit log {self.location}: {str(error).strip()}.",
                hint="check `state_url` and that Docent's role may write `audit_records`",
            ) from None
        return record

    def _head(self, text: str, key: bytes) -> dict[str, Any]:
        """The chain's last record, checked against its own hash under the key."""
        try:
            head = json.loads(text)
            expected, seq = str(head["prev"]), int(head["seq"])
        except (ValueError, KeyError, TypeError):
            expected, seq = "", 0
        problem, record = check_record(text.encode(), key, expected, seq)
        if not problem and record.get("alg") != ALGORITHM:
            problem = "is not keyed"
        if problem:
            raise AuditError(
                f"The audit log {self.location} was tampered with: its last record: {problem}.",
                hint="run `docent audit verify` and restore the table from the SIEM's copy",
            )
        return record

    def verify(self, checkpoint: str | None = None) -> Verification:
        """Check every record's hash, its link to the one before, and its sequence number.

        Args:
            checkpoint: ``<seq>:<hash>`` from ``checkpoint``: that record must be in the
                chain as it was, so a cut tail fails too.

        Raises:
            AuditError: ``checkpoint`` is not a checkpoint.
            DocentError: The database cannot be reached (the message names ``state_url``).
        """
        mark = parse_checkpoint(checkpoint) if checkpoint else None
        key = self._key()
        with self.state.connection() as connection, connection.cursor(name="audit") as rows:
            rows.itersize = _VERIFY_BATCH
            rows.execute("SELECT record FROM audit_records ORDER BY seq")
            lines = ((n, str(row[0]).encode() + b"\n") for n, row in enumerate(rows, start=1))
            return verify_records(lines, key, key_id(key), mark, keyed=True)

    def checkpoint(self) -> str:
        """``<seq>:<hash>`` of the last record, to keep outside the database.

        Raises:
            AuditError: The chain does not verify, so it has nothing to vouch for.
        """
        return checkpoint_of(self.verify(), self.location)

    def export(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The records written at or after ``since`` (all when None), in chain order."""
        after, given = ("WHERE time >= %s", (since,)) if since else ("", ())
        with self.state.connection() as connection, connection.cursor(name="export") as rows:
            rows.itersize = _VERIFY_BATCH
            rows.execute(f"SELECT record FROM audit_records {after} ORDER BY seq", given)
            for row in rows:
                yield dict(json.loads(row[0]))


def _text(record: dict[str, Any]) -> str:
    return canonical(record).decode()
