"""Lexical (BM25) search over a collection's chunks: SQLite FTS5 in a file beside the index.

Why FTS5 and not Chroma's own BM25 index: Chroma's sparse vector index is a Chroma Cloud /
distributed feature, refused by ``PersistentClient`` and a local ``chroma run`` server
(see docs/architecture.md, "Decisions"). SQLite's FTS5 comes with Python,
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
holds the collection's count of writes (``rag.writes``), which lets a reader know that
nothing changed while it read.

FTS5 indexes the words as ``rag.lexical_terms`` folds and stems them; a query goes through
the same steps and is the OR of its terms (common English words dropped), a hyphenated or
dotted token kept as a phrase, so ``E-4471-B`` matches only ``e 4471 b`` in that order.

Scoring every chunk that holds a common word is what makes a BM25 OR query slow on 100k
chunks, and such a word carries little weight (IDF near 0); so a query scores at most
about ``MAX_POSTINGS`` chunks (``_affordable``; below that many chunks per query term
nothing is pruned). Stemming in Python, not with FTS5's ``porter`` tokenizer, gives the
indexed form of each term, so the number of chunks holding it is kept exactly in a
``term`` table, written in the same transaction as the text (``fts5vocab`` would count
them by reading whole posting lists, slow for a common word in a large collection).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.filters import Filters
from rag.lexical_terms import indexed_form, match_expression, query_terms
from rag.types import Chunk
from rag.writes import WriteCounter

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
_DROP = """
DROP TABLE IF EXISTS writes;
DROP TABLE IF EXISTS term;
DROP TABLE IF EXISTS chunk_text;
DROP TABLE IF EXISTS chunk;
"""


class LexicalIndex:
    """The BM25 index of one collection's chunks.

    Args:
        path: The SQLite file; created with its folder on first write.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # The collection's write count lives in this file, in its transactions.
        self.counter = WriteCounter(self._connect, lambda: _reader(self.path))

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
                opened = " ".join(h.text for h in chunk.headings)
                header = indexed_form(f"{chunk.title} {chunk.heading} {opened}")
                db.execute(
                    "INSERT INTO chunk_text (rowid, text, header) VALUES (?, ?, ?)",
                    (rowid, text, header),
                )
                counts.update(set(f"{text} {header}".split()))
            _count_terms(db, counts)

    def delete_document(self, doc_id: str) -> None:
        """Remove every chunk of one document version."""
        self.delete_documents([doc_id])

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Remove every chunk of these document versions, in one transaction."""
        with self._connect() as db:
            rows = [
                r
                for doc_id in doc_ids
                for (r,) in db.execute("SELECT rowid FROM chunk WHERE doc_id = ?", (doc_id,))
            ]
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
        self, query: str, limit: int, where: Filters | None = None
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
        conditions, params = (where or Filters()).sql()
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


def _reader(path: Path) -> sqlite3.Connection | None:
    """This thread's read connection to an index file, kept open between searches.

    Opening one costs more than a small search (the schema read again, SQLite's page
    cache empty). Each statement reads a committed snapshot (WAL), so writers in other
    threads and processes are seen at the next statement; a file replaced since (a
    collection deleted and created again) gets a new connection. None when there is no file.
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
