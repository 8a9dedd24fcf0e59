"""The answer chain: condense -> retrieve -> gate -> prompt -> stream -> verify citations.

Built from LangChain runnables: ``prepare`` (condense, retrieve, build the numbered
context) and ``generate`` (prompt | streaming model). Between them stands the gate: when
the best passage is too far from the question, Docent answers that it could not find it
and shows the closest passages, without calling the model, which would otherwise invent
an answer. After the stream, every citation is checked against its source
(``rag.citations``); the ``Answer`` carries only verified citations, with quotes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import RunnableGenerator, RunnableLambda, RunnablePassthrough

from models.chat import ChatBackend
from rag.citations import CheckedSentence, CitationChecker, SourceText
from rag.condense import Turn, condense
from rag.context import Source, build_context
from rag.markup import MarkupFilter
from rag.prompts import ANSWER, NOT_FOUND, fence
from rag.retrieve import Filters, Passage, Retriever
from rag.types import GATE_THRESHOLD

Status = Literal["answered", "unverified", "not_found"]

# Room kept in the context window for the instructions and the question.
_PROMPT_RESERVE = 160


@dataclass(frozen=True)
class AnswerConfig:
    """How questions are answered.

    Attributes:
        k: Passages retrieved per question.
        gate: Best dense similarity below which the model is not asked.
        condense_with_model: Let the chat model rewrite follow-ups (for larger models).
        context_tokens: Most tokens of sources put in the prompt; the prompt's length is
            what the first token waits for on a CPU.
    """

    k: int = 6
    gate: float = GATE_THRESHOLD
    condense_with_model: bool = False
    context_tokens: int = 384


@dataclass(frozen=True)
class Citation:
    """A verified pointer from an answer to the passage that supports it."""

    number: int
    source: str
    title: str
    page: int
    doc_id: str
    quote: str
    char_start: int
    char_end: int
    attributed: bool = False


@dataclass
class Answer:
    """The outcome of a question.

    Attributes:
        question: As asked.
        query: The standalone question retrieval used.
        text: The answer with verified citations only.
        status: answered (at least one verified citation), unverified (none), or not_found.
        citations: Verified citations, by source number.
        rejected: Citation numbers the model gave that its sources do not support.
        evidence: The numbered sources shown to the model (or the closest passages).
        model: The chat backend and model.
        raw: The model's text as streamed, with links, images and HTML neutralized
            (``rag.markup``): a document may tell the model to write them.
        timings: Seconds spent per step (condense, retrieve, first_token, generate, verify, total).
    """

    question: str
    query: str
    text: str
    status: Status
    citations: list[Citation] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    evidence: list[Source] = field(default_factory=list)
    model: str = ""
    raw: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class AnswerChain:
    """Answers questions about a collection with verified page citations."""

    def __init__(
        self, retriever: Retriever, backend: ChatBackend, config: AnswerConfig | None = None
    ) -> None:
        self.retriever = retriever
        self.backend = backend
        self.config = config or AnswerConfig()
        self.checker = CitationChecker(retriever.index.embedder)
        self.prepare = (
            RunnablePassthrough.assign(query=RunnableLambda(self._condense))
            | RunnablePassthrough.assign(passages=RunnableLambda(self._retrieve))
            | RunnablePassthrough.assign(sources=RunnableLambda(self._context))
        )
        self.generate = ANSWER | RunnableGenerator(self._stream_model)

    def _condense(self, inputs: dict[str, Any]) -> str:
        backend = self.backend if self.config.condense_with_model else None
        return condense(inputs["question"], inputs["history"], backend)

    def _retrieve(self, inputs: dict[str, Any]) -> list[Passage]:
        return self.retriever.retrieve(
            inputs["collection"], inputs["query"], k=self.config.k, filters=inputs["filters"]
        )

    def _context(self, inputs: dict[str, Any]) -> list[Source]:
        # Passages below the gate are weak evidence: they only distract a small model.
        strong = [p for p in inputs["passages"] if (p.dense or 0.0) >= self.config.gate]
        window = (
            self.backend.config.context_tokens
            - self.backend.config.max_answer_tokens
            - _PROMPT_RESERVE
            - self.backend.count_tokens(inputs["question"])
        )
        budget = min(window, self.config.context_tokens)
        return build_context(strong, budget, self.backend.count_tokens)

    def _stream_model(self, prompts: Iterator[PromptValue]) -> Iterator[str]:
        for prompt in prompts:
            yield from self.backend.stream(prompt.to_messages())

    def stream(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
    ) -> Iterator[str | Answer]:
        """Answer a question: yields the model's text as it streams, then the ``Answer``."""
        clock = _Clock()
        state = self.prepare.invoke(
            {
                "collection": collection,
                "question": question,
                "history": list(history),
                "filters": filters or Filters(),
            }
        )
        clock.lap("retrieve")
        passages: list[Passage] = state["passages"]
        best = max((p.dense for p in passages if p.dense is not None), default=0.0)
        if best < self.config.gate or not state["sources"]:
            evidence = build_context(passages[:3], 10**6, self.backend.count_tokens)
            yield self._finish(state, NOT_FOUND, "not_found", [], evidence, clock)
            return
        shown: list[str] = []
        markup = MarkupFilter()
        inputs = {"sources": _numbered(state["sources"]), "question": question}
        for token in self.generate.stream(inputs):
            if "first_token" not in clock.laps:
                clock.lap("first_token")
            if text := markup.feed(token):
                shown.append(text)
                yield text
        if text := markup.close():
            shown.append(text)
            yield text
        clock.lap("generate")
        raw = "".join(shown).strip()
        yield self._verified(state, raw, clock)

    def ask(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
    ) -> Answer:
        """Answer a question without streaming."""
        final = list(self.stream(collection, question, history, filters))[-1]
        assert isinstance(final, Answer)
        return final

    def _verified(self, state: dict[str, Any], raw: str, clock: _Clock) -> Answer:
        sources: list[Source] = state["sources"]
        if not raw or NOT_FOUND.lower().rstrip(".") in raw.lower():
            return self._finish(state, NOT_FOUND, "not_found", [], sources, clock, raw)
        texts = [SourceText(s.number, s.text) for s in sources]
        checked = self.checker.check(raw, texts, state["question"])
        clock.lap("verify")
        answer = self._finish(state, _render(checked), "answered", checked, sources, clock, raw)
        if not answer.citations:
            answer.status = "unverified"
        return answer

    def _finish(
        self,
        state: dict[str, Any],
        text: str,
        status: Status,
        checked: list[CheckedSentence],
        evidence: list[Source],
        clock: _Clock,
        raw: str = "",
    ) -> Answer:
        by_number = {source.number: source for source in evidence}
        citations: dict[int, Citation] = {}
        for sentence in checked:
            for support in sentence.verified:
                source = by_number[support.number]
                quote = source.text[support.quote_start : support.quote_end]
                citations.setdefault(
                    support.number,
                    Citation(
                        number=support.number,
                        source=source.source,
                        title=source.title,
                        page=source.page,
                        doc_id=source.passages[0].doc_id,
                        quote=quote,
                        char_start=source.char_start + support.quote_start,
                        char_end=source.char_start + support.quote_end,
                        attributed=sentence.attributed,
                    ),
                )
        rejected = sorted({n for sentence in checked for n in sentence.rejected})
        return Answer(
            question=state["question"],
            query=state["query"],
            text=text,
            status=status,
            citations=[citations[n] for n in sorted(citations)],
            rejected=rejected,
            evidence=evidence,
            model=self.backend.name,
            raw=raw,
            timings=clock.finish(),
        )


def _numbered(sources: list[Source]) -> str:
    blocks = [
        f"[{s.number}] {s.title}" + (f", page {s.page}" if s.page else "") + f"\n{fence(s.text)}"
        for s in sources
    ]
    return "\n\n".join(blocks)


def _render(checked: list[CheckedSentence]) -> str:
    """The answer with each sentence followed by its verified citations only."""
    parts = []
    for sentence in checked:
        marks = "".join(f"[{n}]" for n in sorted({s.number for s in sentence.verified}))
        parts.append(f"{sentence.text} {marks}".strip() if marks else sentence.text)
    return " ".join(parts)


class _Clock:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        if name == "first_token":
            self.laps[name] = round(now - self.started, 3)
            return
        self.last = now

    def finish(self) -> dict[str, float]:
        self.laps["total"] = round(time.perf_counter() - self.started, 3)
        return dict(self.laps)
