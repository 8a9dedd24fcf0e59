"""Chroma's view of Docent's embedder (imports chromadb: only where a client is opened)."""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from models.embedder import Embedder
from models.errors import DocentError


@register_embedding_function
class DocentEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma's view of Docent's embedder.

    Passed on every collection open so that Chroma never falls back to its default
    function, which would try to download an ONNX model.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 (Chroma's signature)
        if self._embedder is None:
            raise DocentError(
                "This collection embeds with Docent's embedder.",
                hint="open it through Docent (docent or the Python API), not a bare Chroma client",
            )
        return list(self._embedder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "docent"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._embedder.name if self._embedder else ""}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> DocentEmbeddingFunction:
        return DocentEmbeddingFunction(None)
