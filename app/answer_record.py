"""The answer record: one typed shape of an answer for every face that writes one.

``docent ask --json``, the HTTP API (``POST /api/v1/collections/{c}/ask`` and the ``docent``
field of an OpenAI-compatible completion) and saved conversations all write an
``AnswerRecord``, built from ``rag.answer.Answer`` by ``AnswerRecord.of``; the OpenAPI
schema the server publishes is this model's. It holds what a reader is shown: the unit(s)
with their citations (page, a spreadsheet's sheet and cells, and character span), the
model's lead above them, the status, why the model's answer was not shown, and the
passages the answer stands in (their text, not their retrieval scores).

Every string in it that comes from a document (quotes, passages, titles, file names) has
gone through ``rag.markup.neutralize``, as the model's text has: a document can hold
``![x](http://host/?leak=1)`` or ``<img src=...>``, and a client that renders the record
as Markdown or HTML would fetch it. Plain prose passes unchanged; ``span`` still locates
the document's own text.

Conversations saved before this record (no ``version``: the dataclasses as ``asdict`` wrote
them) are still read: ``answer_from_json`` takes either shape.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.markup import neutralize

if TYPE_CHECKING:
    # Imported where used: the answer types load LangChain, and every CLI command and the
    # HTTP schema load this module.
    from rag.answer import Answer
    from rag.citations import Citation
    from rag.context import Source


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class CitationRecord(_Record):
    """Where a shown piece of an answer stands in a document, and how it was checked."""

    number: int = Field(description="The source's number, as the answer's `[n]` marks cite it.")
    source: str = Field(
        description="Source path of the document, as `docs list` shows it (made inert as "
        "`quote` is)."
    )
    title: str = Field(description="The document's title.")
    page: int = Field(description="1-based page; 0 for formats without pages.")
    doc_id: str = Field(description="sha256 of the document's bytes.")
    quote: str = Field(
        description="The document's text that the citation points to, verbatim but for "
        "links, images, HTML and invisible characters, made inert as the model's text is."
    )
    span: tuple[int, int] = Field(
        description="Character offsets [start, end) of the quote in the document's text."
    )
    status: Literal["quoted", "verified", "attributed"] = Field(
        description="`quoted`: the shown text is the document's own; `verified`: a model's "
        "sentence checked against the quote; `attributed`: the same check, where the model "
        "gave no (or another) number. Says the text is there, not that it answers."
    )
    also_in: list[str] = Field(
        default_factory=list, description="Other documents holding the same passage."
    )
    sheet: str = Field(
        default="",
        description="The spreadsheet sheet the quote stands in (a CSV's file name without "
        'its extension); "" for other formats.',
    )
    cells: str = Field(
        default="",
        description="The quote's cell range with its sheet, rows and columns numbered as in "
        'the file (`Rota!A12:D12`; a table row shown under its header names the row); "" '
        "when the quote is not in a sheet's rows or its index predates cell ranges.",
    )

    @classmethod
    def of(cls, citation: Citation, verified: bool) -> CitationRecord:
        """The record of ``citation``: of a model's checked sentence, or of a quote."""
        checked: Literal["quoted", "verified"] = "verified" if verified else "quoted"
        return cls(
            number=citation.number,
            source=neutralize(citation.source),
            title=neutralize(citation.title),
            page=citation.page,
            doc_id=citation.doc_id,
            quote=neutralize(citation.quote),
            span=(citation.char_start, citation.char_end),
            status="attributed" if citation.attributed else checked,
            also_in=[neutralize(source) for source in citation.also_in],
            sheet=neutralize(citation.sheet),
            cells=neutralize(citation.cells),
        )

    def citation(self) -> Citation:
        """The ``Citation`` this record holds."""
        from rag.citations import Citation

        start, end = self.span
        return Citation(
            self.number,
            self.source,
            self.title,
            self.page,
            self.doc_id,
            self.quote,
            start,
            end,
            attributed=self.status == "attributed",
            also_in=tuple(self.also_in),
            sheet=self.sheet,
            cells=self.cells,
        )


class UnitRecord(_Record):
    """One shown piece of the answer with its one citation."""

    text: str = Field(
        description="As shown, Markdown that renders safely: the answer unit (a document's "
        "sentence with the list, command or table rows it introduces), or a model's "
        "verified sentence when `made_by` is `model` and there is no `lead`."
    )
    citation: CitationRecord = Field(description="Where it stands, with the verbatim quote.")


class EvidenceRecord(_Record):
    """A numbered passage the answer stands in (or, when not found, one of the closest)."""

    number: int = Field(description="The number citations use.")
    source: str = Field(description="Source path of the document.")
    title: str = Field(description="The document's title.")
    page: int = Field(description="1-based page; 0 for formats without pages.")
    text: str = Field(description="The passage's text, verbatim but made inert as a quote is.")
    span: tuple[int, int] = Field(
        description="Character offsets [start, end) of the passage in the document's text."
    )

    @classmethod
    def of(cls, source: Source) -> EvidenceRecord:
        """The record of a numbered source."""
        return cls(
            number=source.number,
            source=neutralize(source.source),
            title=neutralize(source.title),
            page=source.page,
            text=neutralize(source.text),
            span=(source.char_start, source.char_end),
        )


