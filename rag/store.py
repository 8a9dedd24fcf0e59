"""Access to the Chroma index: collections, chunks and the document registry.

A Docent collection (a workspace such as ``legal``) is two Chroma collections: ``NAME``
holds the chunks with their vectors, and ``NAME.documents`` holds one registry row per
source file (see ``DocumentRecord``), which is what makes sync incremental and
crash-safe. The chunk collection records the embedding model and its dimension; opening
it with another embedder is refused instead of mixing incomparable vectors. ``Collection``
is the one door to Chroma: the rest of Docent reads and writes through its methods, in
``Chunk``, ``DocumentRecord`` and ``Filters`` (``rag.codec``, ``rag.filters``).

Beside Chroma, each collection has a BM25 index of its chunks (``rag.lexical``, a SQLite
file under ``<index>/lexical/``). Every chunk write and delete here goes to both, Chroma
first; all writes are idempotent, so the ingest journal's replays after a crash leave the
two equal. ``sync_lexical`` rebuilds the BM25 index from Chroma where they differ (a
collection created before the index existed gets it on its next ingest run). Every chunk
write is counted as it starts and ends (``rag.writes``) so that a reader can tell whether
the chunks changed while it read.

chromadb is imported when a client is first opened, not with this module: a re-ingest of
unchanged files settles from the registry's copy (``rag.registry_copy``) without it.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from models.embedder import Embedder
from models.errors import DocentError
from rag import registry_copy
from rag.arenas import cap_arenas
from rag.collection import Collection as Collection  # re-exported: the store's face
from rag.connect import IndexConfig, connect_server
from rag.lexical import LexicalIndex
from rag.lock import WriterLock
from rag.registry_rows import RegistryRows
from rag.writes import Writes

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection

    from rag.chroma_function import DocentEmbeddingFunction

REGISTRY_SUFFIX = ".documents"
LEXICAL_DIR = "lexical"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")


class IndexDamagedError(DocentError):
    """The embedded index's database is damaged: reading it fails."""


def index_damaged(detail: str, location: str = "") -> IndexDamagedError:
    """The error told when the index (at ``location``) cannot be read for damage."""
    where = f" in {location}" if location else ""
    folder = location or "the index folder (`index_dir`, default `<data_dir>/index`)"
    return IndexDamagedError(
        f"The index{where} is damaged ({detail}); nothing was changed.",
        hint=f"restore {folder} from the last backup, or move it aside and ingest the "
        "documents again (`docent doctor` checks it)",
    )


def is_damage(error: BaseException) -> bool:
    """Whether an error from Chroma's embedded store says its database is damaged."""
    text = str(error).lower()
    return any(
        words in text
        for words in (
            "malformed",
            "file is not a database",
            "no such table",
            "database disk image",
            "database corruption",
        )
    )


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


class Index:
    """The Chroma store behind Docent, opened once per process and shared."""

    def __init__(self, config: IndexConfig, embedder: Embedder) -> None:
        self.config = config
        self.embedder = embedder
        self._client: ClientAPI | None = None
        # Each collection's write count as this process's client last saw it.
        self._seen: dict[str, Writes] = {}
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
                    cap_arenas()  # before Chroma starts its threads
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
        wrote = functools.partial(self._wrote, name)
        lexical = self._lexical(name)
        opened = Collection(name, chunks, registry, max_batch, lexical, changing, wrote)
        if self._stale(name, opened):
            self._reopen()
            return self.collection(name, create=create)
        if create:  # a new collection's registry is made with it
            opened._registry  # noqa: B018 (opens it)
        return opened

    def _stale(self, name: str, opened: Collection) -> bool:
        """Whether another process wrote to the collection since this client last read it.

        An embedded Chroma client keeps a collection's vector index in memory: once another
        process (a nightly ``docent ingest`` beside a running ``docent serve``) adds chunks,
        this one does not know their ids, and reading them fails ("Error finding id"). The
        collection's write count (``rag.writes``), kept in its BM25 file, tells: a count
        this process did not make means the client must be opened afresh. A server's
        client has no such copy.
        """
        if self.config.host:
            return False
        current = opened.writes()
        with self._client_lock:
            seen = self._seen.setdefault(name, current)
        return current != seen

    def _wrote(self, name: str) -> None:
        """This process wrote to the collection: its client holds the write."""
        with self._client_lock:
            self._seen.pop(name, None)

    def _reopen(self) -> None:
        """Drop this process's embedded Chroma client; the next use opens it afresh from
        disk. Readers still holding the old one finish with it."""
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._client_lock, SharedSystemClient._refcount_lock:
            identifier = getattr(self._client, "_identifier", None)
            if identifier is not None:
                SharedSystemClient._identifier_to_system.pop(identifier, None)
                SharedSystemClient._identifier_to_refcount.pop(identifier, None)
            self._client = None
            self._seen = {}

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
            yield CollectionInfo(
                name=name,
                documents=self.collection(name).count_records(),
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
            rows = collection.iter_records()
            key, chunks_id = self._embedder_key(), collection.identity[0]
            registry_copy.write(self.config.path, collection.name, key, rows, chunks_id)

    def registry_copy(self, name: str) -> RegistryRows | None:
        """The registry of ``name`` from its copy (closed by the caller), without Chroma.

        None when there is no exact copy: a server index, no copy, another embedder, or
        no BM25 index on disk (the next run rebuilds it from Chroma).
        """
        if self.config.host or not self._lexical(name).path.is_file():
            return None
        return registry_copy.read(self.config.path, name, self._embedder_key(), REGISTRY_SUFFIX)
