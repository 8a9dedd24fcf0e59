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
"""

from __future__ import annotations

import json
import os
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


def write(index_dir: Path, name: str, embedder: str, records: Iterable[DocumentRecord]) -> None:
    """Write the copy atomically (call under the writer lock, after the last write).

    One row per line after a header line, written as ``records`` yields them: a 100k-file
    registry is never held whole, neither as rows nor as one JSON text.
    """
    path = copy_path(index_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    with scratch.open("w", encoding="utf-8") as handle:
        header = {"format": _FORMAT, "embedder": embedder, "fields": list(FIELDS)}
        handle.write(json.dumps(header) + "\n")
        for record in records:
            handle.write(data_line(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    scratch.replace(path)
    _sync_dir(path.parent)


def read(index_dir: Path, name: str, embedder: str) -> RegistryRows | None:
    """The registry rows (the caller closes them), or None when there is no usable copy."""
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
    return rows


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
