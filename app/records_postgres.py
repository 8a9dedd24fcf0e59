"""Saved conversations and readers' feedback in PostgreSQL (``state_url``), for every replica.

Both live in the state database (``app.auth.state_postgres``, whose versioned schema makes
their tables). Conversations run the statements ``app.conversations`` runs on SQLite,
through ``PostgresConversations``; feedback is one row per feedback, its record as JSON.
An unreachable database is the state's error, which names ``state_url`` and the fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from app.auth.state_postgres import PostgresState
from app.eval.feedback import Feedback


class PostgresRows:
    """``app.conversation_db.Rows`` on a psycopg connection (``?`` becomes ``%s``)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, None when it has none."""
        row = self.connection.execute(_paramstyle(sql), params).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        return [tuple(row) for row in self.connection.execute(_paramstyle(sql), params)]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a change; how many rows it touched."""
        return int(self.connection.execute(_paramstyle(sql), params).rowcount)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a change once per row of parameters."""
        with self.connection.cursor() as cursor:
            cursor.executemany(_paramstyle(sql), rows)


def _paramstyle(sql: str) -> str:
    # The statements are Docent's own, with no literal ? or %: a placeholder is all they hold.
    return sql.replace("?", "%s")


class PostgresConversations:
    """Conversations as rows of ``conversations`` and ``turns`` (a ``ConversationDb``).

    Args:
        state: The state database.
    """

    no_limit: int | None = None  # LIMIT NULL is no limit
    row_lock = " FOR UPDATE"

    def __init__(self, state: PostgresState) -> None:
        self.state = state

    def holds_any(self) -> bool:
        """Always: the tables exist from the start."""
        return True

    @contextlib.contextmanager
    def reading(self) -> Iterator[PostgresRows]:
        """A pooled connection."""
        with self.state.connection() as connection:
            yield PostgresRows(connection)

    def writing(self) -> contextlib.AbstractContextManager[PostgresRows]:
        """A transaction (each pooled connection is one, committed when the block ends)."""
        return self.reading()


class PostgresFeedback:
    """Readers' feedback as rows of ``feedback`` (a ``FeedbackStore``).

    Args:
        state: The state database.
    """

    def __init__(self, state: PostgresState) -> None:
        self.state = state

    def append(self, feedback: Feedback) -> None:
        """Store one feedback (committed before this returns)."""
        with self.state.connection() as connection:
            connection.execute(
                "INSERT INTO feedback (id, collection, body) VALUES (%s, %s, %s)",
                (feedback.id, feedback.collection, Jsonb(asdict(feedback))),
            )

    def entries(self, collection: str | None = None) -> list[Feedback]:
        """Every feedback (of one collection), in the order it was stored."""
        chosen = collection is not None
        where, given = ("WHERE collection = %s", (collection,)) if chosen else ("", ())
        with self.state.connection() as connection:
            rows = connection.execute(
                f"SELECT body FROM feedback {where} ORDER BY position", given
            ).fetchall()
        return [Feedback(**row[0]) for row in rows]
