"""A run's registry rows, held in a private temporary SQLite file rather than in memory.

An ingest consults the registry row of every file it finds (by key), looks a moved file's
content up by its hash, and at the end names the rows whose files were not found. For a
100k-file share a dict of rows, a set of their keys and a dict by content hash cost about
1 KB a file, in the parent and again in every parse worker it forks; here they cost SQLite's
page cache (a few MB) whatever the share's size. SQLite's private temporary database keeps
its pages in memory up to that cache and the rest in a file removed when it is closed.

Rows come back as fresh ``DocumentRecord`` objects: a caller that changes one puts it back.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import fields

from rag.types import DocumentRecord

# KiB of page cache, SQLite's default: the rest stays in the temporary file (and the OS's
# file cache). 8 MB made lookups no faster on a 100k-row registry.
_CACHE_KIB = 2048
# Rows per read when listing (rows may change between reads).
_PAGE = 500
# A row is stored as the JSON list of its fields in this order (its "data line").
FIELDS = tuple(f.name for f in fields(DocumentRecord))
# Where the columns are in a data line, and which fields must be text.
_KEY, _ROOT, _SOURCE, _DOC_ID, _PENDING, _STALE = (
    FIELDS.index(name) for name in ("key", "root", "source", "doc_id", "pending", "stale")
)
_TEXT = (_KEY, _ROOT, _SOURCE, _DOC_ID, _PENDING, _STALE)


class RegistryRows:
    """The registry rows of one run, by key, with a mark for the files found so far.

    Args:
        records: The rows to start from (read as they are yielded).
    """

    def __init__(self, records: Iterable[DocumentRecord] = ()) -> None:
        # "" is SQLite's private temporary database: in memory up to the cache, then a
        # file of its own, deleted on close. Nothing of it outlives the run.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        # A journal in memory, so that a batch refused half-way is rolled back (with none,
        # ROLLBACK is undefined); no file of it, and no sync: nothing here outlives a crash.
        self._db.execute("PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE rows (key TEXT PRIMARY KEY, root TEXT, source TEXT, doc_id TEXT,"
            " half_done INTEGER, seen INTEGER DEFAULT 0, data TEXT) WITHOUT ROWID"
        )
        self._db.execute("CREATE INDEX by_doc ON rows (doc_id) WHERE doc_id != ''")
        self._db.execute("CREATE INDEX by_source ON rows (source, key)")
        self._db.execute("CREATE INDEX by_half_done ON rows (half_done) WHERE half_done")
        self.extend(records)

    def close(self) -> None:
        """Let the rows go (the temporary file is removed)."""
        self._db.close()

    def __len__(self) -> int:
        """How many rows there are."""
        return int(self._db.execute("SELECT COUNT(*) FROM rows").fetchone()[0])

    def extend(self, records: Iterable[DocumentRecord]) -> None:
        """Insert or replace rows, in one transaction."""
        self._insert(_columns(record) for record in records)

    def load(self, lines: Iterable[str]) -> None:
        """Insert or replace rows given as data lines (``data_line``), in one transaction.

        The lines are stored as they are, not turned into records and back: this is how
        the registry copy of a 100k-file index is read.

        Raises:
            ValueError: A line is not a row (not JSON, or not a list of the fields).
        """
        self._insert(_line_columns(line) for line in lines)

    def _insert(self, columns: Iterable[tuple[str, str, str, str, int, str]]) -> None:
        """Insert or replace rows given as their columns, in one transaction."""
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO rows (key, root, source, doc_id, half_done, data)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                columns,
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def put(self, record: DocumentRecord, mark: int) -> None:
        """Insert or replace one row, its file found at level ``mark`` (or as it was)."""
        self._db.execute(
            "INSERT INTO rows (key, root, source, doc_id, half_done, data, seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
            " root = excluded.root, source = excluded.source, doc_id = excluded.doc_id,"
            " half_done = excluded.half_done, data = excluded.data,"
            " seen = max(seen, excluded.seen)",
            (*_columns(record), mark),
        )

    def delete(self, key: str) -> None:
        """Remove a row (no error if there is none)."""
        self._db.execute("DELETE FROM rows WHERE key = ?", (key,))

    def find(self, key: str, mark: int) -> DocumentRecord | None:
        """The row with ``key`` (or None), marking its file found at level ``mark``."""
        found = self._db.execute(
            "UPDATE rows SET seen = max(seen, ?) WHERE key = ? RETURNING data", (mark, key)
        ).fetchone()
        return _record(found[0]) if found else None

    def by_content(self, doc_id: str) -> DocumentRecord | None:
        """A row whose committed content is ``doc_id`` (the first by key), or None."""
        found = self._db.execute(
            "SELECT data FROM rows WHERE doc_id = ? AND doc_id != '' ORDER BY key LIMIT 1",
            (doc_id,),
        ).fetchone()
        return _record(found[0]) if found else None

    def any_half_done(self) -> bool:
        """Whether some row has a step of the journal (``pending``, ``stale``) unfinished."""
        return self._db.execute("SELECT 1 FROM rows WHERE half_done LIMIT 1").fetchone() is not None

    def half_done(self) -> list[DocumentRecord]:
        """The rows with a step unfinished, by key (a killed run leaves a window's worth)."""
        found = self._db.execute("SELECT data FROM rows WHERE half_done ORDER BY key")
        return [_record(data) for (data,) in found]

    def unseen(self, roots: Iterable[str], mark: int) -> Iterator[DocumentRecord]:
        """The rows under ``roots`` whose files were not found at level ``mark``, by source.

        Read a page at a time, so rows may be put or deleted between pages.
        """
        within, folders = _within(roots)
        after = ("", "")
        while True:
            page = self._db.execute(
                f"SELECT source, key, data FROM rows WHERE seen < ? AND {within}"
                " AND (source, key) > (?, ?) ORDER BY source, key LIMIT ?",
                (mark, *folders, *after, _PAGE),
            ).fetchall()
            yield from (_record(data) for _, _, data in page)
            if len(page) < _PAGE:
                return
            after = (page[-1][0], page[-1][1])

    def count_unseen(self, roots: Iterable[str], mark: int) -> int:
        """How many rows ``unseen`` would yield."""
        within, folders = _within(roots)
        found = self._db.execute(
            f"SELECT count(*) FROM rows WHERE seen < ? AND {within}", (mark, *folders)
        ).fetchone()
        return int(found[0])


def _within(roots: Iterable[str]) -> tuple[str, list[str]]:
    """The condition that a row is under one of ``roots`` (``IN ()`` holds for none)."""
    folders = sorted(set(roots))
    return f"root IN ({', '.join('?' * len(folders))})", folders


def data_line(record: DocumentRecord) -> str:
    """The row as stored: the JSON list of its fields in ``FIELDS`` order."""
    return json.dumps([getattr(record, name) for name in FIELDS], separators=(",", ":"))


def _columns(record: DocumentRecord) -> tuple[str, str, str, str, int, str]:
    half_done = int(bool(record.pending or record.stale))
    return record.key, record.root, record.source, record.doc_id, half_done, data_line(record)


def _line_columns(line: str) -> tuple[str, str, str, str, int, str]:
    row = json.loads(line)
    if (
        type(row) is not list
        or len(row) != len(FIELDS)
        or not all(type(row[index]) is str for index in _TEXT)
    ):
        raise ValueError(f"not a registry row: {line[:80]!r}")
    half_done = int(bool(row[_PENDING] or row[_STALE]))
    return row[_KEY], row[_ROOT], row[_SOURCE], row[_DOC_ID], half_done, line.strip()


def _record(data: str) -> DocumentRecord:
    return DocumentRecord(*json.loads(data))
