"""One Docent collection's chunks and document registry: every read and write of them.

``rag.store.Index`` opens a ``Collection`` (imported from ``rag.store``); its methods are
the only code that reads or writes the two Chroma collections behind it and the BM25
index beside them, in terms of ``Chunk``, ``DocumentRecord`` and ``Filters`` (the layout:
``rag.store``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.codec import chunk_metadata, record_metadata, stored_chunk, stored_record
from rag.filters import Filters, lacking_where
from rag.lexical import LexicalIndex
from rag.types import Chunk, DocumentRecord
from rag.writes import Writes

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection as ChromaCollection

# Chunks read, and document versions deleted, per request.
_PAGE = 5000
# Registry rows read per request: a page of 5000 rows over HTTP, with the client's copies
# of it, was most of an unchanged 100k-file run's peak.
_RECORD_PAGE = 1000


def in_order(rows: Iterable[DocumentRecord]) -> list[DocumentRecord]:
    """Registry rows sorted by root and source, the order ``Collection.records`` gives."""
    return sorted(rows, key=lambda row: (row.root, row.source))


class Collection:
    """One workspace: its chunks and its document registry, the only code that reads them.

    The registry is opened on first use: a retrieval reads only the chunks, and opening
    (or creating) the registry costs a Chroma call on every question.
    """

    def __init__(
        self,
        name: str,
        chunks: ChromaCollection,
        registry: Callable[[], ChromaCollection],
        max_batch: int,
        lexical: LexicalIndex,
        changing: Callable[[], None] = lambda: None,
        wrote: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = name
        # The raw Chroma collection: only this module uses it (and tests that check it).
        self.chroma = chunks
        self._open_registry = registry
        self.max_batch = max_batch
        self.lexical = lexical
        # Called before every write: drops the registry copy, which would no longer be exact.
        self._changing = changing
        # Called after every write: this process's client has seen it (``Index.collection``).
        self._wrote = wrote

    @functools.cached_property
    def _registry(self) -> ChromaCollection:
        """The registry's Chroma collection (one row per source file)."""
        return self._open_registry()

    @property
    def identity(self) -> tuple[str, str]:
        """What tells this collection from any other, also one deleted and made again."""
        return str(self.chroma.id), str(self.lexical.path)

    def writes(self) -> Writes:
        """The count of the collection's writes (``rag.writes``)."""
        return self.lexical.counter.writes()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Count a write to the collection while it runs (``rag.writes``)."""
        with self.lexical.counter.writing():
            yield
        self._wrote()

    def upsert_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store chunks with their vectors, in batches Chroma accepts."""
        self._changing()
        with self.writing():
            for start in range(0, len(chunks), self.max_batch):
                batch = chunks[start : start + self.max_batch]
                self.chroma.upsert(
                    ids=[chunk.id for chunk in batch],
                    embeddings=vectors[start : start + len(batch)],
                    documents=[chunk.text for chunk in batch],
                    metadatas=[chunk_metadata(chunk) for chunk in batch],  # type: ignore[misc]
                )
                self.lexical.upsert(batch)

    def delete_document_chunks(self, doc_id: str) -> None:
        """Remove every chunk of one document version."""
        self.delete_documents_chunks([doc_id])

    def delete_documents_chunks(self, doc_ids: Sequence[str]) -> None:
        """Remove every chunk of these document versions (in a few requests, not one each)."""
        if not doc_ids:
            return
        self._changing()
        with self.writing():
            for start in range(0, len(doc_ids), _PAGE):
                batch = list(doc_ids[start : start + _PAGE])
                where: Any = {"doc_id": batch[0]} if len(batch) == 1 else {"doc_id": {"$in": batch}}
                self.chroma.delete(where=where)
            self.lexical.delete_documents(doc_ids)

    def move_document(self, doc_id: str, source: str) -> None:
        """Give every chunk of a document a new source path (its file was moved)."""
        self._changing()
        with self.writing():
            stored = self.chroma.get(where={"doc_id": doc_id}, include=["metadatas"])
            if stored["ids"]:
                metadatas = [dict(m or {}) | {"source": source} for m in stored["metadatas"] or []]
                self.chroma.update(ids=stored["ids"], metadatas=metadatas)  # type: ignore[arg-type]
            self.lexical.move_document(doc_id, source)

    def relabel_document(self, doc_id: str, labels: Sequence[str]) -> None:
        """Give every chunk of a document new access labels, without re-embedding it."""
        self._changing()
        ids = self.chroma.get(where={"doc_id": doc_id}, include=[])["ids"]
        # Chroma merges metadata on update, and None removes a field (a document without
        # labels has none, as Chroma rejects empty lists).
        value = list(labels) or None
        with self.writing():
            for start in range(0, len(ids), self.max_batch):
                batch = ids[start : start + self.max_batch]
                self.chroma.update(ids=batch, metadatas=[{"labels": value}] * len(batch))  # type: ignore[dict-item]
            self.lexical.relabel_document(doc_id, labels)

    def sync_lexical(self) -> int:
        """Bring the BM25 index in step with the chunks in Chroma; return chunks fixed.

        Called under the writer lock, so a write counted as started and never finished
        was a writer's that died (``rag.writes``): it is counted as finished.
        """
        self.lexical.counter.settle()
        if self.lexical.count() == self.count_chunks():
            return 0
        stored, indexed = set(self.chunk_ids()), self.lexical.ids()
        extra, missing = sorted(indexed - stored), sorted(stored - indexed)
        self.lexical.delete_ids(extra)
        for start in range(0, len(missing), self.max_batch):
            got = self.chroma.get(
                ids=missing[start : start + self.max_batch], include=["documents", "metadatas"]
            )
            self.lexical.upsert(_chunks(got))
        return len(extra) + len(missing)

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        """Ids of stored chunks, of one document or of all."""
        where: Any = {"doc_id": doc_id} if doc_id else None
        return list(self.chroma.get(where=where, include=[])["ids"])

    def count_chunks(self, filters: Filters | None = None) -> int:
        """Number of chunks stored (that ``filters`` allow, if given)."""
        where = filters.where() if filters is not None else None
        if where is None:
            return self.chroma.count()
        return len(self.chroma.get(where=where, include=[])["ids"])

    def stored_chunks(self, filters: Filters | None = None) -> list[Chunk]:
        """The chunks ``filters`` allow (all without), in the store's order."""
        where = filters.where() if filters is not None else None
        # A page at a time: Chroma reads the metadata of one request in a single SQLite
        # statement, which fails past ~32k rows ("too many SQL variables").
        chunks: list[Chunk] = []
        while True:
            got = self.chroma.get(
                where=where, include=["documents", "metadatas"], limit=_PAGE, offset=len(chunks)
            )
            chunks += _chunks(got)
            if len(got["ids"]) < _PAGE:
                return chunks

    def document_chunks(self, filters: Filters) -> list[Chunk]:
        """The chunks ``filters`` allow, in their order in the document."""
        return sorted(self.stored_chunks(filters), key=lambda chunk: chunk.position)

    def nearest(self, vector: np.ndarray, n: int, filters: Filters) -> list[str]:
        """Ids of the ``n`` chunks nearest to ``vector`` that ``filters`` allow (Chroma's HNSW)."""
        result = self.chroma.query(
            query_embeddings=[vector], n_results=n, where=filters.where(), include=[]
        )
        return list(result["ids"][0])

    def vectors(self, filters: Filters, limit: int | None = None) -> tuple[list[str], np.ndarray]:
        """Ids and stored vectors of the chunks ``filters`` allow (at most ``limit``)."""
        got = self.chroma.get(where=filters.where(), include=["embeddings"], limit=limit)
        ids = list(got["ids"])
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        return ids, np.asarray(got["embeddings"], dtype=np.float32)

    def rows(self, ids: Sequence[str], filters: Filters) -> dict[str, tuple[Chunk, np.ndarray]]:
        """Each chunk among ``ids`` that ``filters`` allow, with its stored vector."""
        if not ids:
            return {}
        got = self.chroma.get(
            ids=list(dict.fromkeys(ids)),
            where=filters.where(),
            include=["documents", "metadatas", "embeddings"],
        )
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        return {
            chunk.id: (chunk, np.asarray(vector, dtype=np.float32))
            for chunk, vector in zip(_chunks(got), vectors, strict=True)
        }

    def lexical_search(self, query: str, n: int, filters: Filters) -> list[tuple[str, float]]:
        """The ``n`` best chunks for ``query`` by BM25 that ``filters`` allow."""
        return self.lexical.search(query, n, filters)

    def any_lacking(self, labels: tuple[str, ...]) -> bool:
        """Whether some chunk carries none of ``labels``."""
        return bool(self.chroma.get(where=lacking_where(labels), limit=1, include=[])["ids"])

    def count_records(self) -> int:
        """Number of registry rows."""
        return self._registry.count()

    def records(self) -> list[DocumentRecord]:
        """Every registry row, sorted by root and source."""
        return in_order(self.iter_records())

    def iter_records(self) -> Iterator[DocumentRecord]:
        """Every registry row, in the store's order, read a page at a time.

        One request for a 100k-file share would hold Chroma's whole answer (ids, metadata,
        its own copies) in memory at once beside the rows.
        """
        offset = 0
        while True:
            page = self._registry.get(include=["metadatas"], limit=_RECORD_PAGE, offset=offset)
            keys, metas = page["ids"], page["metadatas"] or []
            yield from (stored_record(key, meta) for key, meta in zip(keys, metas, strict=True))
            offset += len(keys)
            if len(keys) < _RECORD_PAGE:
                return

    def put_record(self, record: DocumentRecord) -> None:
        """Write a registry row (insert or replace)."""
        self.put_records([record])

    def put_records(self, records: Sequence[DocumentRecord]) -> None:
        """Write registry rows (insert or replace), in batches Chroma accepts."""
        if not records:
            return
        self._changing()
        for start in range(0, len(records), self.max_batch):
            batch = records[start : start + self.max_batch]
            self._registry.upsert(
                ids=[record.key for record in batch],
                embeddings=np.ones((len(batch), 1), dtype=np.float32),
                documents=[record.source for record in batch],
                metadatas=[record_metadata(record) for record in batch],
            )

    def delete_record(self, key: str) -> None:
        """Remove a registry row."""
        self._changing()
        self._registry.delete(ids=[key])

    def remove_document(self, record: DocumentRecord) -> None:
        """Remove a document: its chunks (unless another row holds the same content) and its row."""
        self.remove_documents([record])

    def remove_documents(self, records: Sequence[DocumentRecord]) -> None:
        """Remove documents: their chunks (unless a row kept holds the same content), their rows.

        A few requests for the lot, not three for each: a filter on ``doc_id`` reads the
        metadata of the whole collection (about 0.25 s at 690k chunks, on a server).
        """
        if not records:
            return
        keys = {record.key for record in records}
        doc_ids = sorted({record.doc_id for record in records if record.doc_id})
        held: set[str] = set()
        for start in range(0, len(doc_ids), _RECORD_PAGE):
            batch = doc_ids[start : start + _RECORD_PAGE]
            where: Any = {"doc_id": batch[0]} if len(batch) == 1 else {"doc_id": {"$in": batch}}
            got = self._registry.get(where=where, include=["metadatas"])
            held |= {
                str(meta["doc_id"])
                for key, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
                if key not in keys and meta
            }
        self.delete_documents_chunks([doc_id for doc_id in doc_ids if doc_id not in held])
        self._changing()
        ordered = [record.key for record in records]
        for start in range(0, len(ordered), self.max_batch):
            self._registry.delete(ids=ordered[start : start + self.max_batch])

    def find(self, source: str) -> list[DocumentRecord]:
        """Registry rows whose source path is ``source``."""
        return [record for record in self.records() if record.source == source]


def _chunks(got: Any) -> list[Chunk]:
    """The chunks of a Chroma ``get`` result that included documents and metadatas."""
    return [
        stored_chunk(chunk_id, text, meta)
        for chunk_id, text, meta in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
        )
    ]
