"""The count of a collection's writes, which tells a reader whether it changed meanwhile.

Every chunk write (Chroma and the BM25 index) is counted as it starts and as it ends, in
a ``writes`` table of the collection's BM25 file, in that file's own transactions. A
reader that sees the same ``Writes`` before and after its reads knows that nothing was
written in between; a count with more writes started than finished means a write is under
way (or its writer died: ``WriteCounter.settle`` counts those as finished, under the
writer lock). Values worked out from a collection's chunks can be kept by that count
(``ByWrites``).
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager
from typing import Generic, TypeVar

Writes = tuple[str, int, int] | None
"""``(epoch, writes started, writes finished)``; None if never counted.

The epoch is new whenever the count restarts (a new file or table), so equal triples mean
the same count of the same file."""

# Not in the BM25 index's schema: indexes made before it get it on their next write.
_WRITES = """
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    epoch TEXT NOT NULL,
    started INTEGER NOT NULL,
    finished INTEGER NOT NULL
)
"""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def settled(writes: Writes) -> bool:
    """Whether the count shows no write under way (and was ever started)."""
    return writes is not None and writes[1] == writes[2]


class WriteCounter:
    """The write count kept in one SQLite file.

    Args:
        connect: Opens a connection to the file in a transaction (with its schema made).
        reader: This thread's read connection to the file; None when there is no file.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[sqlite3.Connection]],
        reader: Callable[[], sqlite3.Connection | None],
    ) -> None:
        self._connect = connect
        self._reader = reader

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Count a write to the collection as it starts and ends.

        A writer that dies leaves a write started and never finished until ``settle``.
        """
        self._count("started")
        try:
            yield
        finally:
            self._count("finished")

    def _count(self, column: str) -> None:
        with self._connect() as db:
            _start(db)
            db.execute(f"UPDATE writes SET {column} = {column} + 1")

    def settle(self) -> None:
        """Count every started write as finished: only while holding the writer lock."""
        with self._connect() as db:
            _start(db)
            db.execute("UPDATE writes SET finished = started")

    def writes(self) -> Writes:
        """The count now (see ``Writes``)."""
        db = self._reader()
        if db is None:
            return None
        try:
            row = db.execute("SELECT epoch, started, finished FROM writes").fetchone()
        except sqlite3.OperationalError:  # no such table yet
            return None
        return None if row is None else (str(row[0]), int(row[1]), int(row[2]))


def _start(db: sqlite3.Connection) -> None:
    """Create the count of writes if there is none, in a new epoch."""
    db.execute(_WRITES)
    db.execute(
        "INSERT INTO writes VALUES (0, ?, 0, 0) ON CONFLICT (id) DO NOTHING",
        (secrets.token_hex(8),),
    )


class ByWrites(Generic[K, V]):
    """Values kept by key, the oldest dropped first beyond ``kept``.

    Keys include the ``Writes`` the value was worked out under, so a value of a
    collection that has changed since is never found again.
    """

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, if any."""
        return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``."""
        while len(self._values) >= self.kept:
            self._values.pop(next(iter(self._values)))
        self._values[key] = value
