"""A copy of a collection's document registry beside the embedded index.

A re-ingest of unchanged files decides everything from the registry (size and mtime of
each file), yet opening Chroma to read it costs more than the rest of such a run: the
import of chromadb alone takes about half a second. So the ingest leaves a copy of the
registry in ``<index>/registry/<collection>.json`` (JSON Lines: a header, then one row
per line, as ``rag.registry_rows`` stores it) when it ends, and the next run settles from
it when every file is unchanged, without importing chromadb.

The copy is trusted only while it is exactly what Chroma holds: the ingest writes it under
the writer lock after its last write, and every write to the collection through
``rag.store`` (chunks or registry rows, from any command, the UI or the API) removes it
before it changes anything; so does deleting the collection. A run that finds no copy,
or one written for another embedder or format, reads the registry from Chroma itself.
Only the embedded store keeps copies: a Chroma server may have other writers.

The copy also names the Chroma collection it was taken from, and is used only while
Chroma's own database still holds that collection with as many registry rows as the copy
(read with ``sqlite3`` in a few milliseconds, still without chromadb): an index deleted,
replaced by a backup or damaged is then read (and its damage reported) instead of being
taken for unchanged from a copy of what it once held. When the database file has changed
since the copy was written (a question may touch it), SQLite's own ``quick_check`` is run
on it first, so a damaged database is found by the next ingest, not hidden by the copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from rag.registry_rows import FIELDS, RegistryRows, data_line
from rag.types import DocumentRecord

COPY_DIR = "registry"
# 3: a row is the JSON list of its fields, named in the header, and is stored as read
# (2 was a JSON object a row, decoded and encoded again; 1 one JSON document, read whole).
_FORMAT = 3


def copy_path(index_dir: Path, name: str) -> Path:
    """Where the registry copy of collection ``name`` lives."""
    return index_dir / COPY_DIR / f"{name}.json"


def discard(index_dir: Path, name: str) -> None:
    """Remove the copy, durably, before the collection changes."""
    path = copy_path(index_dir, name)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _sync_dir(path.parent)


CHROMA_DB = "chroma.sqlite3"


def write(
    index_dir: Path,
    name: str,
    embedder: str,
    records: Iterable[DocumentRecord],
    collection_id: str = "",
) -> None:
    """Write the copy atomically (call under the writer lock, after the last write).

    One row per line after a header line, written as ``records`` yields them: a 100k-file
    registry is never held whole, neither as rows nor as one JSON text.
    """
    path = copy_path(index_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    with scratch.open("w", encoding="utf-8") as handle:
        header = {
            "format": _FORMAT,
            "embedder": embedder,
            "fields": list(FIELDS),
            "collection": collection_id,
            "database": _stamp(index_dir),
        }
        handle.write(json.dumps(header) + "\n")
        for record in records:
            handle.write(data_line(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    scratch.replace(path)
    _sync_dir(path.parent)


def read(
    index_dir: Path, name: str, embedder: str, registry_suffix: str = ".documents"
) -> RegistryRows | None:
    """The registry rows (the caller closes them), or None when there is no usable copy:
    none, another format or embedder, or one Chroma's database no longer agrees with."""
    try:
        with copy_path(index_dir, name).open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if (
                header.get("format") != _FORMAT
                or header.get("embedder") != embedder
                or header.get("fields") != list(FIELDS)
            ):
                return None
            rows = RegistryRows()
            try:
                rows.load(handle)
            except BaseException:
                rows.close()
                raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    held = _held(index_dir, name, str(header.get("collection") or ""), registry_suffix)
    sound = header.get("database") == _stamp(index_dir) or not damage(index_dir)
    if held is None or held != len(rows) or not sound:
        rows.close()
        return None
    return rows


def _stamp(index_dir: Path) -> list[int]:
    """The database file's size and modification time ([] when there is none)."""
    try:
        found = (index_dir / CHROMA_DB).stat()
    except OSError:
        return []
    return [found.st_size, found.st_mtime_ns]


def damage(index_dir: Path) -> str:
    """What is wrong with the embedded index's database ("" when SQLite finds it sound,
    or when there is none yet): SQLite's ``quick_check``, read-only."""
    database = index_dir / CHROMA_DB
    if not database.is_file():
        return ""
    try:
        with _read_only(database, timeout=30) as connection:
            found = connection.execute("PRAGMA quick_check(1)").fetchone()
            connection.execute("SELECT COUNT(*) FROM collections").fetchone()
    except sqlite3.Error as error:
        return str(error)
    verdict = " ".join(str(found[0]).split()) if found else "no answer"
    return "" if verdict == "ok" else verdict


def _held(index_dir: Path, name: str, collection_id: str, registry_suffix: str) -> int | None:
    """How many registry rows Chroma's database holds for the collection ``name`` whose
    id is ``collection_id``; None when it holds no such collection or cannot be read."""
    database = index_dir / CHROMA_DB
    if not collection_id or not database.is_file():
        return None
    try:
        with _read_only(database, timeout=5) as connection:
            known = connection.execute(
                "SELECT 1 FROM collections WHERE id = ? AND name = ?", (collection_id, name)
            ).fetchone()
            if known is None:
                return None
            found = connection.execute(
                "SELECT COUNT(*) FROM embeddings e JOIN segments s ON e.segment_id = s.id "
                "JOIN collections c ON s.collection = c.id "
                "WHERE c.name = ? AND s.scope = 'METADATA'",
                (name + registry_suffix,),
            ).fetchone()
    except sqlite3.Error:
        return None
    return int(found[0]) if found else None


def _read_only(database: Path, timeout: float) -> contextlib.closing[sqlite3.Connection]:
    """A read-only connection to Chroma's database, closed when the block ends."""
    return contextlib.closing(
        sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=timeout)
    )


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
