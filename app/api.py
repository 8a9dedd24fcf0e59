"""Docent's Python API: the operations of the CLI, typed, for integrators and the UI.

One ``Docent`` per process: it owns the embedder and the index client, which are costly
to create, and hands them to the rooms below.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

from app.settings import Settings
from ingest.pipeline import Ingestor, Progress
from ingest.report import IngestReport
from models.embedder import Embedder
from models.errors import DocentError
from models.weights import EMBEDDER_WEIGHTS_FILE, verify_weights
from rag.store import CollectionError, CollectionInfo, Index, validate_collection_name
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
