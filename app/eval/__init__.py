"""``docent eval``: answer quality measured on a site's own documents, with its own model.

``Evaluation`` is the typed API the ``docent eval`` commands call: question sets per
collection (``questions``), drafting them from the documents (``draft``), runs with their
report folders (``run``), two settings side by side (``compare``) and readers' feedback
turned into questions (``import_feedback``). Everything lives in ``<data_dir>/eval``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.eval import report as reports
from app.eval.draft import Passage, draft
from app.eval.questions import EvalQuestion, QuestionSet, QuestionSetError
from app.eval.run import OnQuestion, figures, headline, indexed_chunks, run_set, stored_chunks
from rag.metrics import words
from rag.store import validate_collection_name
from rag.types import Chunk

if TYPE_CHECKING:
    from app.api import Docent
    from app.settings import Settings


def eval_dir(settings: Settings) -> Path:
    """Where question sets, runs and feedback are kept."""
    return settings.data_dir / "eval"


@dataclass(frozen=True)
class RunResult:
    """A finished run: its report and where its folder is."""

    report: dict[str, Any]
    folder: Path
    page: Path


class Evaluation:
    """Question sets, runs and reports of one installation.

    Args:
        docent: The Docent whose settings, index and model are evaluated.
    """

    def __init__(self, docent: Docent) -> None:
        self.docent = docent
        self.root = eval_dir(docent.settings)

    def questions(self, collection: str) -> QuestionSet:
        """The question set of a collection."""
        return QuestionSet(self.root / validate_collection_name(collection))

    def draft(self, collection: str, count: int) -> list[EvalQuestion]:
        """Draft up to ``count`` new questions from the collection's documents and add them."""
        chunks = indexed_chunks(self.docent, collection)
        indexed = {f"{c.source}\x00{cid}": c.words for cid, c in chunks.items()}
        have = {q.id for q in self.questions(collection).questions()}
        drafted = [
            q
            for q in draft(self._passages(collection), indexed, count + len(have))
            if q.id not in have
        ][:count]
        self.questions(collection).add(drafted)
        return drafted

    def draft_removed(self, collection: str, count: int) -> list[EvalQuestion]:
        """Draft up to ``count`` in-domain unanswerables and add them: questions of sections
        with no sub-section of their own, to be asked without that section
        (``app.eval.removed``), spread over the documents."""
        from dataclasses import replace

        from app.eval.removed import section_span
        from rag.digest import outline_headings

        chunks = stored_chunks(self.docent, collection)
        by_source: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            by_source.setdefault(chunk.source, []).append(chunk)
        indexed = {f"{c.source}\x00{c.id}": words(c.text) for c in chunks}
        have = {q.id for q in self.questions(collection).questions()}
        found: list[EvalQuestion] = []
        for question in draft(self._passages(collection), indexed, 10 * count + len(have)):
            mine = by_source.get(question.source, [])
            span = section_span(mine, question.section) if question.section else None
            if span is None or question.note == "definition":
                continue
            inside = [h for h in outline_headings(mine) if span[0] < h.offset < span[1]]
            if inside:  # cutting a parent would cut its sub-sections' answers too
                continue
            asked = replace(question, removed=True, id="")
            if asked.id not in have:
                found.append(asked)
        step = max(1, len(found) // count) if count else 1
        chosen = found[::step][:count]
        self.questions(collection).add(chosen)
        return chosen

    def _passages(self, collection: str) -> list[Passage]:
        from ingest.document import LoaderError
        from ingest.isolation import ParseLimits, parse_isolated
        from ingest.loaders import load

        config = self.docent.settings.ingest_config()
        limits = ParseLimits(config.parse_timeout_seconds, config.parse_memory_mb << 20)
        passages: list[Passage] = []
        fallback: dict[str, list[Passage]] = {}
        for chunk in stored_chunks(self.docent, collection):
            entry = Passage(chunk.source, chunk.title, chunk.page, chunk.heading, chunk.text)
            fallback.setdefault(chunk.source, []).append(entry)
        for record in self.docent.documents(collection):
            path = self.docent.document_file(collection, record.source)
            try:
                parsed = parse_isolated(path, load, limits) if path else None
            except LoaderError:  # it no longer parses: what the index holds will do
                parsed = None
            if parsed is None:
                passages += fallback.get(record.source, [])
                continue
            passages += [
                Passage(record.source, parsed.title, s.page, s.heading, s.text)
                for s in parsed.sections
            ]
        return passages

    def run(
        self, collection: str, *, label: str = "", on_question: OnQuestion | None = None
    ) -> RunResult:
        """Run the set through Docent, write the report folder, compare with the last run.

        Raises:
            QuestionSetError: The collection has no questions yet.
        """
        asked = self.questions(collection)
        questions = asked.questions()
        if not questions:
            raise QuestionSetError(
                f"Collection `{collection}` has no eval questions.",
                hint=f"`docent eval questions draft -c {collection}` or `... add`/`... import`",
            )
        started = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        outcomes = run_set(self.docent, collection, questions, on_question)
        runs_dir = self.root / collection / "runs"
        earlier = reports.runs(runs_dir)
        name = f"{started}-{label}" if label else started
        report: dict[str, Any] = {
            "collection": collection,
            "run": name,
            "label": label,
            "set": asked.fingerprint(),
            "settings": self._settings(),
            "figures": figures(outcomes),
            "per_question": [o.to_dict() for o in outcomes],
        }
        previous = reports.load(earlier[-1]) if earlier else None
        report["previous"] = previous["run"] if previous else None
        report["changes"] = reports.changes(previous, report)
        folder = runs_dir / name
        page = reports.write(folder, report)
        return RunResult(report, folder, page)

    def _settings(self) -> dict[str, Any]:
        settings = self.docent.settings
        return {
            "model": self.docent.chat.name,
            "embedder": self.docent.embedder.name,
            "answer_k": settings.answer_k,
            "answer_gate": settings.answer_gate,
            "answer_context_tokens": settings.answer_context_tokens,
        }

    def last_runs(self, collections: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The last run's name and headline figures of each collection that has one."""
        found = {}
        for name in collections:
            earlier = reports.runs(self.root / name / "runs")
            if earlier:
                last = reports.load(earlier[-1])
                found[name] = {"run": last["run"], **headline(last)}
        return found

    def import_feedback(self, collection: str, ids: Sequence[str] = ()) -> list[EvalQuestion]:
        """Turn feedback that says where the answer is into questions of the set.

        Args:
            collection: Whose feedback and set.
            ids: Only these feedback ids (the reviewed ones); default all not yet imported.
        """
        have = {
            q.note.split()[1]
            for q in self.questions(collection).questions()
            if q.origin == "feedback"
        }
        entries = self.docent.feedback_store.entries(collection)
        chosen = [f for f in entries if (not ids or f.id in ids) and f.id not in have]
        taught = [q for q in (f.as_question() for f in chosen) if q is not None]
        self.questions(collection).add(taught)
        return taught
