"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused, then de-duplicated.

Each retriever returns ``candidates`` chunks with every filter applied inside its own
store query (``rag.filters``: a Chroma ``where`` clause, the SQL of the BM25 index), all
read through ``rag.store.Collection``, so a restricted chunk
never leaves the store: the texts, metadata and vectors of the candidates are read with
the same ``where`` clause. Access labels that cannot exclude anything (no chunk of the
collection lacks them all) are left out of what Chroma is sent, as its label clause is
slow; see ``_needed``. The two rankings are fused by reciprocal rank fusion
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

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from rag.duplicates import fold_duplicates, reads_better
from rag.filters import Filters as Filters  # re-exported: callers import it from here
from rag.store import Collection, Index
from rag.types import Chunk, chunk_id
from rag.types import Passage as Passage  # re-exported: callers import it from here
from rag.writes import ByWrites, Writes, settled

Mode = Literal["hybrid", "dense", "lexical"]
# A filter by documents or sources allowing at most this many chunks has them ranked by
# their exact cosine (their vectors read from Chroma) instead of Chroma's filtered search.
EXACT_LIMIT = 1000
_UNFILTERED = Filters()


def reciprocal_rank_fusion(
    rankings: list[list[str]], k: int, weights: list[float] | None = None
) -> dict[str, float]:
    """Fuse rankings: each id scores the sum of ``weight / (k + rank)`` (rank from 1; every
    weight 1 unless given, one per ranking), best first."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, found in enumerate(ranking, start=1):
            scores[found] = scores.get(found, 0.0) + weight / (k + rank)
    return dict(sorted(scores.items(), key=lambda item: item[1], reverse=True))


@dataclass(frozen=True)
class _Candidates:
    """Fused candidates with what the store holds for them, in fused order."""

    ids: list[str]
    fused: np.ndarray
    chunks: list[Chunk]
    vectors: np.ndarray


class Retriever:
    """Finds the passages of a collection that answer a query.

    Args:
        index: The index to read.
        candidates: Chunks taken from each retriever before fusion.
        rrf_k: Reciprocal rank fusion constant; larger flattens the rank weights.
        mmr_lambda: Weight of relevance against novelty in maximal marginal relevance
            (1.0 keeps the fused order and only drops near-duplicates).
        lexical_weight: Weight of the lexical ranking in the fusion (the dense one's is 1).
        dedup_threshold: Cosine between two chunk vectors above which the later one is
            dropped as a near-duplicate.
    """

    def __init__(
        self,
        index: Index,
        *,
        # Chosen by bench/fusion.py by the worst of six corpora, leave-one-corpus-out
        # (the figures: bench/README.md, "Retrieval"): dense leads, lexical lifts.
        candidates: int = 20,
        rrf_k: int = 5,
        mmr_lambda: float = 1.0,
        lexical_weight: float = 0.5,
        dedup_threshold: float = 0.95,
    ) -> None:
        self.index = index
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.mmr_lambda = mmr_lambda
        self.lexical_weight = lexical_weight
        self.dedup_threshold = dedup_threshold

    def retrieve(
        self,
        collection: str,
        query: str,
        k: int = 6,
        filters: Filters = _UNFILTERED,
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
        dense, bm25, rows = self._read(target, query, vector, filters, mode)
        weighted = [(r, w) for r, w in ((dense, 1.0), (list(bm25), self.lexical_weight)) if r]
        fused = reciprocal_rank_fusion(
            [r for r, _ in weighted], self.rrf_k, [w for _, w in weighted]
        )
        found = _candidates(fused, rows)
        if not found.ids:
            return []
        similarity = np.einsum("ij,j->i", found.vectors, vector)
        chosen, group = self._select(found, k)
        return fold_duplicates(
            [
                replace(
                    _passage(found, j, float(similarity[j]), bm25.get(found.ids[j])),
                    score=float(found.fused[i]),
                    also_in=_other_sources(found, group, j),
                )
                for i, j in ((i, _shown(found, group, i)) for i in chosen)
            ]
        )

    def following(
        self, collection: str, passage: Passage, filters: Filters = _UNFILTERED
    ) -> Passage | None:
        """The chunk after ``passage`` in its document, when ``filters`` allow it.

        An answer's unit may run on past its passage (the list a last sentence
        announces); the next chunk is read with the same filters as the question.
        """
        target = self.index.collection(collection)
        after = chunk_id(passage.doc_id, passage.position + 1)
        rows = target.rows([after], filters)
        if after not in rows:
            return None
        return passage_of(rows[after][0])

    def _read(
        self, target: Collection, query: str, vector: np.ndarray, filters: Filters, mode: Mode
    ) -> tuple[list[str], dict[str, float], dict[str, Row]]:
        """Both rankings, and the rows of their chunks, all read with the filters.

        The filters may leave out access labels that no chunk lacks (see ``_needed``);
        if the collection was written meanwhile, everything is read again with them.
        """
        before = target.writes()
        for sent in (_needed(target, filters, before), filters):
            dense = self._dense(target, vector, sent) if mode != "lexical" else []
            bm25: dict[str, float] = {}
            if mode != "dense":
                bm25 = dict(target.lexical_search(query, self.candidates, sent))
            rows = target.rows([*dense, *bm25], sent)
            if sent == filters or target.writes() == before:
                break
        return dense, bm25, rows

    def _dense(self, target: Collection, vector: np.ndarray, filters: Filters) -> list[str]:
        """The nearest chunks the filters allow.

        Chroma's filtered search walks most of the HNSW graph when few chunks pass (slow in
        a large collection: docs/architecture.md, "Decisions"), so the chunks of a filter
        by documents or sources, narrow by nature, are ranked by their exact cosine when
        few enough.
        """
        if filters.where() is not None and (filters.documents or filters.sources):
            return self._exact(target, vector, filters)
        return target.nearest(vector, self.candidates, filters)

    def _exact(self, target: Collection, vector: np.ndarray, filters: Filters) -> list[str]:
        """The nearest chunks of a narrow filter by their exact cosine, else Chroma's search."""
        ids, vectors = target.vectors(filters, limit=EXACT_LIMIT + 1)
        if len(ids) > EXACT_LIMIT:
            return target.nearest(vector, self.candidates, filters)
        if not ids:
            return []
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(vector)), 1e-12)
        cosine = np.einsum("ij,j->i", vectors, vector) / np.maximum(norms, 1e-12)
        best = np.argsort(-cosine, kind="stable")[: self.candidates]
        return [ids[i] for i in best]

    def _select(self, found: _Candidates, k: int) -> tuple[list[int], list[int]]:
        """Maximal marginal relevance over the fused list, one chunk per group of copies.

        Returns:
            The chosen candidates, best first, and each candidate's group of copies.
        """
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
        return chosen, group

    def _copies(self, found: _Candidates, overlap: np.ndarray) -> list[int]:
        """A group number per candidate: chains of equal texts or near-identical vectors.

        Grouping the whole chain (not pairs) makes what is dropped independent of which
        copy ranks first.
        """
        first_with: dict[str, int] = {}
        group = [
            first_with.setdefault(" ".join(t.split()).casefold(), i)
            for i, t in enumerate(chunk.text for chunk in found.chunks)
        ]
        for i, j in zip(*np.nonzero(np.triu(overlap > self.dedup_threshold, 1)), strict=True):
            low, high = sorted((group[i], group[j]))
            group = [low if g == high else g for g in group]
        return group


