"""Whole-document summaries by map-reduce over every chunk, in order.

A summary of the top few retrieved chunks is a summary of whatever the question happened
to match. Here every chunk of the document is read: consecutive chunks are packed into
parts that fit the model's context (map), each part is summarized with its page range,
and the notes are combined, in as many rounds as the context requires (reduce). Page
references are attached to each note by the code, not left to the model, so they
survive the reduce even when the model drops them.

A summary is model text shown to a person, so like an answer it carries no links, images
or HTML (``rag.markup``): a document that asks for them gets plain text. Each note is
made inert as it comes back, before it is shown or fed to the next round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from langchain_core.messages import BaseMessage

from models.chat import ChatBackend
from models.embedder import Embedder
from models.errors import DocentError
from rag.filters import Filters
from rag.markup import neutralize
from rag.prompts import SUMMARY_COMBINE, SUMMARY_PART
from rag.store import Collection
from rag.summary_check import SummaryChecker
from rag.types import Length

POINTS: dict[Length, int] = {"short": 3, "medium": 6, "detailed": 12}
_NOTHING = "NONE"
_NONE_SUPPORTED = "No point the model wrote is supported by the document's pages."
_PROMPT_RESERVE = 160
# While the model writes, the step's progress is reported again this often.
_BEAT_SECONDS = 0.5

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Part:
    """A run of consecutive chunks summarized together."""

    text: str
    first_page: int
    last_page: int

    @property
    def pages(self) -> str:
        """The page reference of this part, e.g. "p. 3" or "pp. 3-5"."""
        if not self.first_page:
            return ""
        if self.first_page == self.last_page:
            return f"p. {self.first_page}"
        return f"pp. {self.first_page}-{self.last_page}"


@dataclass
class Summary:
    """A document's summary with the page ranges each note came from."""

    doc_id: str
    source: str
    title: str
    text: str
    length: Length
    focus: str = ""
    parts: int = 0
    calls: int = 0
    notes: list[str] = field(default_factory=list)
    part_pages: list[str] = field(default_factory=list)
    checked: bool = False
    unsupported: list[str] = field(default_factory=list)