class AnswerRecord(_Record):
    """An answer as the CLI's `--json`, the HTTP API and saved conversations write it."""

    version: Literal[2] = Field(default=2, description="The shape of this record.")
    question: str = Field(description="The question as asked.")
    query: str = Field(description="The standalone question retrieval used.")
    status: Literal["answered", "unverified", "not_found"] = Field(
        description="`answered`: shown with citations; `not_found`: the documents do not "
        "answer it; `unverified` (earlier versions): the model's answer, no sentence "
        "supported by the sources."
    )
    made_by: Literal["quotes", "model"] = Field(
        description="`quotes`: the documents' own text; `model`: the model wrote the `lead` "
        "(or, with no lead, the units: its sentences, each verified)."
    )
    lead: str = Field(
        default="",
        description="The model's one or two sentences shown above the units, each verified "
        'against them; "" when there is none.',
    )
    text: str = Field(description="The answer as one text, each piece followed by its `[n]`.")
    units: list[UnitRecord] = Field(
        default_factory=list, description="What is shown, in order, each with its citation."
    )
    citations: list[CitationRecord] = Field(
        default_factory=list, description="The answer's citations, one per source number."
    )
    rejected: list[int] = Field(
        default_factory=list,
        description="Source numbers the model cited that do not support its sentence.",
    )
    evidence: list[EvidenceRecord] = Field(
        default_factory=list,
        description="The numbered passages the answer stands in; for `not_found` and "
        "`unverified`, the closest passages to read.",
    )
    fallback: str = Field(
        default="",
        description="Why the units are shown without the model's answer (or, `not_found`, "
        'why there is no answer); "" otherwise.',
    )
    fallback_kind: Literal["", "failed", "unverified", "refused", "not_found"] = Field(
        default="",
        description="The kind of `fallback`: `failed` (the chat model failed or its "
        "connection was lost; a stream then ends with an error), `unverified` (none of its "
        "sentences held against the quotes), `refused` (it said the sources do not answer), "
        '`not_found` (no answer); "" when the answer is as asked for.',
    )
    model: str = Field(
        default="", description='The chat backend and model asked; "" when none was.'
    )
    raw: str = Field(
        default="",
        description="The model's text as it streamed, links, images and HTML removed; "
        '"" when no model wrote.',
    )
    timings: dict[str, float] = Field(
        default_factory=dict,
        description="Seconds per step: retrieve, rank, first_token, generate, verify, "
        "first_text, total (those that ran).",
    )

    @classmethod
    def of(cls, answer: Answer) -> AnswerRecord:
        """The record of an answer."""
        made_by: Literal["quotes", "model"] = "model" if answer.made_by == "model" else "quotes"
        lead = answer.lead
        # With a lead, the units are the documents' own text and the lead is the model's.
        verified = made_by == "model" and not lead
        return cls(
            question=answer.question,
            query=answer.query,
            status=answer.status,
            made_by=made_by,
            lead=lead,
            text=answer.text,
            units=[
                UnitRecord(text=s.text, citation=CitationRecord.of(s.citation, verified))
                for s in answer.sentences
            ],
            citations=[CitationRecord.of(c, verified) for c in answer.citations],
            rejected=list(answer.rejected),
            evidence=[EvidenceRecord.of(s) for s in answer.evidence],
            fallback=answer.fallback,
            fallback_kind=answer.fallback_kind,
            model=answer.model,
            raw=answer.raw,
            timings=dict(answer.timings),
        )

    def answer(self) -> Answer:
        """The ``Answer`` this record holds (its passages without retrieval scores)."""
        from rag.answer import Answer, AnswerSentence
        from rag.context import Source

        return Answer(
            question=self.question,
            query=self.query,
            text=self.text,
            status=self.status,
            lead=self.lead,
            citations=[c.citation() for c in self.citations],
            sentences=[AnswerSentence(u.text, u.citation.citation()) for u in self.units],
            rejected=list(self.rejected),
            evidence=[
                Source(e.number, [], e.text, e.source, e.title, e.page, *e.span)
                for e in self.evidence
            ],
            model=self.model,
            raw=self.raw,
            made_by=self.made_by,
            fallback=self.fallback,
            fallback_kind=self.fallback_kind,
            timings=dict(self.timings),
        )


def answer_to_json(answer: Answer) -> str:
    """The answer's record as a JSON object."""
    return AnswerRecord.of(answer).model_dump_json()


def answer_from_json(text: str) -> Answer:
    """The answer a JSON record holds, in this shape or in the one saved before it."""
    data: dict[str, Any] = json.loads(text)
    if "version" in data:
        return AnswerRecord.model_validate(data).answer()
    return _earlier(data)


def _earlier(data: dict[str, Any]) -> Answer:
    """An answer saved before the record: the dataclasses as ``asdict`` wrote them."""
    from rag.answer import Answer, AnswerSentence, Citation
    from rag.context import Source

    def citation(c: dict[str, Any]) -> Citation:
        return Citation(**(c | {"also_in": tuple(c.get("also_in", ()))}))

    def source(s: dict[str, Any]) -> Source:
        fields = {k: v for k, v in s.items() if k != "passages"}
        return Source(**(fields | {"passages": []}))

    data = data | {
        "citations": [citation(c) for c in data.get("citations", [])],
        "sentences": [
            AnswerSentence(s["text"], citation(s["citation"])) for s in data.get("sentences", [])
        ],
        "evidence": [source(s) for s in data.get("evidence", [])],
    }
    return Answer(**data)
