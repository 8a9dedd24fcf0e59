"""Synthetic chunks that look like a corpus, to measure retrieval at a size it does not have.

Texts are words drawn from the corpus's own word frequencies (so BM25 posting lists grow
as they would), vectors are two real chunk vectors plus noise, normalized (so they lie
where real vectors lie, not uniformly on the sphere where an HNSW search is easier). Each
carries its collection's name as access label, as ingest gives a document without
``--label``, so a reader's label filter matches them as it matches real chunks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np

from rag.store import Collection
from rag.types import Chunk

CHUNKS_PER_DOCUMENT = 50
# Bump when synthetic chunks change: a scaled index kept by ``--work`` is then rebuilt.
VERSION = 2


def synthetic_batches(
    collection: Collection, count: int, batch: int = 2000, seed: int = 7
) -> Iterator[tuple[list[Chunk], np.ndarray]]:
    """Chunks and vectors that look like the corpus: its word frequencies, its vectors mixed."""
    stored = collection.chroma.get(include=["documents", "embeddings"])
    vocabulary = Counter(w for text in stored["documents"] or [] for w in text.split())
    tokens = np.array(list(vocabulary), dtype=object)
    weights = np.array([vocabulary[t] for t in tokens], dtype=np.float64)
    weights /= weights.sum()
    real = np.asarray(stored["embeddings"], dtype=np.float32)
    rng = np.random.default_rng(seed)
    labels = (collection.name,)
    for start in range(0, count, batch):
        size = min(batch, count - start)
        chunks = [_synthetic_chunk(start + i, rng, tokens, weights, labels) for i in range(size)]
        pairs = rng.integers(0, len(real), size=(size, 2))
        vectors = real[pairs[:, 0]] + real[pairs[:, 1]] + rng.normal(0, 0.05, (size, real.shape[1]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield chunks, vectors.astype(np.float32)


def _synthetic_chunk(
    n: int, rng: np.random.Generator, tokens: np.ndarray, p: np.ndarray, labels: tuple[str, ...]
) -> Chunk:
    text = " ".join(tokens[rng.choice(len(tokens), size=int(rng.integers(80, 200)), p=p)])
    doc, position = f"synthetic{n // CHUNKS_PER_DOCUMENT:06d}", n % CHUNKS_PER_DOCUMENT
    return Chunk(
        id=f"{doc}:{position:05d}",
        text=text,
        embed_text=text,
        doc_id=doc,
        position=position,
        source=f"synthetic/{doc}.txt",
        title=doc,
        page=0,
        heading="",
        char_start=0,
        char_end=len(text),
        labels=labels,
    )
