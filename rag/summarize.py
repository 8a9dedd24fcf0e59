"""Whole-document summaries: the outline, each part by its own words or a checked model's.

A summary follows the document's outline (``rag.digest``): its top-level parts, the
largest few for ``short``, nearly all for ``detailed``, those nearest to the focus when
one is given. Each part is shown by its central sentences, quoted with their pages as
answer units (lists with their lead-in, table rows with their header). That extractive
summary needs no model and takes seconds; it is the summary with the packaged SmolLM2,
whose own points fail the check against the pages almost every time.

With a capable model (``SummaryConfig.mode``: ``auto`` asks any model but the packaged
one), the model summarizes each part from that part's text, and every point it writes is
checked against that text (``rag.summary_check``); a part whose points all fail is shown
by its quotes, and the summary says which parts were. Page references come from the
code, never from the model.

A summary is shown to a person, so like an answer it carries no links, images or HTML:
quotes are shown as safe Markdown (``rag.layout``) and model text is made inert
(``rag.markup``) and escaped before anything else sees it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
from langchain_core.messages import BaseMessage

from models.chat import ChatBackend
from models.embedder import Embedder
from models.errors import DocentError
from rag.digest import (
    PARTS,
    Candidate,
    Extractor,
    Part,
    Point,
    chosen,
    focus_scores,
    focused,
    nearest_chunks,
    outline,
    part_vectors,
    points_per_part,
    prose,
)
from rag.filters import Filters
from rag.layout import inline
from rag.markup import neutralize
from rag.prompts import SUMMARY_PART
from rag.store import Collection
from rag.summary_check import SummaryChecker
from rag.types import Length

SummaryMode = Literal["auto", "quotes", "model"]
# After this many parts in a row whose points all failed the check, the rest is quoted.
GIVE_UP_AFTER = 3
# A focus is a few words, not a question: its cosine to the passage about it is lower
# than a question's (measured in bench/summaries.py).
FOCUS_GATE = 0.25
_NOTHING = "NONE"
_NOTHING_ON_FOCUS = "The document has nothing on this."
_EMPTY = "The document has no text to summarize."
_PROMPT_RESERVE = 160
# While the model writes, the step's progress is reported again this often.
_BEAT_SECONDS = 0.5

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SummaryConfig:
    """How summaries are made.

    Attributes:
        mode: ``quotes``: each part by its central sentences, no model asked. ``model``:
            the chat model summarizes each part, its points checked against the part,
            quotes where they all fail. ``auto``: ``quotes`` with the packaged SmolLM2,
            ``model`` with any other model.
        unit_words: Most words of a quoted point (a longer one ends in "...").
        focus_gate: With a focus, the least cosine of a part's nearest passage to it.
    """

    mode: SummaryMode = "auto"
    unit_words: int = 80
    focus_gate: float = FOCUS_GATE


@dataclass
class SummaryPart:
    """One part of the outline as the summary shows it.

    Attributes:
        heading: The part's heading ("" for a run of pages of a document without headings).
        pages: Its page reference ("pp. 3-9"; "" for formats without pages).
        first_page: Its first page (0 without pages).
        last_page: Its last page.
        points: What is shown of it: quotes, or the model's checked sentences.
        fallback: The model's points for it all failed the check; its quotes are shown.
    """

    heading: str
    pages: str
    first_page: int
    last_page: int
    points: list[Point] = field(default_factory=list)
    fallback: bool = False


@dataclass
class Summary:
    """A document's summary: its outline's parts, each with its points and pages.

    Attributes:
        text: The summary as safe Markdown: each part's heading and pages, then its points.
        mode: ``quotes`` (the document's own sentences) or ``model`` (the model's checked
            points, quotes for the parts where they all failed).
        parts: Parts shown.
        outline_parts: Top-level parts of the document's outline.
        calls: Model calls made.
        sections: The parts shown, in document order.
        part_pages: Their page references.
        checked: Whether model points were checked against their pages.
        unsupported: The model's points that failed the check, with their pages.
        fallback_parts: The parts shown by quotes because the model's points all failed.
        model_stopped: The model was not asked for the last parts: its points had failed
            for ``GIVE_UP_AFTER`` parts in a row; those parts are quoted.
        seconds: Time taken.
    """

    doc_id: str
    source: str
    title: str
    text: str
    length: Length
    focus: str = ""
    mode: str = "quotes"
    parts: int = 0
    outline_parts: int = 0
    calls: int = 0
    sections: list[SummaryPart] = field(default_factory=list)
    part_pages: list[str] = field(default_factory=list)
    checked: bool = False
    unsupported: list[str] = field(default_factory=list)
    fallback_parts: list[str] = field(default_factory=list)
    model_stopped: bool = False
    seconds: float = 0.0

    def made(self) -> str:
        """How the summary was made, in words a reader takes at face value."""
        shown = f"{self.parts} of {self.outline_parts} parts of the document shown"
        if self.mode != "model":
            return f"{shown}; every point is quoted from the document with its page"
        made = f"{shown}; written by the model, each point checked against its pages"
        if self.unsupported:
            made += f" ({len(self.unsupported)} that did not hold left out)"
        if self.fallback_parts:
            made += f"; quoted where no point held: {', '.join(self.fallback_parts)}"
        if self.model_stopped:
            made += (
                f"; the model was not asked for the rest after {GIVE_UP_AFTER} parts in a row "
                "where none of its points held: the rest is quoted"
            )
        return made


class Summarizer:
    """Summarizes whole documents along their outline.

    Args:
        backend: The chat model, asked only in ``model`` mode.
        embedder: Embeds a focus (and checks model points); without it a focus is matched
            by its words and model points cannot be checked, so none are shown.
        config: The summary settings.
    """

    def __init__(
        self,
        backend: ChatBackend,
        embedder: Embedder | None = None,
        config: SummaryConfig | None = None,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.config = config or SummaryConfig()
        self.checker = SummaryChecker(embedder) if embedder is not None else None

    def uses_model(self) -> bool:
        """Whether the model writes the points (``auto``: any model but the packaged one)."""
        if self.config.mode != "auto":
            return self.config.mode == "model" and self.checker is not None
        config = self.backend.config
        packaged = config.backend == "llamacpp" and config.gguf_path is None
        return not packaged and self.checker is not None

    def summarize(
        self,
        collection: Collection,
        source: str,
        *,
        length: Length = "medium",
        focus: str = "",
        progress: ProgressCallback | None = None,
        labels: tuple[str, ...] | None = None,
    ) -> Summary:
        """Summarize the document whose source path is ``source``.

        Args:
            labels: Access control: None reads every document; otherwise only documents
                and chunks carrying one of these labels are read (as in ``Filters``).

        Raises:
            DocentError: No such document in the collection (or none the labels allow).
        """
        started = time.perf_counter()
        records = [
            r
            for r in collection.find(source)
            if r.doc_id and (labels is None or set(r.labels) & set(labels))
        ]
        if not records:
            raise DocentError(
                f"No document `{source}` in collection `{collection.name}`.",
                hint=f"see `docent docs list --collection {collection.name}`",
            )
        record = records[0]
        filters = Filters(documents=(record.doc_id,), labels=labels)
        use_model = self.uses_model()
        summary = Summary(record.doc_id, record.source, record.title, "", length, focus)
        summary.mode = "model" if use_model else "quotes"
        chunks = collection.document_chunks(filters)
        parts = outline(chunks, record.title)
        summary.outline_parts = len(parts)
        pages = [c.page for c in chunks if c.page]
        where = f" (pp. {min(pages)}-{max(pages)})" if pages else ""
        extractor = Extractor(self.config.unit_words)
        extractor.learn(parts)
        shown, boost = self._shown(collection, filters, parts, length, focus, record.title)
        each = points_per_part(length, len(shown))
        steps = len(shown) + 1
        failing = 0
        if progress:
            progress(1, steps, f"reading the outline{where}")
        for index, part in enumerate(shown, start=1):
            step = f"part {index} of {len(shown)}: {part.label}"
            if part.heading and part.pages:
                step += f" ({part.pages})"
            beat = partial(progress, index + 1, steps, step) if progress else None
            if beat:
                beat()
            part_boost = boost(part) if boost else None
            part.points = extractor.points(part, each, part_boost)
            if use_model and part.points:
                self._model_points(part, each, record.title, focus, summary, beat)
                failing = failing + 1 if part.fallback else 0
                if failing >= GIVE_UP_AFTER and index < len(shown):
                    # A model none of whose points hold is not asked again and again.
                    use_model, summary.model_stopped = False, True
        shown = [part for part in shown if part.points]
        summary.sections = [
            SummaryPart(
                p.heading or p.label, p.pages, p.first_page, p.last_page, p.points, p.fallback
            )
            for p in shown
        ]
        summary.parts = len(shown)
        summary.part_pages = [part.pages for part in shown]
        summary.fallback_parts = [part.label for part in shown if part.fallback]
        summary.text = render(summary.sections) or (_NOTHING_ON_FOCUS if focus else _EMPTY)
        summary.seconds = round(time.perf_counter() - started, 3)
        return summary

    def _shown(
        self,
        collection: Collection,
        filters: Filters,
        parts: list[Part],
        length: Length,
        focus: str,
        title: str,
    ) -> tuple[list[Part], Callable[[Part], Callable[[list[Candidate]], list[float]]] | None]:
        """The parts shown and, with a focus, how each part's sentences are boosted by it."""
        if not focus.strip():
            return chosen(parts, length), None
        if self.embedder is None:
            words = {w.lower() for w in focus.split() if len(w) > 3}
            near = [p for p in parts if words & set(p.text().lower().split())]
            return chosen(near, length), None
        embedder = self.embedder
        vector = np.asarray(embedder.embed_query(focus), dtype=np.float32)
        ids, matrix = collection.vectors(filters)
        near_parts = part_vectors(
            parts, dict(zip(ids, matrix, strict=True)), embedder.encode, title
        )
        scores = focus_scores(vector, near_parts)
        shown = focused(parts, scores, self.config.focus_gate, PARTS.get(length, PARTS["medium"]))
        by_part = {id(part): mine for part, mine in zip(parts, near_parts, strict=True)}

        def boost(part: Part) -> Callable[[list[Candidate]], list[float]]:
            nearest = nearest_chunks(vector, by_part[id(part)])

            def scores_of(candidates: list[Candidate]) -> list[float]:
                near = [c for c in candidates if c.sentence.passage.id in nearest]
                if not near:
                    return [0.0] * len(candidates)
                found = embedder.encode([c.sentence.text for c in near]) @ vector
                by_start = {
                    c.sentence.doc_start: float(s) for c, s in zip(near, found, strict=True)
                }
                # Only sentences about the focus are taken (a boost above zero).
                return [max(by_start.get(c.sentence.doc_start, 0.0), 0.0) for c in candidates]

            return scores_of

        return shown, boost

    def _budget(self) -> int:
        config = self.backend.config
        return config.context_tokens - config.max_answer_tokens - _PROMPT_RESERVE

    def _part_text(self, part: Part) -> str:
        """What the model reads of a part: all of it when it fits, else its central units."""
        text = part.text()
        if self.backend.count_tokens(text) <= self._budget():
            return text
        extractor = Extractor(120)
        extractor.learn([part])
        kept: list[str] = []
        for point in extractor.points(part, 12):
            if self.backend.count_tokens("\n\n".join([*kept, point.quote])) > self._budget():
                break
            kept.append(point.quote)
        return "\n\n".join(kept) or text[: self._budget() * 3]

    def _model_points(
        self,
        part: Part,
        count: int,
        title: str,
        focus: str,
        summary: Summary,
        beat: Callable[[], None] | None,
    ) -> None:
        """The model's points for a part, each checked against what it read; the part keeps
        its quotes (``fallback``) when none holds."""
        assert self.checker is not None
        text = self._part_text(part)
        messages = SUMMARY_PART.invoke(
            {
                "points": max(2, count),
                "focus": _focus(focus),
                "title": title,
                "pages": part.pages or part.label or "the text",
                "text": text,
            }
        ).to_messages()
        note = self._write(messages, beat)
        summary.calls += 1
        if not note or _NOTHING in note[:12].upper():
            part.fallback = True
            return
        summary.checked = True
        result = self.checker.check(note, [text])
        where = f" ({part.pages})" if part.pages else ""
        summary.unsupported += [f"{point}{where}" for point in result.unsupported]
        # A line of code or a heading the model copied holds against the text, but says
        # nothing of the part: a point is a sentence.
        kept = [point for point in result.kept if prose(point)]
        summary.unsupported += [f"{p}{where}" for p in result.kept if p not in kept]
        if not kept:
            part.fallback = True
            return
        page = part.first_page
        part.points = [Point(inline(point), page, kind="model") for point in kept]

    def _write(self, messages: list[BaseMessage], beat: Callable[[], None] | None) -> str:
        """The model's reply, streamed; ``beat`` is called every half second meanwhile.

        The beat repeats the step's progress report: where the caller can be stopped
        (the UI's Stop), it stops mid-reply, and the model is released at once.
        """
        stream = self.backend.stream(messages)
        text, last = "", time.monotonic()
        try:
            for piece in stream:
                text += piece
                if beat and time.monotonic() - last >= _BEAT_SECONDS:
                    beat()
                    last = time.monotonic()
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return neutralize(text).strip()


