"""Where saved conversations are kept: one SQLite file, or PostgreSQL with ``state_url``.

``app.conversations.Conversations`` holds the rules (owners, titles, retention, the audit
records) and speaks SQL through a ``ConversationDb``: a connection to read from and a
transaction to write in. Both engines run the same statements (standard SQL, ``?`` for a
parameter, times as ISO-8601 UTC text, which sorts as time does), so a rule is written
once; a backend says only how its engine differs:

- ``SqliteConversations`` (``state_url`` empty): ``<data_dir>/conversations.sqlite3``,
  made 0600; a write is ``BEGIN IMMEDIATE``, so processes on one machine write in turn.
- ``PostgresConversations`` (``app.records_postgres``): the ``conversations`` and
  ``turns`` tables of the state database; a write locks the conversation's row, so two
  replicas saving one conversation write in turn.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, collection TEXT NOT NULL, title TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, turns INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated_at);
CREATE INDEX IF NOT EXISTS conversations_by_age ON conversations (updated_at);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    answer TEXT, partial TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (conversation, position)
);
"""


class Rows(Protocol):
    """Statements on one connection (``?`` for each parameter)."""

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, None when it has none."""
        ...

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a change; how many rows it touched."""
        ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a change once per row of parameters."""
        ...


class ConversationDb(Protocol):
    """The database of saved conversations, one backend."""

    no_limit: int | None
    """The ``LIMIT`` parameter that means none."""
    row_lock: str
    """What a ``SELECT`` inside ``writing()`` ends with to lock the rows it read."""

    def holds_any(self) -> bool:
        """Whether anything can be saved there yet (a purge of nothing opens nothing)."""
        ...

    def reading(self) -> AbstractContextManager[Rows]:
        """A connection to read from."""
        ...

    def writing(self) -> AbstractContextManager[Rows]:
        """A transaction: committed when the block ends, rolled back on an error."""
        ...


class SqliteRows:
    """``Rows`` on an SQLite connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, None when it has none."""
        row = self.connection.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        return [tuple(row) for row in self.connection.execute(sql, params).fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a change; how many rows it touched."""
        return int(self.connection.execute(sql, params).rowcount)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a change once per row of parameters."""
        self.connection.executemany(sql, rows)


class SqliteConversations:
    """Conversations in one SQLite file, readable and writable by the service only.

    Args:
        path: The file (``<data_dir>/conversations.sqlite3``).
    """

    no_limit: int | None = -1
    row_lock = ""  # BEGIN IMMEDIATE has locked the whole file already

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ready = False

    def holds_any(self) -> bool:
        """Whether the file exists."""
        return self.path.exists()

    def reading(self) -> AbstractContextManager[Rows]:
        """A connection to the file, made (0600, with its tables) on first use."""
        return self._connected()

    @contextlib.contextmanager
    def _connected(self) -> Iterator[SqliteRows]:
        path = self.path
        if not path.exists():
            self._ready = False
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            with self._lock:
                if not self._ready:
                    connection.executescript(_SCHEMA)
                    self._ready = True
            yield SqliteRows(connection)
        finally:
            connection.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Rows]:
        """A transaction that holds the file's write lock from its start."""
        with self._connected() as rows:
            connection = rows.connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield rows
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
