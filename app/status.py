"""What a Docent installation is: its index, embedder, versions and chat models.

Part of ``app.api.Docent``: ``docent status`` and ``docent models``, the Status page.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

from app.auth.accounts import User
from app.documents import DocumentOperations
from app.sync_runs import RUNS_FILE, SyncRun, SyncRuns
from models.errors import DocentError
from models.weights import EMBEDDER_WEIGHTS_FILE, verify_weights
from rag.store import CollectionInfo

if TYPE_CHECKING:
    from models.catalog import CatalogEntry


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
    chat_runtime: dict[str, str]
    scheduled: list[SyncRun]


@dataclass(frozen=True)
class ModelsReport:
    """The model catalog, what the configured backend offers, and a recommendation."""

    backend: dict[str, str]
    problem: str
    catalog: list[CatalogEntry]
    ram_bytes: int
    recommended: CatalogEntry


class StatusReports(DocumentOperations):
    """The reports of ``Docent`` on the installation (over the collections a user may read)."""

    def status(self, *, user: User | None = None) -> Status:
        """Where the index is, what it holds (what ``user`` may read), and the embedder."""
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
            collections=self.collections(user=user),
            embedder=self.embedder.name,
            embedder_dir=str(self.embedder.model_dir),
            embedder_backend=config.backend,
            embedder_weights=weights,
            versions=versions,
            chat_runtime=self._chat_runtime(),
            scheduled=self.scheduled_runs(user=user),
        )

    def scheduled_runs(self, *, user: User | None = None) -> list[SyncRun]:
        """The last run of each source ``docent scheduler`` syncs (administrators only)."""
        if user is not None and not user.is_admin:
            return []
        return SyncRuns(self.settings.data_dir / RUNS_FILE).last()

    def _chat_runtime(self) -> dict[str, str]:
        """The embedded model's CPU and llama.cpp kernels (empty for a server backend)."""
        config = self.settings.chat_config()
        if config.backend != "llamacpp":
            return {}
        from models.llama_runtime import runtime_facts

        return runtime_facts(config.runtime_dir)

    def models(self) -> ModelsReport:
        """The catalog, the configured backend's state, and the model this machine can run."""
        from models.catalog import catalog, machine_ram, recommend

        try:
            self.chat.preflight()
            problem = ""
        except DocentError as error:
            problem = str(error)
        ram = machine_ram()
        return ModelsReport(self.chat.describe(), problem, catalog(), ram, recommend(ram))
