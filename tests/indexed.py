"""A Docent with a folder of test documents already ingested."""

from __future__ import annotations

from pathlib import Path

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder


def indexed(
    settings: Settings, embedder: Embedder, share: Path, collection: str = "docs"
) -> Docent:
    """A Docent on ``settings`` (and the shared embedder) with ``share`` ingested cleanly."""
    docent = Docent(settings, embedder=embedder)
    assert docent.ingest([share], collection).exit_code == 0
    return docent
