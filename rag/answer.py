"""The answer chain: condense -> retrieve -> gate -> rank sentences -> quotes (or model).

Built from LangChain runnables: ``prepare`` (condense, then retrieve: a ``Question`` in,
a ``Standalone`` between, an ``Asked`` out) and ``generate`` (prompt | streaming model).
After retrieval stands the gate: when the best passage is too far from the question,
Docent answers that it could not find it and shows the closest passages.

An answer is made of the sources' own sentences (``rag.evidence`` ranks them,
``rag.quotes`` chooses): in the default mode ``quotes`` no model is asked, and every shown
sentence is a quote with its page, verified by construction. In mode ``model`` the chat
model writes from the whole passages (for larger models); each of its sentences is checked
against the sources (``rag.citations``) and only verified ones are shown. When none is,
or the model fails, the quotes are the answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from models.chat import ChatBackend, ChatBackendError
from rag import choose, quotes
from rag.citations import CheckedSentence, CitationChecker, SourceText, Support
from rag.citations import Citation as Citation  # its home is beside its checker
from rag.condense import Turn, condense, on_topic, topic
from rag.context import Source, build_context
from rag.evidence import RankedSentence, RankWeights, SentenceRanker, gated
from rag.markup import MarkupFilter
from rag.prompts import ANSWER, NOT_FOUND, fence
from rag.quotes import QuoteConfig
from rag.retrieve import Filters, Passage, Retriever
from rag.types import GATE_THRESHOLD

Status = Literal["answered", "unverified", "not_found"]
Mode = Literal["quotes", "choose", "model"]

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
        mode: ``quotes`` (the best sentences, no model), ``choose`` (the model picks
            among the ranked sentences, its output held to their numbers: ``rag.choose``)
            or ``model`` (the model writes, only its verified sentences are shown, the
            quotes when none is).
        quotes: How quotes are chosen.
        weights: How sentences are ranked.
    """

    k: int = 6
    gate: float = GATE_THRESHOLD
    condense_with_model: bool = False
    context_tokens: int = 384
    mode: Mode = "quotes"
    quotes: QuoteConfig = field(default_factory=QuoteConfig)
    weights: RankWeights = field(default_factory=RankWeights)


@dataclass(frozen=True)
class Question:
    """A question as the chain takes it.

    Attributes:
        collection: The collection asked about.
        question: As asked.
        history: The conversation's earlier turns, oldest first.
        filters: What retrieval may read.
    """

    collection: str
    question: str
    history: tuple[Turn, ...] = ()
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True)
class Standalone:
    """A question once condensed: what retrieval reads.

    Attributes:
        asked: The question as the chain took it.
        query: The standalone question (a follow-up with its topic brought in).
    """

    asked: Question
    query: str


@dataclass(frozen=True)
class Asked:
    """A question as the chain's steps pass it on, once its passages are retrieved.

    Attributes:
        question: As asked.
        query: The standalone question retrieval used.
        passages: The retrieved passages, best first (also those below the gate).
    """

    question: str
    query: str
    passages: list[Passage]


@dataclass(frozen=True)
class AnswerSentence:
    """One shown sentence of an answer and the checked quote behind it.

    Attributes:
        text: The sentence as shown: the quote itself, or the model's verified sentence.
        citation: Its one citation: source, page, quote and character span.
    """

    text: str
    citation: Citation