def render(sections: list[SummaryPart]) -> str:
    """The summary as Markdown: each part's heading and pages, then its points as a list,
    each with its page."""
    blocks: list[str] = []
    for section in sections:
        if not section.points:
            continue
        title = inline(section.heading)
        blocks.append(f"**{title}**" + (f" ({section.pages})" if section.pages else ""))
        items: list[str] = []
        for point in section.points:
            items.append(_item(point, section))
        blocks.append("\n".join(items))
    return "\n\n".join(blocks)


def _item(point: Point, section: SummaryPart) -> str:
    """One point as a list item: a unit's lists, code and tables indented under it."""
    page = f"p. {point.page}" if point.page and point.kind == "quote" else ""
    lines = point.text.strip("\n").split("\n")
    if _structured(lines[0]):
        # A unit that opens with its list, code or table sits under a line of its own.
        lines = [f"From {page}:" if page else "From the document:", *lines]
    elif page:
        if _structured(lines[-1]):
            lines.append(f"({page})")
        else:
            lines[-1] = f"{lines[-1]} ({page})"
    head, *rest = lines
    body = [f"  {line}" if line else "" for line in rest]
    return "\n".join([f"- {head}", *body])


def _focus(focus: str) -> str:
    if not focus:
        return ""
    return f" Only cover: {focus}. If the text says nothing about it, reply {_NOTHING}."


_LIST_OR_BLOCK = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|```|~~~|\||>|    )")


def _structured(line: str) -> bool:
    """Whether a line of a unit's Markdown is a list item, code, a table row or a quote."""
    return bool(_LIST_OR_BLOCK.match(line))
