"""The sentence-transformers embedder, loaded offline from packaged weights.

``Embedder`` is a LangChain ``Embeddings`` so the rest of the stack (Chroma, retrievers)
can use it directly. Importing sentence-transformers takes seconds, so the model is loaded
lazily, and ``start_loading()`` lets an entry point warm it in the background while it
does other work (scanning files, parsing). Token counting uses the model's own fast
tokenizer without importing torch, so chunking never waits for the model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from tokenizers import Tokenizer

from models.errors import WeightsError
from models.weights import (
    EMBEDDER_MAX_TOKENS,
    EMBEDDER_SHA256,
    EMBEDDER_WEIGHTS_FILE,
    packaged_embedder_dir,
    verify_weights,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EmbedderBackend = Literal["torch", "onnx-int8"]

EMBEDDER_NAME = "all-MiniLM-L6-v2"
EMBEDDER_DIMENSION = 384


@dataclass(frozen=True)
class EmbedderConfig:
    """How to load the embedder.

    Attributes:
        model_dir: A sentence-transformers model folder; None for the packaged all-MiniLM-L6-v2.
        sha256: Pinned sha256 of ``model.safetensors``; None accepts any file (custom models).
        batch_size: Texts embedded per forward pass (torch; the int8 backend embeds one
            text at a time).
        backend: ``onnx-int8`` (default: an int8 ONNX graph built once from the same local
            weights into ``cache_dir``; see ``models.embedder_int8``) or ``torch`` (fp32).
        cache_dir: Where derived artefacts (the int8 ONNX graph) are kept.
        sessions: ``onnx-int8`` sessions run side by side, each on its own text.
        threads: Intra-op threads of each ``onnx-int8`` session (0: one per core).
    """

    model_dir: Path | None = None
    sha256: str | None = EMBEDDER_SHA256
    batch_size: int = 32
    backend: EmbedderBackend = "onnx-int8"
    cache_dir: Path = Path("data/models")
    sessions: int = 2
    threads: int = 1

    def resolved_dir(self) -> Path:
        """The model folder actually used."""
        return self.model_dir if self.model_dir is not None else packaged_embedder_dir()


class TokenCounter:
    """Counts the embedder's word pieces with its fast tokenizer, without torch."""

    def __init__(self, model_dir: Path) -> None:
        path = model_dir / "tokenizer.json"
        if not path.is_file():
            raise WeightsError(
                f"Tokenizer not found at {path}.", hint="reinstall the weights package"
            )
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def offsets(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of each word piece of each text (special tokens excluded)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [list(encoding.offsets) for encoding in encodings]

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each text, special tokens excluded."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]


class Embedder(Embeddings):
    """all-MiniLM-L6-v2 (or another local sentence-transformers model) as LangChain Embeddings.

    Vectors are L2-normalized float32, so cosine similarity is a dot product.
    """

    def __init__(self, config: EmbedderConfig | None = None) -> None:
        self.config = config or EmbedderConfig()
        self.model_dir = self.config.resolved_dir()
        self.name = EMBEDDER_NAME if self.config.model_dir is None else self.model_dir.name
        self._model: SentenceTransformer | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self.tokens = TokenCounter(self.model_dir)

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads per text, special tokens included."""
        return EMBEDDER_MAX_TOKENS

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        return EMBEDDER_DIMENSION

    def start_loading(self) -> None:
        """Load the model in a background thread; later calls wait for it."""
        with self._lock:
            if self._model is not None or self._loader is not None:
                return
            # Not a daemon: a run that ends while the model loads (every file it parsed
            # failed) waits for the load at exit. Python stops a daemon thread at exit when
            # it next takes the GIL, and onnxruntime's session constructor, caught there
            # mid-call, aborts the process ("terminate called without an active exception").
            self._loader = threading.Thread(target=self._load_guarded, name="embedder-load")
            self._loader.start()

    def _load_guarded(self) -> None:
        try:
            model = self._load()
        except BaseException as error:  # handed to the caller that waits for the model
            self._error = error
            return
        self._model = model

    def _load(self) -> SentenceTransformer:
        verify_weights(self.model_dir / EMBEDDER_WEIGHTS_FILE, self.config.sha256)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        # onnxruntime looks up a Microsoft telemetry host unless this is set before its import.
        os.environ["ORT_DISABLE_TELEMETRY"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if self.config.backend == "onnx-int8":
            from models.embedder_int8 import int8_encoder

            encoder = int8_encoder(
                self.model_dir,
                self.config.cache_dir,
                self.max_tokens,
                self.config.sessions,
                self.config.threads,
            )
            return encoder  # type: ignore[return-value]
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    def model(self) -> SentenceTransformer:
        """The loaded model, loading it now if no background load was started."""
        self.start_loading()
        assert self._loader is not None
        self._loader.join()
        if self._error is not None:
            raise self._error
        assert self._model is not None
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, dimension) float32 array of unit vectors.

        The int8 backend embeds one text at a time. For torch, batches are formed by token
        count (sentence-transformers would sort by characters, which pads code and tables
        badly), so the texts of a batch are about as long.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model, size = self.model(), self.config.batch_size
        if self.config.backend == "onnx-int8":
            return np.asarray(model.encode(list(texts)), dtype=np.float32)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        counts = self.tokens.count(texts) if len(texts) > size else [0] * len(texts)
        order = sorted(range(len(texts)), key=counts.__getitem__)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            vectors[rows] = model.encode(
                [texts[i] for i in rows],
                batch_size=size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (LangChain interface)."""
        vectors: list[list[float]] = self.encode(texts).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (LangChain interface)."""
        vector: list[float] = self.encode([text])[0].tolist()
        return vector