class Summarizer:
    """Summarizes whole documents with a chat backend."""

    def __init__(self, backend: ChatBackend, embedder: Embedder | None = None) -> None:
        self.backend = backend
        # With the embedder, every point is checked against its pages (rag.summary_check).
        self.checker = SummaryChecker(embedder) if embedder is not None else None

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
        parts = self._parts(collection, Filters(documents=(record.doc_id,), labels=labels))
        summary = Summary(record.doc_id, record.source, record.title, "", length, focus)
        summary.parts = len(parts)
        summary.part_pages = [part.pages for part in parts]
        notes = self._map(parts, record.title, length, focus, summary, progress)
        summary.notes = notes
        text = self._reduce(notes, record.title, length, focus, summary, progress)
        summary.text = self._final(text, notes) if notes or not summary.unsupported else ""
        if summary.unsupported and not notes:
            summary.text = _NONE_SUPPORTED
        return summary

    def _final(self, text: str, notes: list[str]) -> str:
        """The combined summary's points its checked notes support (the notes if none)."""
        if self.checker is None or not notes or len(notes) == 1:
            return text
        kept = self.checker.check(text, notes).kept
        return "\n".join(f"- {point}" for point in kept) if kept else "\n".join(notes)

    def _budget(self) -> int:
        config = self.backend.config
        return config.context_tokens - config.max_answer_tokens - _PROMPT_RESERVE

    def _parts(self, collection: Collection, filters: Filters) -> list[Part]:
        parts: list[Part] = []
        texts: list[str] = []
        pages: list[int] = []
        used = 0
        for chunk in collection.document_chunks(filters):
            tokens = self.backend.count_tokens(chunk.text)
            if texts and used + tokens > self._budget():
                parts.append(Part("\n\n".join(texts), min(pages), max(pages)))
                texts, pages, used = [], [], 0
            texts.append(chunk.text)
            pages.append(chunk.page)
            used += tokens
        if texts:
            parts.append(Part("\n\n".join(texts), min(pages), max(pages)))
        return parts

    def _map(
        self,
        parts: list[Part],
        title: str,
        length: Length,
        focus: str,
        summary: Summary,
        progress: ProgressCallback | None,
    ) -> list[str]:
        steps = len(parts) + 1
        notes: list[str] = []
        for index, part in enumerate(parts, start=1):
            step = f"reading part {index} of {len(parts)} ({part.pages})"
            beat = partial(progress, index, steps, step) if progress else None
            if beat:
                beat()
            messages = SUMMARY_PART.invoke(
                {
                    "points": max(2, POINTS[length] // 2),
                    "focus": _focus(focus),
                    "title": title,
                    "pages": part.pages or "the text",
                    "text": part.text,
                }
            ).to_messages()
            note = self._write(messages, beat)
            summary.calls += 1
            if note and _NOTHING not in note[:12].upper():
                notes.extend(self._checked(note, part, summary))
        return notes

    def _checked(self, note: str, part: Part, summary: Summary) -> list[str]:
        """The note's points its part supports, each with the part's pages."""
        if self.checker is None:
            return [f"{note} ({part.pages})" if part.pages else note]
        summary.checked = True
        result = self.checker.check(note, [part.text])
        where = f" ({part.pages})" if part.pages else ""
        summary.unsupported += [f"{point}{where}" for point in result.unsupported]
        return [f"- {point}{where}" for point in result.kept]

    def _reduce(
        self,
        notes: list[str],
        title: str,
        length: Length,
        focus: str,
        summary: Summary,
        progress: ProgressCallback | None,
    ) -> str:
        if not notes:
            return "The document has nothing on this." if focus else ""
        while True:
            groups = self._pack(notes)
            if len(groups) == len(notes) > 1:
                # No two notes fit together: clip them so that each round halves their number.
                half = self._budget() // 2
                notes = [self._clip(note, half) for note in notes]
                groups = [notes[i : i + 2] for i in range(0, len(notes), 2)]
            step, steps = f"combining {len(notes)} notes", summary.parts + 1
            beat = partial(progress, steps, steps, step) if progress else None
            if beat:
                beat()
            combined = [
                self._combine(group, title, length, focus, summary, beat) for group in groups
            ]
            if len(combined) == 1:
                return combined[0]
            notes = combined

    def _pack(self, notes: list[str]) -> list[list[str]]:
        groups: list[list[str]] = [[]]
        used = 0
        for note in notes:
            tokens = self.backend.count_tokens(note)
            if groups[-1] and used + tokens > self._budget():
                groups.append([])
                used = 0
            groups[-1].append(note)
            used += tokens
        return groups

    def _clip(self, note: str, tokens: int) -> str:
        """Shorten a note to about ``tokens``, at a sentence end when there is one."""
        while self.backend.count_tokens(note) > tokens and len(note) > 40:
            cut = note[: int(len(note) * 0.8)]
            note = cut[: cut.rfind(". ") + 1] if ". " in cut else cut
        return note

    def _combine(
        self,
        group: list[str],
        title: str,
        length: Length,
        focus: str,
        summary: Summary,
        beat: Callable[[], None] | None,
    ) -> str:
        if len(group) == 1 and summary.calls > 1:
            return group[0]
        messages = SUMMARY_COMBINE.invoke(
            {
                "points": POINTS[length],
                "focus": _focus(focus),
                "title": title,
                "text": "\n".join(f"- {note}" for note in group),
            }
        ).to_messages()
        summary.calls += 1
        return self._write(messages, beat)

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


def _focus(focus: str) -> str:
    if not focus:
        return ""
    return f" Only cover: {focus}. If the text says nothing about it, reply {_NOTHING}."
