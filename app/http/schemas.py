"""The API's request bodies (validated, bounded) and how results become JSON.

Answers and citations are read through their public fields only, so a change to how the
answer chain builds them reaches clients without a change here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ingest.report import IngestReport
    from rag.answer import Answer, Citation
    from rag.store import CollectionInfo
    from rag.summarize import Summary
    from rag.types import DocumentRecord

_TEXT = 4000


class Strict(BaseModel):
    """A body with no unknown fields and no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TurnIn(Strict):
    """One earlier exchange of the conversation."""

    question: str = Field(min_length=1, max_length=_TEXT)
    answer: str = Field("", max_length=4 * _TEXT)


class AskIn(Strict):
    """A question about a collection."""

    question: str = Field(min_length=1, max_length=_TEXT, description="The question.")
    history: list[TurnIn] = Field(default_factory=list, max_length=20)
    labels: list[str] | None = Field(
        None, max_length=20, description="Search only these access labels (never widens)."
    )
    stream: bool = Field(False, description="Answer as Server-Sent Events.")


class SummarizeIn(Strict):
    """A document to summarize."""

    source: str = Field(min_length=1, max_length=1000, description="As documents list it.")
    length: Literal["short", "medium", "detailed"] = "medium"
    focus: str = Field("", max_length=500)
    stream: bool = Field(False, description="Progress as Server-Sent Events.")


class CollectionIn(Strict):
    """A collection to create."""

    name: str = Field(min_length=1, max_length=63)


def citation(item: Citation) -> dict[str, Any]:
    """A citation: where (source, page, span of the document text), the quote, its status."""
    return {
        "number": item.number,
        "source": item.source,
        "title": item.title,
        "page": item.page,
        "quote": item.quote,
        "span": [item.char_start, item.char_end],
        "status": "attributed" if item.attributed else "verified",
        "also_in": list(item.also_in),
    }


def answer(result: Answer) -> dict[str, Any]:
    """An answer with its citations and the evidence shown (passages the caller may read)."""
    return {
        "question": result.question,
        "query": result.query,
        "text": result.text,
        "status": result.status,
        "citations": [citation(c) for c in result.citations],
        "evidence": [
            {"number": s.number, "source": s.source, "title": s.title, "page": s.page}
            for s in result.evidence
        ],
        "model": result.model,
        "timings": result.timings,
    }


def document(record: DocumentRecord) -> dict[str, Any]:
    """A document as a client sees it (no server paths)."""
    return {
        "source": record.source,
        "title": record.title,
        "doc_id": record.doc_id,
        "pages": record.pages,
        "chunks": record.chunks,
        "size": record.size,
        "ingested_at": record.ingested_at,
        "labels": list(record.labels),
    }


def collection(info: CollectionInfo) -> dict[str, Any]:
    """A collection with what the caller may read of it."""
    return asdict(info)


def summary(result: Summary) -> dict[str, Any]:
    """A summary with the page ranges its notes came from."""
    return asdict(result)


def report(result: IngestReport) -> dict[str, Any]:
    """The per-file ingest report, as ``docent ingest --json`` prints it, paths relative."""
    data = result.to_dict()
    for row in data.get("files", []):
        row.pop("path", None)
    return data
