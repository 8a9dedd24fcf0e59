"""What the index stores as metadata: the one place chunks and registry rows are encoded.

Chroma keeps, beside a text and a vector, a flat dict of scalars (and lists of strings).
``chunk_metadata`` makes that dict from a ``Chunk`` and ``stored_chunk`` makes the
``Chunk`` back (without ``embed_text``, which is not stored; a chunk's headings are one
JSON string, ``[[offset, level, text], ...]``, under ``outline``, and a spreadsheet chunk's
rows one JSON object, ``{sheet: [[start, end, row, first, last, header], ...]}``, under
``cells``); ``record_metadata`` and
``stored_record`` do the same for the document registry's rows. The BM25 index keeps a
few of the chunk fields in columns of its own (``rag.lexical``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from rag.types import Chunk, DocumentRecord, Heading, SheetRow


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """The Chroma metadata of a chunk."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "position": chunk.position,
        "source": chunk.source,
        "title": chunk.title,
        "page": chunk.page,
        "heading": chunk.heading,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "ingested_at": chunk.ingested_at,
    }
    # Chroma rejects empty lists; a document without labels simply has no field.
    if chunk.labels:
        meta["labels"] = list(chunk.labels)
    # Chroma keeps no lists of lists: the headings are one compact JSON string, absent
    # (as in chunks stored before outlines were kept) when the chunk opens none.
    if chunk.headings:
        rows = [[h.offset, h.level, h.text] for h in chunk.headings]
        meta["outline"] = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    if chunk.rows:
        meta["cells"] = _cells_json(chunk.rows)
    return meta


def _cells_json(rows: tuple[SheetRow, ...]) -> str:
    """A chunk's spreadsheet rows as one compact JSON object, each sheet's name once."""
    sheets: dict[str, list[list[int]]] = {}
    for r in rows:
        line = [r.start, r.end, r.row, r.first, r.last, int(r.header)]
        sheets.setdefault(r.sheet, []).append(line)
    return json.dumps(sheets, ensure_ascii=False, separators=(",", ":"))


def _rows(cells: Any) -> tuple[SheetRow, ...]:
    """The rows stored under ``cells`` (none when the chunk was stored without)."""
    if not isinstance(cells, str) or not cells:
        return ()
    return tuple(
        SheetRow(str(sheet), int(start), int(end), int(row), int(first), int(last), bool(header))
        for sheet, lines in json.loads(cells).items()
        for start, end, row, first, last, header in lines
    )


def stored_chunk(chunk_id: str, text: str, meta: Mapping[str, Any] | None) -> Chunk:
    """A chunk as read back from the index (``embed_text`` is empty: it is not stored)."""
    meta = meta or {}
    return Chunk(
        id=chunk_id,
        text=text,
        embed_text="",
        doc_id=str(meta["doc_id"]),
        position=int(meta["position"]),
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        page=int(meta.get("page", 0)),
        heading=str(meta.get("heading", "")),
        char_start=int(meta.get("char_start", 0)),
        char_end=int(meta.get("char_end", 0)),
        labels=tuple(meta.get("labels") or ()),
        ingested_at=str(meta.get("ingested_at", "")),
        headings=_headings(meta.get("outline")),
        rows=_rows(meta.get("cells")),
    )


def _headings(outline: Any) -> tuple[Heading, ...]:
    """The headings stored under ``outline`` (none when the chunk was stored without)."""
    if not isinstance(outline, str) or not outline:
        return ()
    return tuple(
        Heading(int(offset), int(level), str(text)) for offset, level, text in json.loads(outline)
    )


def record_metadata(record: DocumentRecord) -> dict[str, Any]:
    """The Chroma metadata of a registry row."""
    meta = {k: v for k, v in asdict(record).items() if k not in ("key", "labels")}
    # mtime in ns exceeds what every Chroma backend keeps exactly as an int: store text.
    meta["mtime_ns"] = str(record.mtime_ns)
    if record.labels:
        meta["labels"] = list(record.labels)
    return meta


def shared_strings(record: DocumentRecord) -> DocumentRecord:
    """The row with the strings most rows repeat (root, run time, labels) shared, in place.

    A registry read makes a new string object per row for each field; at 100k rows the
    copies of the same ingest root alone take ~10 MB.
    """
    record.root, record.ingested_at = sys.intern(record.root), sys.intern(record.ingested_at)
    record.labels = [sys.intern(label) for label in record.labels]
    return record


def stored_record(key: str, meta: Mapping[str, Any] | None) -> DocumentRecord:
    """A registry row as read back from the index."""
    meta = meta or {}
    return shared_strings(
        DocumentRecord(
            key=key,
            root=str(meta.get("root", "")),
            source=str(meta.get("source", "")),
            doc_id=str(meta.get("doc_id", "")),
            pending=str(meta.get("pending", "")),
            stale=str(meta.get("stale", "")),
            size=int(meta.get("size", 0)),
            mtime_ns=int(meta.get("mtime_ns", "0")),
            title=str(meta.get("title", "")),
            pages=int(meta.get("pages", 0)),
            chunks=int(meta.get("chunks", 0)),
            ingested_at=str(meta.get("ingested_at", "")),
            notes=str(meta.get("notes", "")),
            labels=[str(label) for label in meta.get("labels") or []],
        )
    )
