"""Running a question set through Docent as a reader would, and scoring it.

Each question goes through ``Docent.ask`` (condense, retrieve, gate, model, citation
check: the reader's path) and, for the retrieval figures, through the same retriever for
the top 10 passages. A passage is **relevant** to a question when it is from the
question's source, on one of its pages (when pages are given), and shares a long run of
words with the expected quote (when one is given; rule in ``rag.metrics``, as the
benchmarks use it). Questions whose relevant passages the index does not hold are
reported as ``no gold in index`` and left out of the means (the benchmarks drop them).

An answer **holds the expected** answer when one of its verified citations quotes text
that lies inside a relevant passage of the same source and page.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from app.eval.questions import EvalQuestion
from rag.metrics import contains_run, nearest_rank, ranking_scores, relevant_ids, words
from rag.types import Chunk

if TYPE_CHECKING:
    from app.api import Docent
    from rag.answer import Answer

OnQuestion = Callable[["Outcome"], None]
RETRIEVAL = ("hit@1", "hit@5", "ndcg@10", "recall@5", "mrr", "gold_page@10")
HEADLINE = (
    "hit@1",
    "hit@5",
    "ndcg@10",
    "gold_page@10",
    "holds_expected",
    "verified",
    "wrong_refusals",
    "own_words_holds",
    "own_words_wrong_refusals",
    "correct_refusals",
    "in_domain_refusals",
    "p50_s",
    "p95_s",
)


@dataclass(frozen=True)
class IndexedChunk:
    """What relevance needs of a stored chunk."""

    source: str
    page: int
    words: list[str]


@dataclass
class Outcome:
    """One question's result.

    Attributes:
        question: The question as in the set.
        outcome: ``holds expected``, ``cites elsewhere``, ``unverified``, ``wrong refusal``,
            ``no gold in index`` (answerable), ``refused`` or ``answered`` (unanswerable, or
            asked without its section), ``answer elsewhere`` or ``section not found`` (asked
            without its section, but the copy still holds the answer or the section was
            not found: not counted).
        rank: 1-based rank of the first relevant passage in the top 10 (None: none).
        scores: Ranking metrics (empty when no gold or unanswerable).
        status: The answer's status.
        citations: ``(source, page)`` of each verified citation.
        latency_s: Wall time of ``Docent.ask``.
        first_token_s: Time to the model's first token (None when it was not asked).
        answer: The answer's text.
    """

    question: EvalQuestion
    outcome: str
    rank: int | None = None
    scores: dict[str, float] = field(default_factory=dict)
    status: str = ""
    citations: list[tuple[str, int]] = field(default_factory=list)
    latency_s: float = 0.0
    first_token_s: float | None = None
    answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self) | {"question": self.question.to_dict()}


def stored_chunks(docent: Docent, collection: str) -> list[Chunk]:
    """Every chunk of a collection, as the index holds it."""
    return docent.index.collection(collection).stored_chunks()


def indexed_chunks(docent: Docent, collection: str) -> dict[str, IndexedChunk]:
    """Every chunk of a collection by id, with the words relevance compares."""
    return {
        c.id: IndexedChunk(c.source, c.page, words(c.text))
        for c in stored_chunks(docent, collection)
    }


def relevant_to(question: EvalQuestion, chunks: dict[str, IndexedChunk]) -> set[str]:
    """Ids of the chunks relevant to an answerable question."""
    placed = {
        cid: chunk.words
        for cid, chunk in chunks.items()
        if chunk.source == question.source and (not question.pages or chunk.page in question.pages)
    }
    if not question.expected_quote:
        return set(placed)
    return relevant_ids(question.expected_quote, placed)


def holds_expected(answer: Answer, relevant: set[str], chunks: dict[str, IndexedChunk]) -> bool:
    """Whether a verified citation quotes text inside a relevant passage."""
    for citation in answer.citations:
        quoted = words(citation.quote)
        for cid in relevant:
            chunk = chunks[cid]
            same_place = chunk.source == citation.source and chunk.page == (citation.page or 0)
            if same_place and contains_run(chunk.words, quoted):
                return True
    return False


def ask_one(
    docent: Docent, collection: str, question: EvalQuestion, chunks: dict[str, IndexedChunk]
) -> Outcome:
    """Retrieve and answer one question; score both."""
    relevant = set() if not _answerable(question) else relevant_to(question, chunks)
    if _answerable(question) and not relevant:
        return Outcome(question, "no gold in index")
    result = Outcome(question, "")
    if relevant:
        result.rank, result.scores = retrieval_scores(docent, collection, question, relevant)
    started = time.perf_counter()
    answer = docent.ask(collection, question.question)
    result.latency_s = round(time.perf_counter() - started, 3)
    result.first_token_s = answer.timings.get("first_token")
    result.status, result.answer = answer.status, answer.text
    result.citations = [(c.source, c.page) for c in answer.citations]
    result.outcome = _outcome(question, answer, relevant, chunks)
    return result


def retrieval_scores(
    docent: Docent, collection: str, question: EvalQuestion, relevant: set[str]
) -> tuple[int | None, dict[str, float]]:
    """The rank of the first relevant passage among the top 10, and the ranking metrics."""
    top = docent.answers.retriever.retrieve(collection, question.question, 10)
    ranked = [p.id for p in top]
    scores = ranking_scores(ranked, relevant)
    scores["gold_page@10"] = float(
        any(p.source == question.source and _on_pages(p.page, question) for p in top)
    )
    return next((i + 1 for i, pid in enumerate(ranked) if pid in relevant), None), scores


def _on_pages(page: int, question: EvalQuestion) -> bool:
    return not question.pages or page in question.pages


def _outcome(
    question: EvalQuestion, answer: Answer, relevant: set[str], chunks: dict[str, IndexedChunk]
) -> str:
    if not _answerable(question):
        return "refused" if answer.status == "not_found" else "answered"
    if answer.status == "not_found":
        return "wrong refusal"
    if answer.status == "unverified":
        return "unverified"
    return "holds expected" if holds_expected(answer, relevant, chunks) else "cites elsewhere"


def run_set(
    docent: Docent,
    collection: str,
    questions: Sequence[EvalQuestion],
    on_question: OnQuestion | None = None,
) -> list[Outcome]:
    """Every question's outcome, in the set's order. Questions asked without their section
    are asked against the collection's cut copy (``app.eval.removed``), built first."""
    from app.eval.removed import make_cut

    chunks = indexed_chunks(docent, collection)
    removed = [q for q in questions if q.removed]
    cut = make_cut(docent, collection, removed) if removed else None
    outcomes = []
    for question in questions:
        if cut is None or not question.removed:
            outcome = ask_one(docent, collection, question, chunks)
        elif question.id in cut.absent:
            outcome = ask_one(docent, cut.collection, question, {})
        else:
            why = "answer elsewhere" if question.id in cut.elsewhere else "section not found"
            outcome = Outcome(question, why)
        outcomes.append(outcome)
        if on_question:
            on_question(outcome)
    return outcomes


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The overall figures of a run: retrieval, answers (also in people's own words),
    refusals (of written unanswerables, and in the documents' domain), latency."""
    scored = [o for o in outcomes if o.scores]
    answerable = [o for o in outcomes if _answerable(o.question) and o.status]
    own = [o for o in answerable if o.question.own_words]
    document = [o for o in answerable if not o.question.own_words]
    unanswerable = [o for o in outcomes if o.question.unanswerable]
    in_domain = [o for o in outcomes if o.question.removed and o.status]
    asked = [o.latency_s for o in outcomes if o.status]
    reached = [o.first_token_s for o in outcomes if o.first_token_s is not None]
    holds = lambda o: o.outcome == "holds expected"  # noqa: E731
    refused = lambda o: o.status == "not_found"  # noqa: E731
    return {
        "questions": len(outcomes),
        "drafted": sum(o.question.drafted for o in outcomes),
        "no_gold": sum(o.outcome == "no gold in index" for o in outcomes),
        "retrieval": {"n": len(scored)}
        | {m: _mean(o.scores[m] for o in scored) for m in RETRIEVAL},
        "answers": {
            "n": len(answerable),
            "holds_expected": _share(answerable, holds),
            "verified": _share(answerable, lambda o: o.status == "answered"),
            "unverified": _share(answerable, lambda o: o.status == "unverified"),
            "wrong_refusals": _share(answerable, refused),
        },
        "own_words": {
            "n_own_words": len(own),
            "own_words_holds": _share(own, holds),
            "own_words_wrong_refusals": _share(own, refused),
            "document_words_holds": _share(document, holds),
            "document_words_wrong_refusals": _share(document, refused),
        },
        "refusals": {
            "n": len(unanswerable),
            "correct_refusals": _share(unanswerable, refused),
            "n_in_domain": len(in_domain),
            "in_domain_refusals": _share(in_domain, refused),
            "in_domain_not_counted": sum(
                o.outcome in ("answer elsewhere", "section not found") for o in outcomes
            ),
        },
        "latency": _percentiles(asked, "") | _percentiles(reached, "first_token_"),
    }


def _answerable(question: EvalQuestion) -> bool:
    return not question.unanswerable and not question.removed


def headline(report: dict[str, Any]) -> dict[str, float | None]:
    """The figures a comparison shows, flattened: ``hit@5``, ``p95_s``, ..."""
    flat: dict[str, Any] = {}
    for part in ("retrieval", "answers", "own_words", "refusals", "latency"):
        flat.update(report["figures"].get(part, {}))
    return {name: flat.get(name) for name in HEADLINE}


def _mean(values: Any) -> float | None:
    collected = list(values)
    return round(statistics.fmean(collected), 4) if collected else None


def _share(outcomes: Sequence[Outcome], test: Callable[[Outcome], bool]) -> float | None:
    return round(sum(map(test, outcomes)) / len(outcomes), 4) if outcomes else None


def _percentiles(values: Sequence[float], prefix: str) -> dict[str, float]:
    if not values:
        return {}
    return {
        f"{prefix}p50_s": round(statistics.median(values), 3),
        f"{prefix}p95_s": round(nearest_rank(values, 0.95), 3),
    }
