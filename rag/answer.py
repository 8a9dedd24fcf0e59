"""The answer chain: condense -> retrieve -> gate -> rank sentences -> answer units.

Built from LangChain runnables: ``prepare`` (condense, then retrieve: a ``Question`` in,
a ``Standalone`` between, an ``Asked`` out) and ``generate`` (prompt | streaming model).
After retrieval stands the gate: when the best passage is too far from the question,
Docent answers that it could not find it and shows the closest passages.

An answer is made of the sources themselves (``rag.evidence`` ranks sentences,
``rag.quotes`` chooses, ``rag.unit`` grows each chosen sentence into its **answer
unit**: the sentence with the list, command or table rows it introduces, the whole list
it stands in, the sentence its "However" leans on). In the default mode ``quotes`` no
model is asked, and every unit is a verbatim span with its page. In mode ``model`` the
chat model reads the units and writes a direct answer of one or two sentences, shown
above them only where each sentence holds against the units (``rag.lead``); else the
units alone, with the reason in ``Answer.fallback``. In mode ``choose`` the model picks
among the ranked sentences.

``AnswerChain.stream`` yields the model's text as it comes, checked or not; a face that
sends text to a reader who cannot take it back (an HTTP client, a terminal) reads the
stream through ``checked``, which lets through only the checked answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from models.chat import ChatBackend, ChatBackendError
from rag import choose, quotes
from rag import lead as leads
from rag import unit as units
from rag.cells import unit_cells
from rag.citations import Citation as Citation  # its home is beside its checker
from rag.citations import CitationChecker, SourceText
from rag.condense import Turn, condense, on_topic, topic
from rag.context import Source, build_context
from rag.evidence import RankedSentence, RankWeights, SentenceRanker, gated
from rag.lead import Lead
from rag.markup import MarkupFilter
from rag.prompts import ANSWER, NOT_ANSWERED, NOT_FOUND, fence
from rag.quotes import QuoteConfig
from rag.retrieve import Filters, Passage, Retriever
from rag.types import GATE_THRESHOLD
from rag.unit import Unit, UnitConfig, overlaps, runs_on

Status = Literal["answered", "unverified", "not_found"]
Mode = Literal["quotes", "choose", "model"]
# Why the model's text is not what is shown: it failed (an error, a lost connection), none of
# its sentences held against the quotes, it said the sources do not answer; or no answer.
FallbackKind = Literal["", "failed", "unverified", "refused", "not_found"]

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
        unit: How far a chosen sentence grows into its answer unit (``rag.unit``).
    """

    k: int = 6
    gate: float = GATE_THRESHOLD
    condense_with_model: bool = False
    context_tokens: int = 384
    mode: Mode = "quotes"
    quotes: QuoteConfig = field(default_factory=QuoteConfig)
    weights: RankWeights = field(default_factory=RankWeights)
    unit: UnitConfig = field(default_factory=UnitConfig)


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
        collection: The collection asked about.
        filters: What retrieval may read (and a unit's next chunk with it).
    """

    question: str
    query: str
    passages: list[Passage]
    collection: str = ""
    filters: Filters = field(default_factory=Filters)


@dataclass(frozen=True)
class AnswerSentence:
    """One answer unit as shown, and its citation.

    Attributes:
        text: The unit as shown: safe Markdown of its verbatim text (``rag.unit``).
        citation: Its one citation: source, page, the unit's verbatim text and span.
    """

    text: str
    citation: Citation


@dataclass
class Answer:
    """The outcome of a question.

    Attributes:
        question: As asked.
        query: The standalone question retrieval used.
        text: The answer as Markdown: the lead (when there is one), then each unit
            followed by its number.
        lead: The model's one or two verified sentences shown above the answer unit; ""
            when none.
        status: answered, or not_found (``unverified``: records of earlier versions).
        citations: One per unit, by number: its page and verbatim span.
        sentences: The shown answer units in order, each with its one citation.
        rejected: Citation numbers the model gave that the units do not support.
        evidence: The numbered sources (or the closest passages).
        model: The chat backend and model ("" when no model was asked).
        raw: The model's text as streamed, with links, images and HTML neutralized
            (``rag.markup``): a document may tell the model to write them.
        made_by: ``quotes`` or ``model``: who made the shown text.
        fallback: Why the units were shown without the model's answer, or why there is
            no answer (``not_found``); "" otherwise.
        fallback_kind: The kind of ``fallback``: ``failed``, ``unverified``, ``refused``,
            ``not_found``; "" when there is none.
        timings: Seconds spent per step (retrieve, rank, first_token, generate, verify,
            first_text, total).
        model_tokens: When the model was asked: the tokens it read (``prompt``) and wrote
            (``completion``), counted by its backend (``ChatBackend.count_tokens``: the
            model's own tokenizer when embedded); empty when no model was asked.
    """

    question: str
    query: str
    text: str
    status: Status
    lead: str = ""
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    evidence: list[Source] = field(default_factory=list)
    model: str = ""
    raw: str = ""
    made_by: str = "quotes"
    fallback: str = ""
    fallback_kind: FallbackKind = ""
    timings: dict[str, float] = field(default_factory=dict)
    model_tokens: dict[str, int] = field(default_factory=dict)


def checked(parts: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """``parts`` as a reader may see them: the checked answer's text, then the ``Answer``.

    The model's text as it streams is dropped: a sentence the checker will reject must not
    reach a client that only appends what it receives. Quotes (no model writing) come at
    the same moment as before; a model's answer once it is checked.
    """
    for part in parts:
        if isinstance(part, Answer):
            yield part.text
            yield part


class AnswerChain:
    """Answers questions about a collection with verified page citations."""

    def __init__(
        self, retriever: Retriever, backend: ChatBackend, config: AnswerConfig | None = None
    ) -> None:
        self.retriever = retriever
        self.backend = backend
        self.config = config or AnswerConfig()
        self.checker = CitationChecker(retriever.index.embedder)
        self.ranker = SentenceRanker(
            retriever.index.embedder, self.config.weights, self.config.unit
        )
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
        return Asked(asked.question, standalone.query, found, asked.collection, asked.filters)

    def model_sources(self, asked: Asked) -> list[Source]:
        """The numbered units a model reads for a question ([] when it is refused)."""
        _, ranked, _, refused = self._ranked(asked)
        chosen = [] if refused else quotes.choose(ranked, self.config.quotes)
        return self._budgeted(asked.question, _prompt_sources(self.units(asked, chosen)))

    def _budgeted(self, question: str, sources: list[Source]) -> list[Source]:
        """The first sources whose units fit the prompt's budget (the first always)."""
        window = (
            self.backend.config.context_tokens
            - self.backend.config.max_answer_tokens
            - _PROMPT_RESERVE
            - self.backend.count_tokens(question)
        )
        budget, kept = min(window, self.config.context_tokens), list[Source]()
        for source in sources:
            budget -= self.backend.count_tokens(source.text)
            if kept and budget < 0:
                break
            kept.append(source)
        return kept

    def _ranked(self, asked: Asked) -> tuple[list[Passage], list[RankedSentence], list[str], str]:
        """The passages past the gate, their ranked sentences, the question's words no
        passage names, and why the question is refused ("" when it is not)."""
        strong = gated(asked.query, asked.passages, self.config.gate)
        ranked = self.ranker.rank(asked.query, strong) if strong else []
        missing = self.ranker.unmatched(asked.query, asked.passages) if ranked else []
        names = self.ranker.names(asked.query, missing)
        refused = quotes.refusal(
            asked.query, asked.passages, ranked, self.config.quotes, missing, names
        )
        return strong, ranked, missing, refused

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
        strong, ranked, missing, refused = self._ranked(asked)
        chosen = [] if refused else quotes.choose(ranked, self.config.quotes)
        clock.lap("rank")
        raw = fallback = ""
        read: list[BaseMessage] = []
        if chosen and self.config.mode == "choose":
            chosen, raw, fallback, read = self._chosen(asked.question, ranked, chosen)
        shown = self.units(asked, chosen)
        if not shown:
            yield self._not_found(asked, passages, clock, refused, bool(strong) and not missing)
            return
        if self.config.mode == "model":
            yield from self._from_model(asked, shown, clock)
            return
        kind: FallbackKind = "failed" if fallback else ""
        final = self._quoted(asked, shown, clock, raw, fallback, kind=kind)
        if raw:
            final.model_tokens = self._tokens(read, raw)
        yield final.text
        yield final

    def _tokens(self, read: Sequence[BaseMessage], wrote: str) -> dict[str, int]:
        """The model's count of the tokens of the messages it read and of its reply."""
        count = self.backend.count_tokens
        return {
            "prompt": sum(count(str(message.content)) for message in read),
            "completion": count(wrote),
        }

    def _chosen(
        self, question: str, ranked: list[RankedSentence], chosen: list[RankedSentence]
    ) -> tuple[list[RankedSentence], str, str, list[BaseMessage]]:
        """The model's choice among the ranked sentences (with its reply, why it failed,
        and the messages it read); the ranked quotes if it fails."""
        try:
            picked, reply, read = choose.choose(
                self.backend, question, ranked, self.config.quotes.most
            )
        except ChatBackendError as error:
            return chosen, "", f"the model failed: {error}", []
        return picked, reply, "", read

    def _not_found(
        self, asked: Asked, passages: list[Passage], clock: _Clock, why: str, on_topic: bool
    ) -> Answer:
        """No answer: "not answered" where close passages name all the question's words
        (the documents discuss the topic), "not found" otherwise; ``fallback`` says why."""
        # No budget to keep: any counter will do, and the model's would load the model.
        evidence = build_context(passages[:3], 10**6, len)
        text = NOT_ANSWERED if on_topic else NOT_FOUND
        answer = self._finish(asked, text, "not_found", evidence, clock)
        answer.fallback = why or "no passage comes close to the question"
        answer.fallback_kind = "not_found"
        return answer

    def _quoted(
        self,
        asked: Asked,
        shown: list[Unit],
        clock: _Clock,
        raw: str = "",
        fallback: str = "",
        lead: Lead | None = None,
        kind: FallbackKind = "",
    ) -> Answer:
        """The answer made of the units (one numbered source each), the lead above them."""
        evidence = _unit_sources(shown)
        cited = [_unit_citation(source, unit) for source, unit in zip(evidence, shown, strict=True)]
        clock.lap("first_text")
        text = quotes.units_text([unit.markdown for unit in shown])
        if lead and lead.text:
            text = f"{lead.text}\n\n{text}"
        answer = self._finish(asked, text, "answered", evidence, clock, raw)
        answer.citations, answer.fallback, answer.fallback_kind = cited, fallback, kind
        answer.sentences = [
            AnswerSentence(unit.markdown, c) for unit, c in zip(shown, cited, strict=True)
        ]
        if lead:
            answer.lead, answer.rejected = lead.text, lead.rejected
            answer.made_by = "model" if lead.text else "quotes"
        return answer

    def units(self, asked: Asked, chosen: Sequence[RankedSentence]) -> list[Unit]:
        """The chosen sentences grown into their answer units, each once.

        A unit that runs to its passage's end in a list, table or code goes on in the
        passage's next chunk, read with the question's own filters.
        """
        shown: list[Unit] = []
        for ranked in chosen:
            unit = units.build(ranked.sentence, None, self.config.unit)
            if runs_on(unit) and asked.collection:
                after = self.retriever.following(
                    asked.collection, ranked.sentence.passage, asked.filters
                )
                unit = units.build(ranked.sentence, after, self.config.unit)
            if unit.markdown and not any(overlaps(unit, earlier) for earlier in shown):
                shown.append(unit)
        return shown

    def _from_model(self, asked: Asked, shown: list[Unit], clock: _Clock) -> Iterator[str | Answer]:
        """The units with the model's direct answer above them, where it holds (``rag.lead``).

        The model reads the units themselves (what the reader sees, and a short prompt);
        what it streams is yielded as it comes (``checked`` drops it), and the final answer
        keeps only what held.
        """
        sources = _unit_sources(shown)
        streamed: list[str] = []
        markup = MarkupFilter()
        inputs = {"sources": _numbered(sources), "question": asked.question}
        try:
            for token in self.generate.stream(inputs):
                if "first_token" not in clock.laps:
                    clock.lap("first_token")
                if text := markup.feed(token):
                    streamed.append(text)
                    yield text
        except ChatBackendError as error:
            clock.lap("generate")
            why = f"the model failed: {error}"
            yield self._quoted(asked, shown, clock, "".join(streamed), why, kind="failed")
            return
        if text := markup.close():
            streamed.append(text)
            yield text
        clock.lap("generate")
        raw = "".join(streamed).strip()
        lead = Lead("")
        if raw and NOT_FOUND.lower().rstrip(".") not in raw.lower():
            read = [SourceText(s.number, s.text) for s in sources]
            lead = leads.check(self.checker, raw, read, asked.question)
        clock.lap("verify")
        why, kind = _no_lead(raw) if not lead.text else ("", "")
        final = self._quoted(asked, shown, clock, raw, why, lead, kind)
        final.model_tokens = self._tokens(ANSWER.invoke(inputs).to_messages(), raw)
        yield final

    def _finish(
        self,
        asked: Asked,
        text: str,
        status: Status,
        evidence: list[Source],
        clock: _Clock,
        raw: str = "",
    ) -> Answer:
        return Answer(
            question=asked.question,
            query=asked.query,
            text=text,
            status=status,
            evidence=evidence,
            model=self.backend.name if raw or self.config.mode != "quotes" else "",
            raw=raw,
            timings=clock.finish(),
        )


def _no_lead(raw: str) -> tuple[str, FallbackKind]:
    """Why no sentence of the model's stands above the units, and the kind of reason."""
    if not raw or NOT_FOUND.lower().rstrip(".") in raw.lower():
        return "the model found no answer", "refused"
    return "none of the model's sentences held against the quotes", "unverified"


def _prompt_sources(shown: list[Unit]) -> list[Source]:
    """The units as the model reads them: each unit's own text, numbered."""
    return [
        replace(source, text=unit.quote, char_start=unit.doc_start, char_end=unit.doc_end)
        for source, unit in zip(_unit_sources(shown), shown, strict=True)
    ]


def _unit_sources(shown: list[Unit]) -> list[Source]:
    return [quotes.unit_source(n, unit) for n, unit in enumerate(shown, start=1)]


def _unit_citation(source: Source, unit: Unit) -> Citation:
    passage = unit.passages[0]
    sheet, cells = unit_cells(unit)
    return Citation(
        number=source.number,
        source=source.source,
        title=source.title,
        page=source.page,
        doc_id=passage.doc_id,
        quote=unit.quote,
        char_start=unit.doc_start,
        char_end=unit.doc_end,
        also_in=passage.also_in,
        sheet=sheet,
        cells=cells,
    )


def _numbered(sources: list[Source]) -> str:
    blocks = [
        f"[{s.number}] {s.title}" + (f", page {s.page}" if s.page else "") + f"\n{fence(s.text)}"
        for s in sources
    ]
    return "\n\n".join(blocks)


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
