"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused, then de-duplicated.

Each retriever returns ``candidates`` chunks with every filter applied inside its own
store query (a Chroma ``where`` clause, the SQL of the BM25 index), so a restricted chunk
never leaves the store. The two rankings are fused by reciprocal rank fusion
(score = sum of ``1 / (rrf_k + rank)``), which needs no calibration between cosine and
BM25 scales. The fused list is then read through maximal marginal relevance over the
chunks' stored vectors, and a chunk whose text equals, or whose vector is closer than
``dedup_threshold`` to, one already seen is dropped (the same paragraph in two documents
appears once).

Every passage carries its cosine similarity to the query, computed from its stored
vector even when only the lexical side found it, because the answer chain gates on the
strength of the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rag.lexical import LexicalFilter
from rag.store import Collection, Index

Mode = Literal["hybrid", "dense", "lexical"]
# A clause no chunk satisfies: every stored chunk has a sha256 as its doc_id.
_NOTHING: dict[str, Any] = {"doc_id": {"$in": [""]}}


@dataclass(frozen=True)
class Filters:
    """Which chunks a retrieval may return.

    Attributes:
        documents: Only these doc_ids, if any are given.
        sources: Only these source paths (exact), if any are given.
        page_from: Lowest page, inclusive (pages are 0 for formats without pages).
        page_to: Highest page, inclusive.
        labels: Access control: None for no restriction; otherwise a chunk must carry at
            least one of these labels (so ``()`` allows nothing, and unlabeled documents
            are only visible without a restriction).
    """

    documents: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    page_from: int | None = None
    page_to: int | None = None
    labels: tuple[str, ...] | None = None

    def where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause for these filters, or None when nothing is filtered."""
        clauses: list[dict[str, Any]] = []
        if self.documents:
            clauses.append({"doc_id": {"$in": list(self.documents)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.page_from is not None:
            clauses.append({"page": {"$gte": self.page_from}})
        if self.page_to is not None:
            clauses.append({"page": {"$lte": self.page_to}})
        if self.labels is not None:
            allowed = [{"labels": {"$contains": label}} for label in self.labels]
            clauses.append(_either(allowed) if allowed else _NOTHING)
        return _all(clauses)

    def lexical(self) -> LexicalFilter:
        """The same filters for the BM25 index."""
        return LexicalFilter(
            self.documents, self.sources, self.page_from, self.page_to, self.labels
        )


def _all(clauses: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(clauses) <= 1:
        return clauses[0] if clauses else None
    return {"$and": clauses}


def _either(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its metadata and scores.

    Attributes:
        id: The chunk id.
        text: The chunk's text, verbatim from the document.
        doc_id: sha256 of the document.
        source: Source path of the document.
        title: Document title.
        page: 1-based page, 0 for formats without pages.
        heading: The heading in effect at the start of the chunk.
        char_start: Start offset in the document text.
        char_end: End offset (exclusive) in the document text.
        position: 0-based index of the chunk in its document.
        dense: Cosine similarity to the query, also for chunks only the lexical side
            found (computed from their stored vectors).
        lexical: BM25 score, None when the lexical side did not find it.
        score: Fused (reciprocal rank fusion) score.
    """

    id: str
    text: str
    doc_id: str
    source: str
    title: str
    page: int
    heading: str
    char_start: int
    char_end: int
    position: int
    dense: float
    lexical: float | None
    score: float


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """Fuse rankings: each id scores the sum of ``1 / (k + rank)`` (rank from 1), best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return dict(sorted(scores.items(), key=lambda item: item[1], reverse=True))


@dataclass(frozen=True)
class _Candidates:
    """Fused candidates with what the store holds for them, in fused order."""

    ids: list[str]
    fused: np.ndarray
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray


class Retriever:
    """Finds the passages of a collection that answer a query.

    Args:
        index: The index to read.
        candidates: Chunks taken from each retriever before fusion.
        rrf_k: Reciprocal rank fusion constant; larger flattens the rank weights.
        mmr_lambda: Weight of relevance against novelty in maximal marginal relevance
            (1.0 keeps the fused order and only drops near-duplicates).
        dedup_threshold: Cosine between two chunk vectors above which the later one is
            dropped as a near-duplicate.
    """

    def __init__(
        self,
        index: Index,
        *,
        # Tuned by bench/retrieval.py on half of the FAQ questions (the other half, held
        # out, scores nDCG@10 0.85 against 0.80 with candidates=30, rrf_k=60, mmr=0.7).
        candidates: int = 20,
        rrf_k: int = 10,
        mmr_lambda: float = 1.0,
        dedup_threshold: float = 0.95,
    ) -> None:
        self.index = index
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.mmr_lambda = mmr_lambda
        self.dedup_threshold = dedup_threshold

    def retrieve(
        self,
        collection: str,
        query: str,
        k: int = 6,
        filters: Filters = Filters(),
        mode: Mode = "hybrid",
    ) -> list[Passage]:
        """The ``k`` best distinct passages for a query, best first.

        Args:
            collection: The collection to search.
            query: The question or search words.
            k: Most passages returned.
            filters: Restrictions, applied inside both store queries.
            mode: ``hybrid`` (dense and lexical, fused), ``dense`` or ``lexical`` only.

        Raises:
            CollectionError: The collection does not exist or has another embedder.
        """
        target = self.index.collection(collection)
        vector = np.asarray(self.index.embedder.embed_query(query), dtype=np.float32)
        where = filters.where()
        rankings: list[list[str]] = []
        bm25: dict[str, float] = {}
        if mode != "lexical":
            rankings.append(self._dense(target, vector, where))
        if mode != "dense":
            bm25 = dict(target.lexical.search(query, self.candidates, filters.lexical()))
            rankings.append(list(bm25))
        found = self._fetch(target, reciprocal_rank_fusion(rankings, self.rrf_k), where)
        if not found.ids:
            return []
        similarity = np.einsum("ij,j->i", found.vectors, vector)
        return [
            _passage(found, i, float(similarity[i]), bm25.get(found.ids[i]))
            for i in self._select(found, k)
        ]

    def _dense(self, target: Collection, vector: np.ndarray, where: Any) -> list[str]:
        result = target.chunks.query(
            query_embeddings=[vector], n_results=self.candidates, where=where, include=[]
        )
        return list(result["ids"][0])

    @staticmethod
    def _fetch(target: Collection, fused: dict[str, float], where: Any) -> _Candidates:
        """Read text, metadata and vectors of the fused candidates, keeping fused order."""
        if not fused:
            return _Candidates([], np.zeros(0), [], [], np.zeros((0, 0), dtype=np.float32))
        got = target.chunks.get(
            ids=list(fused), where=where, include=["documents", "metadatas", "embeddings"]
        )
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        texts, metas = got["documents"] or [], got["metadatas"] or []
        rows = {
            chunk_id: (text, dict(meta or {}), vector)
            for chunk_id, text, meta, vector in zip(got["ids"], texts, metas, vectors, strict=True)
        }
        # A lexical hit may name a chunk deleted since (a writer between its two stores).
        ids = [chunk_id for chunk_id in fused if chunk_id in rows]
        return _Candidates(
            ids=ids,
            fused=np.array([fused[chunk_id] for chunk_id in ids]),
            texts=[rows[chunk_id][0] for chunk_id in ids],
            metas=[rows[chunk_id][1] for chunk_id in ids],
            vectors=np.array([rows[chunk_id][2] for chunk_id in ids], dtype=np.float32),
        )

    def _select(self, found: _Candidates, k: int) -> list[int]:
        """Maximal marginal relevance over the fused list, one chunk per group of copies."""
        relevance = found.fused / found.fused.max()
        # einsum, not BLAS: a multi-threaded product this small waits on busy cores.
        overlap = np.einsum("ij,kj->ik", found.vectors, found.vectors)
        group = self._copies(found, overlap)
        chosen: list[int] = []
        taken: set[int] = set()
        remaining = list(range(len(found.ids)))
        while remaining and len(chosen) < k:
            redundancy = overlap[np.ix_(remaining, chosen)].max(axis=1) if chosen else 0.0
            gain = self.mmr_lambda * relevance[remaining] - (1 - self.mmr_lambda) * redundancy
            best = remaining.pop(int(np.argmax(gain)))
            if group[best] not in taken:
                chosen.append(best)
                taken.add(group[best])
        return chosen

    def _copies(self, found: _Candidates, overlap: np.ndarray) -> list[int]:
        """A group number per candidate: chains of equal texts or near-identical vectors.

        Grouping the whole chain (not pairs) makes what is dropped independent of which
        copy ranks first.
        """
        first_with: dict[str, int] = {}
        group = [
            first_with.setdefault(" ".join(t.split()).casefold(), i)
            for i, t in enumerate(found.texts)
        ]
        for i, j in zip(*np.nonzero(np.triu(overlap > self.dedup_threshold, 1)), strict=True):
            low, high = sorted((group[i], group[j]))
            group = [low if g == high else g for g in group]
        return group


def _passage(found: _Candidates, i: int, dense: float, lexical: float | None) -> Passage:
    meta = found.metas[i]
    return Passage(
        id=found.ids[i],
        text=found.texts[i],
        doc_id=str(meta["doc_id"]),
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        page=int(meta.get("page", 0)),
        heading=str(meta.get("heading", "")),
        char_start=int(meta.get("char_start", 0)),
        char_end=int(meta.get("char_end", 0)),
        position=int(meta.get("position", 0)),
        dense=dense,
        lexical=lexical,
        score=float(found.fused[i]),
    )
