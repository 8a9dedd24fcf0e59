"""In-domain unanswerables on a site's own documents: questions whose section is removed.

A question written to be unanswerable is usually far from the documents ("What is the
capital of Peru?") and easy to refuse. The hard case is a question in the documents' own
domain and wording whose answer is simply not there: the reader is then shown the
neighbouring section's sentence. ``docent eval`` measures it the way the benchmarks do
(``bench/removed.py``): a question is drafted from a section (``removed`` set, with the
section's heading), the run builds a copy of the collection without those sections, and
the question is asked there, where "not found" is the one right answer.

The copy (``<collection>-eval-cut``) is made from the index itself, for any format: the
section's span is read from the outline stored with the chunks (``Chunk.headings``: the
heading to the next heading of the same or a higher level); chunks inside it are left out,
and a chunk that straddles its edge keeps the part outside it, embedded anew. Every other
chunk keeps its stored vector, so the copy costs seconds. A question whose expected answer
is still found in the copy (the document says it twice) is not counted: it is reported as
``answer elsewhere``, by the relevance rule of ``rag.metrics`` the run itself uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.digest import outline_headings
from rag.filters import Filters
from rag.metrics import relevant_ids, words
from rag.types import Chunk

if TYPE_CHECKING:
    from app.api import Docent
    from app.eval.questions import EvalQuestion

CUT_SUFFIX = "-eval-cut"
# A straddling chunk's part outside the section shorter than this is left out too.
MIN_KEPT_CHARS = 40
_NAME_MOST = 63


@dataclass
class Cut:
    """The copy of a collection without the removed questions' sections.

    Attributes:
        collection: The copy's name.
        absent: Ids of questions whose answer the copy does not hold: asked there.
        elsewhere: Ids of questions whose answer the copy still holds (not counted).
        unplaced: Ids of questions whose section was not found in the index.
        removed_chunks: Chunks left out of the copy.
    """

    collection: str
    absent: set[str] = field(default_factory=set)
    elsewhere: set[str] = field(default_factory=set)
    unplaced: set[str] = field(default_factory=set)
    removed_chunks: int = 0


def cut_name(collection: str) -> str:
    """The name of a collection's cut copy (a valid collection name)."""
    return collection[: _NAME_MOST - len(CUT_SUFFIX)].rstrip("-_") + CUT_SUFFIX


def section_span(chunks: Sequence[Chunk], heading: str) -> tuple[int, int] | None:
    """The span of the section under ``heading`` in one document's text: from the heading
    to the next heading of the same or a higher level (None: no such heading)."""
    wanted = _folded(heading)
    headings = outline_headings(sorted(chunks, key=lambda c: c.position))
    for index, found in enumerate(headings):
        if _folded(found.text) != wanted:
            continue
        level = max(found.level, 1)
        after = (h.offset for h in headings[index + 1 :] if max(h.level, 1) <= level)
        end = next(after, max(chunk.char_end for chunk in chunks))
        return found.offset, end
    return None


def _folded(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(":.?")


def make_cut(docent: Docent, collection: str, questions: Sequence[EvalQuestion]) -> Cut:
    """Build the collection's cut copy for the ``removed`` questions (replacing an earlier
    one) and tell which questions it can be asked."""
    source = docent.index.collection(collection)
    chunks = source.stored_chunks()
    by_source: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_source.setdefault(chunk.source, []).append(chunk)
    cut = Cut(cut_name(collection))
    spans: dict[str, list[tuple[int, int]]] = {}
    placed: list[EvalQuestion] = []
    for question in questions:
        span = section_span(by_source.get(question.source, []), question.section)
        if span is None:
            cut.unplaced.add(question.id)
            continue
        spans.setdefault(question.source, []).append(span)
        placed.append(question)
    kept, fresh = _kept(chunks, spans)
    cut.removed_chunks = len(chunks) - len(kept)
    _store(docent, collection, cut.collection, kept, fresh)
    remaining = {chunk.id: words(chunk.text) for chunk in kept}
    for question in placed:
        answer = question.expected_quote
        still = bool(answer) and bool(relevant_ids(answer, remaining))
        (cut.elsewhere if still else cut.absent).add(question.id)
    return cut


def _kept(
    chunks: Sequence[Chunk], spans: dict[str, list[tuple[int, int]]]
) -> tuple[list[Chunk], set[str]]:
    """The chunks of the copy, and the ids of those trimmed at a section's edge."""
    kept: list[Chunk] = []
    fresh: set[str] = set()
    for chunk in chunks:
        text_start, text_end = chunk.char_start, chunk.char_end
        for start, end in spans.get(chunk.source, []):
            if end <= text_start or start >= text_end:
                continue
            before, after = start - text_start, text_end - end
            if before <= 0 and after <= 0:
                text_start = text_end  # wholly inside the section
                break
            # Keep the larger part outside the section.
            if before >= after:
                text_end = start
            else:
                text_start = end
        if text_end - text_start < MIN_KEPT_CHARS:
            continue
        if (text_start, text_end) == (chunk.char_start, chunk.char_end):
            kept.append(chunk)
            continue
        offset = text_start - chunk.char_start
        text = chunk.text[offset : offset + text_end - text_start]
        header = " — ".join(x for x in (chunk.title.strip(), chunk.heading.strip()) if x)
        kept.append(
            replace(
                chunk,
                text=text,
                embed_text=f"{header}\n{text}" if header else text,
                char_start=text_start,
                char_end=text_end,
                headings=tuple(h for h in chunk.headings if text_start <= h.offset < text_end),
            )
        )
        fresh.add(chunk.id)
    return kept, fresh


def _store(
    docent: Docent, collection: str, name: str, chunks: list[Chunk], fresh: set[str]
) -> None:
    """Write the copy: the kept chunks with their stored vectors (trimmed ones embedded
    anew) and the source's document records."""
    source = docent.index.collection(collection)
    if name in {info.name for info in docent.index.collections()}:
        docent.index.delete_collection(name)
    copy = docent.index.collection(name, create=True)
    stored: dict[str, np.ndarray] = {}
    ids = [chunk.id for chunk in chunks if chunk.id not in fresh]
    for start in range(0, len(ids), 1000):
        rows = source.rows(ids[start : start + 1000], Filters())
        stored.update({chunk_id: vector for chunk_id, (_, vector) in rows.items()})
    trimmed = [chunk for chunk in chunks if chunk.id in fresh]
    if trimmed:
        vectors = docent.embedder.encode([chunk.embed_text for chunk in trimmed])
        stored.update({chunk.id: vector for chunk, vector in zip(trimmed, vectors, strict=True)})
    if chunks:
        matrix = np.stack([stored[chunk.id] for chunk in chunks]).astype(np.float32)
        copy.upsert_chunks(chunks, matrix)
    copy.put_records(source.records())
