"""Access to the Chroma index: collections, chunks and the document registry.

A Docent collection (a workspace such as ``legal``) is two Chroma collections: ``NAME``
holds the chunks with their vectors, and ``NAME.documents`` holds one registry row per
source file (see ``DocumentRecord``), which is what makes sync incremental and
crash-safe. The chunk collection records the embedding model and its dimension; opening
it with another embedder is refused instead of mixing incomparable vectors.

Beside Chroma, each collection has a BM25 index of its chunks (``rag.lexical``, a SQLite
file under ``<index>/lexical/``). Every chunk write and delete here goes to both, Chroma
first; all writes are idempotent, so the ingest journal's replays after a crash leave the
two equal. ``sync_lexical`` rebuilds the BM25 index from Chroma where they differ (a
collection created before the index existed gets it on its next ingest run). Every chunk
write is counted as it starts and ends (``LexicalIndex.writing``) so that a reader can tell
whether the chunks changed while it read.

chromadb is imported when a client is first opened, not with this module: a re-ingest of
unchanged files settles from the registry's copy (``rag.registry_copy``) without it.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from models.embedder import Embedder
from models.errors import DocentError
from rag import registry_copy
from rag.connect import IndexConfig, connect_server
from rag.lexical import LexicalIndex
from rag.lock import WriterLock
from rag.types import Chunk, DocumentRecord

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

    from rag.chroma_function import DocentEmbeddingFunction

REGISTRY_SUFFIX = ".documents"
LEXICAL_DIR = "lexical"
# Registry rows read per request.
_PAGE = 5000
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")


class CollectionError(DocentError):
    """A collection is missing, misnamed, or was built with another embedder."""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's summary for listings and status."""

    name: str
    documents: int
    chunks: int
    embedder: str
    dimension: int
    created_at: str


def validate_collection_name(name: str) -> str:
    """Return the name if it is a valid collection name, else raise ``CollectionError``."""
    if not _NAME.fullmatch(name):
        raise CollectionError(
            f"`{name}` is not a valid collection name.",
            hint="use 3-63 lowercase letters, digits, '-' or '_', starting and ending "
            "with a letter or digit (e.g. legal, hr-2024)",
        )
    return name


