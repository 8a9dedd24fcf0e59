"""Lexical (BM25) search over a collection's chunks: SQLite FTS5 in a file beside the index.

Why FTS5 and not Chroma's own BM25 index: chromadb 1.5.9 has the API (``Schema`` with
``SparseVectorIndexConfig(bm25=True)``, ``collection.search(Search().rank(Knn(...)))``),
but creating such a collection fails with ``Sparse vector indexing is not enabled in
local`` both in ``PersistentClient`` and against a local ``chroma run`` server (tried
2026-11-23); it is a Chroma Cloud / distributed feature. SQLite's FTS5 comes with Python,
ranks with BM25 (``bm25()``), takes filters in the same SQL query as the match, and keeps
up with 100k chunks on one core. Exact tokens such as error codes (``E-4471-B``), part
numbers and names, which a small embedder blurs, are what it is for.

The index is derived data: one SQLite file per collection
(``<index>/lexical/<collection>.sqlite3``) that ``Collection`` writes together with Chroma
(upserts by chunk id, deletes by document id, so every write is idempotent and the ingest
journal's replays keep both stores equal), and that ``Collection.sync_lexical`` rebuilds
from Chroma when the two differ (a collection made before this index existed, a power
loss between the two writes). With a Chroma server the file lives with the application
that ingests; replicas that only read need the same file (a shared volume). The file also
counts the collection's writes as they start and finish (``LexicalIndex.writing``), which
lets a reader know that nothing changed while it read.

FTS5 indexes the words as ``rag.lexical_terms`` folds and stems them; a query goes through
the same steps and is the OR of its terms (common English words dropped), a hyphenated or
dotted token kept as a phrase, so ``E-4471-B`` matches only ``e 4471 b`` in that order.

Scoring every chunk that holds a common word is what makes a BM25 OR query slow on 100k
chunks, and such a word carries little weight (IDF near 0); so a query scores at most
about ``MAX_POSTINGS`` chunks (``_affordable``; below that many chunks per query term
nothing is pruned). Stemming in Python, not with FTS5's ``porter`` tokenizer, gives the
indexed form of each term, so the number of chunks holding it is kept exactly in a
``term`` table, written in the same transaction as the text (``fts5vocab`` would count
them by reading whole posting lists: 5 ms for a common word at 100k chunks).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.lexical_terms import indexed_form, match_expression, query_terms
from rag.types import Chunk

# Relative BM25 weight of the passage and of its header (document title and heading).
TEXT_WEIGHT = 1.0
HEADER_WEIGHT = 0.5
# Postings a query may scan, over its terms taken rarest first (see the module docstring).
MAX_POSTINGS = 10_000
# Bump when the indexed form changes: an index of another version is rebuilt from Chroma.
SCHEMA_VERSION = 2
# Read connections kept open, per thread and index file (see ``_reader``), at most:
MAX_READERS = 8
_READERS = threading.local()
_SCHEMA = """
CREATE TABLE chunk (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    source TEXT NOT NULL,
    page INTEGER NOT NULL,
    labels TEXT NOT NULL
);
CREATE INDEX chunk_doc_id ON chunk (doc_id);
CREATE VIRTUAL TABLE chunk_text USING fts5 (text, header, tokenize = 'unicode61');
CREATE TABLE term (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL) WITHOUT ROWID;
"""
# Not in _SCHEMA: indexes made before it get it on their next write, without a rebuild.
_WRITES = """
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    epoch TEXT NOT NULL,
    started INTEGER NOT NULL,
    finished INTEGER NOT NULL
)
"""
_DROP = """
DROP TABLE IF EXISTS writes;
DROP TABLE IF EXISTS term;
DROP TABLE IF EXISTS chunk_text;
DROP TABLE IF EXISTS chunk;
"""


@dataclass(frozen=True)
class LexicalFilter:
    """Restrictions applied inside the SQL query (mirrors ``rag.retrieve.Filters``).

    Attributes:
        doc_ids: Only these documents, if any are given.
        sources: Only these source paths, if any are given.
        page_from: Lowest page, inclusive.
        page_to: Highest page, inclusive.
        labels: None for no restriction; else a chunk must carry one of these labels.
    """

    doc_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    page_from: int | None = None
    page_to: int | None = None
    labels: tuple[str, ...] | None = None

    def sql(self) -> tuple[str, list[str | int]]:
        """The ``AND ...`` conditions on table ``c`` (chunk) and their parameters."""
        clauses: list[str] = []
        params: list[str | int] = []
        for column, values in (("c.doc_id", self.doc_ids), ("c.source", self.sources)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.page_from is not None:
            clauses.append("c.page >= ?")
            params.append(self.page_from)
        if self.page_to is not None:
            clauses.append("c.page <= ?")
            params.append(self.page_to)
        if self.labels is not None:
            marks = ", ".join("?" * len(self.labels)) or "NULL"
            clauses.append(f"EXISTS (SELECT 1 FROM json_each(c.labels) WHERE value IN ({marks}))")
            params.extend(self.labels)
        return "".join(f" AND {clause}" for clause in clauses), params


class LexicalIndex:
    """The BM25 index of one collection's chunks.

    Args:
        path: The SQLite file; created with its folder on first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (one per call: callers may be on any thread)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=60)
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._create(db)
            db.execute("PRAGMA synchronous = NORMAL")
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def _create(db: sqlite3.Connection) -> None:
        """Create the tables, replacing those of another version (rebuilt from Chroma)."""
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")  # one process creates; another waits, then sees it
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for statement in filter(str.strip, (_DROP + _SCHEMA).split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.commit()
        except BaseException:
            db.rollback()
            raise

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Count a write to the collection (its Chroma chunks, this index) as it starts and ends.

        A reader that compares ``writes()`` before and after its reads knows whether
        the collection changed meanwhile (see ``rag.retrieve``). A writer that dies
        leaves a write started and never finished until ``settle_writes``.
        """
        self._count_write("started")
        try:
            yield
        finally:
            self._count_write("finished")

    def _count_write(self, column: str) -> None:
        with self._connect() as db:
            _start_count(db)
            db.execute(f"UPDATE writes SET {column} = {column} + 1")

    def settle_writes(self) -> None:
        """Count every started write as finished: only while holding the writer lock."""
        with self._connect() as db:
            _start_count(db)
            db.execute("UPDATE writes SET finished = started")

    def writes(self) -> tuple[str, int, int] | None:
        """``(epoch, writes started, writes finished)``; None if never counted.

        The epoch is new whenever the count restarts (a new file or table), so equal
        triples mean the same count of the same file.
        """
        db = _reader(self.path)
        if db is None:
            return None
        try:
            row = db.execute("SELECT epoch, started, finished FROM writes").fetchone()
        except sqlite3.OperationalError:  # no such table yet
            return None
        return None if row is None else (str(row[0]), int(row[1]), int(row[2]))

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        """Insert or replace chunks by id."""
        with self._connect() as db:
            counts: Counter[str] = Counter()
            for chunk in chunks:
                (rowid,) = db.execute(
                    "INSERT INTO chunk (id, doc_id, source, page, labels) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET doc_id = excluded.doc_id, "
                    "source = excluded.source, page = excluded.page, labels = excluded.labels "
                    "RETURNING rowid",
                    (chunk.id, chunk.doc_id, chunk.source, chunk.page, json.dumps(chunk.labels)),
                ).fetchone()
                counts.subtract(_remove_text(db, [rowid]))
                text = indexed_form(chunk.text)
                header = indexed_form(f"{chunk.title} {chunk.heading}")
                db.execute(
                    "INSERT INTO chunk_text (rowid, text, header) VALUES (?, ?, ?)",
                    (rowid, text, header),
                )
                counts.update(set(f"{text} {header}".split()))
            _count_terms(db, counts)

    def delete_document(self, doc_id: str) -> None:
        """Remove every chunk of one document version."""
        with self._connect() as db:
            rows = [r for (r,) in db.execute("SELECT rowid FROM chunk WHERE doc_id = ?", (doc_id,))]
            self._delete(db, rows)

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        with self._connect() as db:
            found = (
                db.execute("SELECT rowid FROM chunk WHERE id = ?", (i,)).fetchone() for i in ids
            )
            self._delete(db, [row[0] for row in found if row is not None])

    @staticmethod
    def _delete(db: sqlite3.Connection, rowids: list[int]) -> None:
        counts = Counter[str]()
        counts.subtract(_remove_text(db, rowids))
        db.executemany("DELETE FROM chunk WHERE rowid = ?", [(r,) for r in rowids])
        _count_terms(db, counts)

    def move_document(self, doc_id: str, source: str) -> None:
        """Record a new source path for a document's chunks (the file was renamed)."""
        with self._connect() as db:
            db.execute("UPDATE chunk SET source = ? WHERE doc_id = ?", (source, doc_id))

    def relabel_document(self, doc_id: str, labels: Sequence[str]) -> None:
        """Give a document's chunks new access labels (its grants changed, not its text)."""
        with self._connect() as db:
            db.execute(
                "UPDATE chunk SET labels = ? WHERE doc_id = ?", (json.dumps(list(labels)), doc_id)
            )

    def ids(self) -> set[str]:
        """Ids of every chunk indexed."""
        with self._connect() as db:
            return {row[0] for row in db.execute("SELECT id FROM chunk")}

    def count(self) -> int:
        """Number of chunks indexed."""
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM chunk").fetchone()[0])

    def search(
        self, query: str, limit: int, where: LexicalFilter | None = None
    ) -> list[tuple[str, float]]:
        """The best chunks for a free-text query, by BM25.

        Args:
            query: The user's words (not FTS5 syntax).
            limit: Most results returned.
            where: Restrictions applied in the same SQL query.

        Returns:
            ``(chunk id, BM25 score)`` pairs, best first; scores are positive.
        """
        terms = query_terms(query)
        db = _reader(self.path) if terms else None
        if db is None:
            return []
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            with self._connect():  # an index of another version: rebuilt from Chroma later
                return []
        conditions, params = (where or LexicalFilter()).sql()
        rank = f"bm25(chunk_text, {TEXT_WEIGHT}, {HEADER_WEIGHT})"
        if conditions:
            sql = (
                f"SELECT c.id, -{rank} FROM chunk_text JOIN chunk AS c "
                f"ON c.rowid = chunk_text.rowid WHERE chunk_text MATCH ?{conditions} "
                f"ORDER BY {rank} LIMIT ?"
            )
        else:  # rank first, then look up only the winners' ids
            sql = (
                f"SELECT c.id, -s.score FROM (SELECT rowid, {rank} AS score FROM chunk_text "
                "WHERE chunk_text MATCH ? ORDER BY score LIMIT ?) AS s "
                "JOIN chunk AS c ON c.rowid = s.rowid ORDER BY s.score"
            )
        expression = _affordable(db, terms)
        if not expression:
            return []
        rows = db.execute(sql, [expression, *params, limit]).fetchall()
        return [(str(chunk_id), float(score)) for chunk_id, score in rows]

    def drop(self) -> None:
        """Delete the index file (the collection is being deleted)."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def _start_count(db: sqlite3.Connection) -> None:
    """Create the count of writes if there is none, in a new epoch."""
    db.execute(_WRITES)
    db.execute(
        "INSERT INTO writes VALUES (0, ?, 0, 0) ON CONFLICT (id) DO NOTHING",
        (secrets.token_hex(8),),
    )


def _reader(path: Path) -> sqlite3.Connection | None:
    """This thread's read connection to an index file, kept open between searches.

    Opening one costs more than a small search (the schema read again, SQLite's page
    cache empty). Each statement reads a committed snapshot (WAL), so writers in other
    threads and processes are seen as before; a file replaced since (a collection deleted
    and created again) gets a new connection. None when there is no file.
    """
    readers: dict[Path, tuple[tuple[int, int], sqlite3.Connection]]
    readers = _READERS.__dict__.setdefault("open", {})
    try:
        stat = path.stat()
    except FileNotFoundError:
        stat = None
    kept = readers.pop(path, None)
    if kept is not None and stat is not None and kept[0] == (stat.st_dev, stat.st_ino):
        readers[path] = kept  # most recently used last
        return kept[1]
    if kept is not None:
        kept[1].close()
    if stat is None:
        return None
    while len(readers) >= MAX_READERS:  # close the least recently used
        readers.pop(next(iter(readers)))[1].close()
    db = sqlite3.connect(path, timeout=60)
    readers[path] = ((stat.st_dev, stat.st_ino), db)
    return db


def _affordable(db: sqlite3.Connection, terms: list[str]) -> str:
    """The FTS5 expression for the terms, scoring about MAX_POSTINGS chunks at most.

    Terms in more than half the chunks are dropped: FTS5's BM25 gives them no weight
    (IDF <= 0). The rarest of the rest are ORed while their posting lists together stay
    within the budget. When even the rarest exceeds it, terms are ANDed, rarest first,
    until the chunks holding them all (estimated as if terms were independent) fit.
    A phrase counts as its rarest word, an upper bound of how often it occurs.
    Returns "" (the lexical side abstains) when no plan fits: the query's words are then
    too common in this collection to rank by, and the dense side answers alone.
    """
    (rows,) = db.execute("SELECT coalesce(max(rowid), 0) FROM chunk").fetchone()
    if rows * len(terms) <= MAX_POSTINGS:  # a small index: no need to look
        return match_expression(terms)
    words = sorted({word for term in terms for word in term.split()})
    marks = ", ".join("?" * len(words))
    found = dict(db.execute(f"SELECT term, chunks FROM term WHERE term IN ({marks})", words))
    postings = {term: min(found.get(word, 0) for word in term.split()) for term in terms}
    ranked = sorted((t for t in terms if postings[t] <= rows / 2), key=postings.__getitem__)
    if not ranked:
        return ""
    if postings[ranked[0]] <= MAX_POSTINGS:
        totals = itertools.accumulate(postings[term] for term in ranked)
        return match_expression(
            [t for t, total in zip(ranked, totals, strict=True) if total <= MAX_POSTINGS]
        )
    joined: list[str] = []
    expected = float(rows)
    for term in ranked:
        joined.append(f'"{term}"')
        expected *= postings[term] / rows
        if expected <= MAX_POSTINGS:
            return " AND ".join(joined)
    return ""


def _remove_text(db: sqlite3.Connection, rowids: list[int]) -> Counter[str]:
    """Delete the indexed text of these chunks; return how many of them held each term."""
    held: Counter[str] = Counter()
    for rowid in rowids:
        row = db.execute("SELECT text, header FROM chunk_text WHERE rowid = ?", (rowid,)).fetchone()
        if row is not None:
            held.update(set(f"{row[0]} {row[1]}".split()))
            db.execute("DELETE FROM chunk_text WHERE rowid = ?", (rowid,))
    return held


def _count_terms(db: sqlite3.Connection, counts: Counter[str]) -> None:
    """Apply changes to the chunks-per-term counts (exact, in the writing transaction)."""
    db.executemany(
        "INSERT INTO term (term, chunks) VALUES (?, ?) "
        "ON CONFLICT (term) DO UPDATE SET chunks = chunks + excluded.chunks",
        [(term, n) for term, n in counts.items() if n],
    )
    gone = [(term,) for term, n in counts.items() if n < 0]
    db.executemany("DELETE FROM term WHERE term = ? AND chunks <= 0", gone)