Row = tuple[Chunk, np.ndarray]
# Whether some chunk lacks every label of a grant, by collection, write count and labels.
_EXCLUDES: ByWrites[tuple[tuple[str, str], Writes, tuple[str, ...]], bool] = ByWrites(256)


def _needed(target: Collection, filters: Filters, writes: Writes) -> Filters:
    """The filters without their access labels when no chunk of the collection lacks them.

    A label clause makes Chroma read every chunk it matches from SQLite, in the search
    and in the read of the candidates (seconds at 100k chunks when a reader's grant
    covers them all); it is left out only when it cannot exclude anything: Chroma holds
    no chunk that carries none of the labels (asked once per count of the collection's
    writes; none may be in progress, and ``Retriever._read`` reads again with every
    filter if a write started meanwhile).
    """
    if not filters.labels or not settled(writes):
        return filters
    key = (target.identity, writes, filters.labels)
    excludes = _EXCLUDES.get(key)
    if excludes is None:
        excludes = target.any_lacking(filters.labels)
        if target.writes() == writes:  # else it may have seen a write half done
            _EXCLUDES.put(key, excludes)
    return filters if excludes else replace(filters, labels=None)


def _candidates(fused: dict[str, float], rows: dict[str, Row]) -> _Candidates:
    """The fused candidates with their rows, in fused order.

    A lexical hit may name a chunk deleted since (a writer between its two stores).
    """
    ids = [chunk_id for chunk_id in fused if chunk_id in rows]
    if not ids:
        return _Candidates([], np.zeros(0), [], np.zeros((0, 0), dtype=np.float32))
    return _Candidates(
        ids=ids,
        fused=np.array([fused[chunk_id] for chunk_id in ids]),
        chunks=[rows[chunk_id][0] for chunk_id in ids],
        vectors=np.array([rows[chunk_id][1] for chunk_id in ids], dtype=np.float32),
    )


def _shown(found: _Candidates, group: list[int], i: int) -> int:
    """The copy of candidate ``i`` to show, in its rank: the cleaner, or the one with a page."""
    shown = i
    for j, copy in enumerate(found.chunks):
        if group[j] == group[i] and reads_better(copy, found.chunks[shown]):
            shown = j
    return shown


def _other_sources(found: _Candidates, group: list[int], i: int) -> tuple[str, ...]:
    """The other files among the copies of candidate ``i`` left out for it ("also in")."""
    mine = found.chunks[i].source
    others = (
        found.chunks[j].source
        for j in range(len(group))
        if group[j] == group[i] and found.chunks[j].source != mine
    )
    return tuple(dict.fromkeys(others))


def _passage(found: _Candidates, i: int, dense: float, lexical: float | None) -> Passage:
    return passage_of(found.chunks[i], dense, lexical, float(found.fused[i]))


def passage_of(
    chunk: Chunk, dense: float = 0.0, lexical: float | None = None, score: float = 0.0
) -> Passage:
    """A stored chunk as a passage with these scores."""
    return Passage(
        id=chunk.id,
        text=chunk.text,
        doc_id=chunk.doc_id,
        source=chunk.source,
        title=chunk.title,
        page=chunk.page,
        heading=chunk.heading,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        position=chunk.position,
        dense=dense,
        lexical=lexical,
        score=score,
        headings=chunk.headings,
        rows=chunk.rows,
    )
