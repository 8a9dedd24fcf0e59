"""Docent's Python API: the operations of the CLI, typed, for integrators and the UI.

One ``Docent`` per process: it owns the embedder and the index client, which are costly
to create, and hands them to the rooms below.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

from app.settings import Settings
from ingest.pipeline import Ingestor, Progress
from ingest.report import IngestReport
from models.catalog import CatalogEntry, catalog, machine_ram, recommend
from models.chat import ChatBackend, chat_backend
from models.embedder import Embedder
from models.errors import DocentError
from models.weights import EMBEDDER_WEIGHTS_FILE, verify_weights
from rag.answer import Answer, AnswerChain
from rag.condense import Turn
from rag.retrieve import Filters, Retriever
from rag.store import CollectionError, CollectionInfo, Index, validate_collection_name
from rag.summarize import Length, ProgressCallback, Summarizer, Summary
from rag.types import DocumentRecord


@dataclass(frozen=True)
class Status:
    """The state of a Docent installation, for ``docent status``."""

    index: str
    collections: list[CollectionInfo]
    embedder: str
    embedder_dir: str
    embedder_backend: str
    embedder_weights: str
    versions: dict[str, str]


@dataclass(frozen=True)
class ModelsReport:
    """The model catalog, what the configured backend offers, and a recommendation."""

    backend: dict[str, str]
    problem: str
    catalog: list[CatalogEntry]
    ram_bytes: int
    recommended: CatalogEntry


class Docent:
    """The entry point to Docent's operations.

    Args:
        settings: The settings, loaded once by the caller.
        embedder: An embedder to share (tests, several ``Docent`` in one process);
            default one built from the settings.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedder_config())

    @cached_property
    def index(self) -> Index:
        """The index client."""
        return Index(self.settings.index_config(), self.embedder)

    @cached_property
    def chat(self) -> ChatBackend:
        """The chat backend (its model loads or is checked on first use)."""
        return chat_backend(self.settings.chat_config())

    @cached_property
    def answers(self) -> AnswerChain:
        """The answer chain over this index and chat backend."""
        return AnswerChain(Retriever(self.index), self.chat, self.settings.answer_config())

    def stream_answer(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
    ) -> Iterator[str | Answer]:
        """Answer a question: the model's text as it streams, then the checked ``Answer``."""
        self.index.collection(collection)
        return self.answers.stream(collection, question, history, filters)

    def ask(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question with verified citations."""
        final = list(self.stream_answer(collection, question, history, filters))[-1]
        assert isinstance(final, Answer)
        return final

    def summarize(
        self,
        collection: str,
        source: str,
        *,
        length: Length = "medium",
        focus: str = "",
        progress: ProgressCallback | None = None,
    ) -> Summary:
        """Summarize a whole document (map-reduce over all its chunks)."""
        target = self.index.collection(collection)
        return Summarizer(self.chat).summarize(
            target, source, length=length, focus=focus, progress=progress
        )

    def models(self) -> ModelsReport:
        """The catalog, the configured backend's state, and the model this machine can run."""
        try:
            self.chat.preflight()
            problem = ""
        except DocentError as error:
            problem = str(error)
        ram = machine_ram()
        return ModelsReport(self.chat.describe(), problem, catalog(), ram, recommend(ram))

    def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        labels: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Sync files and folders into a collection (see ``Ingestor.ingest``)."""
        validate_collection_name(collection)
        ingestor = Ingestor(self.index, self.settings.ingest_config())
        return ingestor.ingest(
            paths, collection, labels=labels, prune=prune, dry_run=dry_run, progress=progress
        )

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its counts."""
        return list(self.index.collections())

    def create_collection(self, name: str) -> None:
        """Create an empty collection.

        Raises:
            CollectionError: It exists already or the name is invalid.
        """
        with self.index.writer_lock():
            if any(info.name == name for info in self.index.collections()):
                raise CollectionError(f"Collection `{name}` already exists.")
            self.index.collection(name, create=True)

    def delete_collection(self, name: str) -> None:
        """Delete a collection and everything in it."""
        with self.index.writer_lock():
            self.index.delete_collection(name)

    def documents(self, collection: str) -> list[DocumentRecord]:
        """The documents of a collection."""
        return [r for r in self.index.collection(collection).records() if r.doc_id]

    def remove_document(self, collection: str, source: str) -> list[DocumentRecord]:
        """Remove the documents whose source path is ``source``; return what was removed.

        Raises:
            DocentError: No document has that source path.
        """
        with self.index.writer_lock():
            target = self.index.collection(collection)
            records = target.find(source)
            if not records:
                raise DocentError(
                    f"No document `{source}` in collection `{collection}`.",
                    hint=f"see `docent docs list --collection {collection}`",
                )
            for record in records:
                target.remove_document(record)
        return records

    def status(self) -> Status:
        """Where the index is, what it holds, and which embedder is configured."""
        config = self.settings.embedder_config()
        try:
            verify_weights(self.embedder.model_dir / EMBEDDER_WEIGHTS_FILE, config.sha256)
            weights = "verified (sha256 matches)" if config.sha256 else "present (no hash pinned)"
        except DocentError as error:
            weights = f"PROBLEM: {error}"
        versions = {"python": platform.python_version()}
        for name in ("docent", "chromadb", "sentence-transformers", "torch", "langchain-core"):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "not installed"
        return Status(
            index=self.index.location,
            collections=self.collections(),
            embedder=self.embedder.name,
            embedder_dir=str(self.embedder.model_dir),
            embedder_backend=config.backend,
            embedder_weights=weights,
            versions=versions,
        )

    def document_file(self, collection: str, source: str) -> Path | None:
        """The file a document was ingested from, if it is still there with the same size.

        Lets a reader open the original behind a citation; None when the file has moved,
        changed or was removed since it was ingested.
        """
        for record in self.index.collection(collection).find(source):
            path = Path(record.root) / record.source
            if record.doc_id and path.is_file() and path.stat().st_size == record.size:
                return path
        return None