@dataclass
class Answer:
    """The outcome of a question.

    Attributes:
        question: As asked.
        query: The standalone question retrieval used.
        text: The answer: its quotes (or verified sentences), each with its number.
        status: answered (at least one verified citation), unverified (none), or not_found.
        citations: Verified citations, by number (one per quote in an answer of quotes).
        sentences: The shown sentences in order, each with its one citation.
        rejected: Citation numbers the model gave that its sources do not support.
        evidence: The numbered sources (or the closest passages).
        model: The chat backend and model ("" when no model was asked).
        raw: The model's text as streamed, with links, images and HTML neutralized
            (``rag.markup``): a document may tell the model to write them.
        made_by: ``quotes`` or ``model``: who made the shown text.
        fallback: Why the quotes were shown instead of the model's answer, or "".
        timings: Seconds spent per step (retrieve, rank, first_token, generate, verify,
            first_text, total).
    """

    question: str
    query: str
    text: str
    status: Status
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    evidence: list[Source] = field(default_factory=list)
    model: str = ""
    raw: str = ""
    made_by: str = "quotes"
    fallback: str = ""
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
        self.ranker = SentenceRanker(retriever.index.embedder, self.config.weights)
        self.prepare: Runnable[Question, Asked] = RunnableLambda(self._condense) | RunnableLambda(
            self._retrieve
        )
        self.generate = ANSWER | RunnableGenerator(self._stream_model)

    def _condense(self, asked: Question) -> Standalone:
        backend = self.backend if self.config.condense_with_model else None
        return Standalone(asked, condense(asked.question, asked.history, backend))

    def _retrieve(self, standalone: Standalone) -> Asked:
        asked, k = standalone.asked, self.config.k
        found = self.retriever.retrieve(
            asked.collection, standalone.query, k=k, filters=asked.filters
        )
        # A follow-up is short of its topic: the question before it brings it in.
        if earlier := topic(asked.question, asked.history):
            before = self.retriever.retrieve(asked.collection, earlier, k=k, filters=asked.filters)
            found = on_topic(asked.question, found, before, self.config.gate)
        return Asked(asked.question, standalone.query, found)

    def sources(self, question: str, passages: list[Passage]) -> list[Source]:
        """The numbered passages a model reads: those above the gate, within the budget."""
        strong = gated(question, passages, self.config.gate)
        window = (
            self.backend.config.context_tokens
            - self.backend.config.max_answer_tokens
            - _PROMPT_RESERVE
            - self.backend.count_tokens(question)
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
        """Answer a question: yields the answer's text as it comes, then the ``Answer``."""
        clock = _Clock()
        asked = self.prepare.invoke(
            Question(collection, question, tuple(history), filters or Filters())
        )
        clock.lap("retrieve")
        passages = asked.passages
        strong = gated(asked.query, passages, self.config.gate)
        ranked = self.ranker.rank(asked.query, strong) if strong else []
        refused = quotes.refusal(asked.query, passages, ranked, self.config.quotes)
        chosen = [] if refused else quotes.choose(ranked, self.config.quotes)
        clock.lap("rank")
        if not chosen:
            yield self._not_found(asked, passages, clock)
            return
        if self.config.mode == "model":
            yield from self._from_model(asked, strong, chosen, clock)
            return
        raw = fallback = ""
        if self.config.mode == "choose":
            chosen, raw, fallback = self._chosen(asked.question, ranked, chosen)
        final = self._quoted(asked, chosen, clock, raw, fallback)
        yield final.text
        yield final

    def _chosen(
        self, question: str, ranked: list[RankedSentence], chosen: list[RankedSentence]
    ) -> tuple[list[RankedSentence], str, str]:
        """The model's choice among the ranked sentences; the ranked quotes if it fails."""
        try:
            picked, reply = choose.choose(self.backend, question, ranked, self.config.quotes.most)
        except ChatBackendError as error:
            return chosen, "", f"the model failed: {error}"
        return picked, reply, ""

    def _not_found(self, asked: Asked, passages: list[Passage], clock: _Clock) -> Answer:
        # No budget to keep: any counter will do, and the model's would load the model.
        evidence = build_context(passages[:3], 10**6, len)
        return self._finish(asked, NOT_FOUND, "not_found", [], evidence, clock)

    def _quoted(
        self,
        asked: Asked,
        chosen: list[RankedSentence],
        clock: _Clock,
        raw: str = "",
        fallback: str = "",
    ) -> Answer:
        """The answer made of the chosen quotes, one numbered source each."""
        evidence = [quotes.quote_source(n, r) for n, r in enumerate(chosen, start=1)]
        cited = [
            _quote_citation(source, ranked) for source, ranked in zip(evidence, chosen, strict=True)
        ]
        clock.lap("first_text")
        text = quotes.quoted_text([c.quote for c in cited])
        answer = self._finish(asked, text, "answered", [], evidence, clock, raw)
        answer.citations, answer.fallback = cited, fallback
        answer.sentences = [AnswerSentence(quotes.shown(c.quote), c) for c in cited]
        return answer

    def _from_model(
        self,
        asked: Asked,
        strong: list[Passage],
        chosen: list[RankedSentence],
        clock: _Clock,
    ) -> Iterator[str | Answer]:
        """The model's answer, checked; the quotes when it fails or nothing verifies."""
        sources = self.sources(asked.question, strong)
        shown: list[str] = []
        markup = MarkupFilter()
        inputs = {"sources": _numbered(sources), "question": asked.question}
        try:
            for token in self.generate.stream(inputs):
                if "first_token" not in clock.laps:
                    clock.lap("first_token")
                if text := markup.feed(token):
                    shown.append(text)
                    yield text
        except ChatBackendError as error:
            clock.lap("generate")
            yield self._quoted(asked, chosen, clock, "".join(shown), f"the model failed: {error}")
            return
        if text := markup.close():
            shown.append(text)
            yield text
        clock.lap("generate")
        raw = "".join(shown).strip()
        answer = self._verified(asked, raw, sources, clock)
        if answer.status == "answered":
            yield answer
            return
        why = "the model found no answer" if answer.status == "not_found" else "none verified"
        quoted = self._quoted(asked, chosen, clock, raw, f"the model's sentences: {why}")
        quoted.rejected = answer.rejected
        yield quoted

    def _verified(self, asked: Asked, raw: str, sources: list[Source], clock: _Clock) -> Answer:
        if not raw or NOT_FOUND.lower().rstrip(".") in raw.lower():
            return self._finish(asked, NOT_FOUND, "not_found", [], sources, clock, raw)
        texts = [SourceText(s.number, s.text) for s in sources]
        checked = self.checker.check(raw, texts, asked.question)
        clock.lap("verify")
        answer = self._finish(asked, _render(checked), "answered", checked, sources, clock, raw)
        answer.made_by = "model"
        if not answer.citations:
            answer.status = "unverified"
        return answer

    def _finish(
        self,
        asked: Asked,
        text: str,
        status: Status,
        checked: list[CheckedSentence],
        evidence: list[Source],
        clock: _Clock,
        raw: str = "",
    ) -> Answer:
        by_number = {source.number: source for source in evidence}
        citations: dict[int, Citation] = {}
        sentences: list[AnswerSentence] = []
        for sentence in checked:
            for rank, support in enumerate(sentence.verified):
                cited = _support_citation(by_number[support.number], support, sentence)
                citations.setdefault(support.number, cited)
                if rank == 0:
                    sentences.append(AnswerSentence(sentence.text, cited))
        rejected = sorted({n for sentence in checked for n in sentence.rejected})
        return Answer(
            question=asked.question,
            query=asked.query,
            text=text,
            status=status,
            citations=[citations[n] for n in sorted(citations)],
            sentences=sentences,
            rejected=rejected,
            evidence=evidence,
            model=self.backend.name if raw or self.config.mode != "quotes" else "",
            raw=raw,
            timings=clock.finish(),
        )


def _support_citation(source: Source, support: Support, sentence: CheckedSentence) -> Citation:
    return Citation(
        number=support.number,
        source=source.source,
        title=source.title,
        page=source.page,
        doc_id=source.passages[0].doc_id,
        quote=source.text[support.quote_start : support.quote_end],
        char_start=source.char_start + support.quote_start,
        char_end=source.char_start + support.quote_end,
        attributed=sentence.attributed,
        also_in=tuple(dict.fromkeys(a for p in source.passages for a in p.also_in)),
    )


def _quote_citation(source: Source, ranked: RankedSentence) -> Citation:
    sentence = ranked.sentence
    return Citation(
        number=source.number,
        source=source.source,
        title=source.title,
        page=source.page,
        doc_id=sentence.passage.doc_id,
        quote=sentence.text,
        char_start=sentence.doc_start,
        char_end=sentence.doc_end,
        also_in=sentence.passage.also_in,
    )


def _numbered(sources: list[Source]) -> str:
    blocks = [
        f"[{s.number}] {s.title}" + (f", page {s.page}" if s.page else "") + f"\n{fence(s.text)}"
        for s in sources
    ]
    return "\n\n".join(blocks)


def _render(checked: list[CheckedSentence]) -> str:
    """The verified sentences of the model's answer, each followed by its citations."""
    parts = []
    for sentence in checked:
        marks = "".join(f"[{n}]" for n in sorted({s.number for s in sentence.verified}))
        if marks:
            parts.append(f"{sentence.text} {marks}")
    return " ".join(parts)


class _Clock:
    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 3)
        if name in ("first_token", "first_text"):
            self.laps[name] = round(now - self.started, 3)
            return
        self.last = now

    def finish(self) -> dict[str, float]:
        self.laps["total"] = round(time.perf_counter() - self.started, 3)
        return dict(self.laps)