class Collection:
    """One workspace: its chunks and its document registry.

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
    ) -> None:
        self.name = name
        self.chunks = chunks
        self._open_registry = registry
        self.max_batch = max_batch
        self.lexical = lexical
        # Called before every write: drops the registry copy, which would no longer be exact.
        self._changing = changing

    @functools.cached_property
    def registry(self) -> ChromaCollection:
        """The registry's Chroma collection (one row per source file)."""
        return self._open_registry()

    def upsert_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store chunks with their vectors, in batches Chroma accepts."""
        self._changing()
        with self.lexical.writing():
            for start in range(0, len(chunks), self.max_batch):
                batch = chunks[start : start + self.max_batch]
                self.chunks.upsert(
                    ids=[chunk.id for chunk in batch],
                    embeddings=vectors[start : start + len(batch)],
                    documents=[chunk.text for chunk in batch],
                    metadatas=[chunk.metadata() for chunk in batch],  # type: ignore[misc]
                )
                self.lexical.upsert(batch)

    def delete_document_chunks(self, doc_id: str) -> None:
        """Remove every chunk of one document version."""
        self._changing()
        with self.lexical.writing():
            self.chunks.delete(where={"doc_id": doc_id})
            self.lexical.delete_document(doc_id)

    def move_document(self, doc_id: str, source: str) -> None:
        """Give every chunk of a document a new source path (its file was moved)."""
        self._changing()
        with self.lexical.writing():
            stored = self.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
            if stored["ids"]:
                metadatas = [dict(m or {}) | {"source": source} for m in stored["metadatas"] or []]
                self.chunks.update(ids=stored["ids"], metadatas=metadatas)  # type: ignore[arg-type]
            self.lexical.move_document(doc_id, source)

    def relabel_document(self, doc_id: str, labels: Sequence[str]) -> None:
        """Give every chunk of a document new access labels, without re-embedding it."""
        self._changing()
        ids = self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
        # Chroma merges metadata on update, and None removes a field (a document without
        # labels has none, as Chroma rejects empty lists).
        value = list(labels) or None
        with self.lexical.writing():
            for start in range(0, len(ids), self.max_batch):
                batch = ids[start : start + self.max_batch]
                self.chunks.update(ids=batch, metadatas=[{"labels": value}] * len(batch))  # type: ignore[dict-item]
            self.lexical.relabel_document(doc_id, labels)

    def sync_lexical(self) -> int:
        """Bring the BM25 index in step with the chunks in Chroma; return chunks fixed.

        Called under the writer lock, so a write counted as started and never finished
        was a writer's that died (``LexicalIndex.writing``): it is counted as finished.
        """
        self.lexical.settle_writes()
        if self.lexical.count() == self.count_chunks():
            return 0
        stored, indexed = set(self.chunk_ids()), self.lexical.ids()
        extra, missing = sorted(indexed - stored), sorted(stored - indexed)
        self.lexical.delete_ids(extra)
        for start in range(0, len(missing), self.max_batch):
            got = self.chunks.get(
                ids=missing[start : start + self.max_batch], include=["documents", "metadatas"]
            )
            self.lexical.upsert(
                [
                    stored_chunk(chunk_id, text, dict(meta or {}))
                    for chunk_id, text, meta in zip(
                        got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
                    )
                ]
            )
        return len(extra) + len(missing)

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        """Ids of stored chunks, of one document or of all."""
        where: Any = {"doc_id": doc_id} if doc_id else None
        return list(self.chunks.get(where=where, include=[])["ids"])

    def count_chunks(self) -> int:
        """Number of chunks stored."""
        return self.chunks.count()

    def records(self) -> list[DocumentRecord]:
        """Every registry row, sorted by root and source.

        Read a page at a time: one request for a 100k-file share would hold Chroma's whole
        answer (ids, metadata, its own copies) in memory at once beside the rows.
        """
        rows: list[DocumentRecord] = []
        while True:
            page = self.registry.get(include=["metadatas"], limit=_PAGE, offset=len(rows))
            rows += [
                DocumentRecord.from_metadata(key, dict(meta or {}))
                for key, meta in zip(page["ids"], page["metadatas"] or [], strict=True)
            ]
            if len(page["ids"]) < _PAGE:
                return sorted(rows, key=lambda row: (row.root, row.source))

    def put_record(self, record: DocumentRecord) -> None:
        """Write a registry row (insert or replace)."""
        self._changing()
        self.registry.upsert(
            ids=[record.key],
            embeddings=np.ones((1, 1), dtype=np.float32),
            documents=[record.source],
            metadatas=[record.metadata()],
        )

    def delete_record(self, key: str) -> None:
        """Remove a registry row."""
        self._changing()
        self.registry.delete(ids=[key])

    def remove_document(self, record: DocumentRecord) -> None:
        """Remove a document: its chunks (unless another row holds the same content) and its row."""
        if record.doc_id:
            holders = self.registry.get(where={"doc_id": record.doc_id}, include=[])["ids"]
            if set(holders) <= {record.key}:
                self.delete_document_chunks(record.doc_id)
        self.delete_record(record.key)

    def find(self, source: str) -> list[DocumentRecord]:
        """Registry rows whose source path is ``source``."""
        return [record for record in self.records() if record.source == source]


def stored_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """A chunk as read back from Chroma (without ``embed_text``, which is not stored)."""
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
    )


class Index:
    """The Chroma store behind Docent, opened once per process and shared."""

    def __init__(self, config: IndexConfig, embedder: Embedder) -> None:
        self.config = config
        self.embedder = embedder
        self._client: ClientAPI | None = None
        # Threads of one process (the UI's sessions) may open the index at the same moment;
        # two clients on one embedded folder corrupt Chroma's in-process state.
        self._client_lock = threading.Lock()

    @functools.cached_property
    def _function(self) -> DocentEmbeddingFunction:
        from rag.chroma_function import DocentEmbeddingFunction

        return DocentEmbeddingFunction(self.embedder)

    @property
    def location(self) -> str:
        """Where the index is, for messages and status."""
        if self.config.host:
            return (
                f"Chroma server {self.config.url} (BM25 and lock in {self.config.path.resolve()})"
            )
        return str(self.config.path.resolve())

    @property
    def client(self) -> ClientAPI:
        """The Chroma client, created on first use with telemetry off.

        Raises:
            IndexUnreachableError: The configured server does not answer or refuses the token.
        """
        with self._client_lock:
            if self._client is None:
                self.config.path.mkdir(parents=True, exist_ok=True)
                if self.config.host:
                    self._client = connect_server(self.config)
                else:
                    import chromadb
                    from chromadb.config import Settings as ChromaSettings

                    self._client = chromadb.PersistentClient(
                        path=str(self.config.path),
                        settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
                    )
            return self._client

    def writer_lock(self) -> WriterLock:
        """The lock a process holds while it writes to this index."""
        return WriterLock(self.config.path)

    def _names(self) -> list[str]:
        return sorted(
            c.name for c in self.client.list_collections() if not c.name.endswith(REGISTRY_SUFFIX)
        )

    def _open(self, name: str) -> ChromaCollection:
        return self.client.get_collection(name, embedding_function=self._function)  # type: ignore[arg-type]

    def collection(self, name: str, *, create: bool = False) -> Collection:
        """Open a collection, creating it when asked.

        Raises:
            CollectionError: It does not exist (and ``create`` is false), or its vectors
                come from another embedding model.
        """
        from chromadb.errors import NotFoundError  # chromadb is loaded to open `name` anyway

        validate_collection_name(name)
        try:
            chunks = self._open(name)
        except NotFoundError:
            if not create:
                raise CollectionError(
                    f"Collection `{name}` does not exist.",
                    hint=f"create it with `docent collections create {name}` or ingest into it",
                ) from None
            chunks = self.client.create_collection(
                name,
                embedding_function=self._function,  # type: ignore[arg-type]
                configuration={"hnsw": {"space": "cosine"}},
                metadata={
                    "docent:embedder": self.embedder.name,
                    "docent:dimension": self.embedder.dimension,
                    "docent:created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
        self._check_embedder(name, chunks)

        def registry() -> ChromaCollection:
            return self.client.get_or_create_collection(
                name + REGISTRY_SUFFIX,
                embedding_function=self._function,  # type: ignore[arg-type]
            )

        max_batch = self.client.get_max_batch_size()
        changing = functools.partial(self._discard_copy, name)
        opened = Collection(name, chunks, registry, max_batch, self._lexical(name), changing)
        if create:  # a new collection gets its registry now, as it always has
            opened.registry  # noqa: B018 (opens it)
        return opened

    def _lexical(self, name: str) -> LexicalIndex:
        return LexicalIndex(self.config.path / LEXICAL_DIR / f"{name}.sqlite3")

    def _check_embedder(self, name: str, chunks: ChromaCollection) -> None:
        meta = chunks.metadata or {}
        model = meta.get("docent:embedder")
        dimension = meta.get("docent:dimension")
        if model != self.embedder.name or dimension != self.embedder.dimension:
            raise CollectionError(
                f"Collection `{name}` was built with the embedder {model} "
                f"({dimension} dimensions), "
                f"but Docent is configured with {self.embedder.name} "
                f"({self.embedder.dimension} dimensions); its vectors cannot be compared.",
                hint=f"configure the embedder {model} again, or rebuild the collection: "
                f"`docent collections delete {name}` and ingest again",
            )

    def collections(self) -> Iterator[CollectionInfo]:
        """Summaries of every collection."""
        for name in self._names():
            chunks = self._open(name)
            meta = chunks.metadata or {}
            registry = self.collection(name).registry
            yield CollectionInfo(
                name=name,
                documents=registry.count(),
                chunks=chunks.count(),
                embedder=str(meta.get("docent:embedder", "?")),
                dimension=int(meta.get("docent:dimension", 0)),
                created_at=str(meta.get("docent:created_at", "")),
            )

    def delete_collection(self, name: str) -> None:
        """Delete a collection with all its chunks and registry rows."""
        from chromadb.errors import NotFoundError

        validate_collection_name(name)
        if name not in self._names():
            raise CollectionError(
                f"Collection `{name}` does not exist.", hint="see `docent collections list`"
            )
        self._discard_copy(name)
        self.client.delete_collection(name)
        with contextlib.suppress(NotFoundError):
            self.client.delete_collection(name + REGISTRY_SUFFIX)
        self._lexical(name).drop()

    def _discard_copy(self, name: str) -> None:
        registry_copy.discard(self.config.path, name)

    def _embedder_key(self) -> str:
        return f"{self.embedder.name}/{self.embedder.dimension}"

    def keep_registry_copy(self, collection: Collection) -> None:
        """Copy the collection's registry beside the index (embedded store only).

        Call under the writer lock, after the run's last write (see ``rag.registry_copy``).
        """
        if not self.config.host:
            records = collection.records()
            registry_copy.write(self.config.path, collection.name, self._embedder_key(), records)

    def registry_copy(self, name: str) -> dict[str, DocumentRecord] | None:
        """The registry of ``name`` by key from its copy, without opening Chroma.

        None when there is no exact copy: a server index, no copy, another embedder, or
        no BM25 index on disk (the next run rebuilds it from Chroma).
        """
        if self.config.host or not self._lexical(name).path.is_file():
            return None
        return registry_copy.read(self.config.path, name, self._embedder_key())
