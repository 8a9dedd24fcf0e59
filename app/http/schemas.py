"""The API's request bodies (validated, bounded) and how results become JSON.

An answer is the one record every face writes (``app.answer_record.AnswerRecord``): its
schema is in the OpenAPI document, and ``answer`` builds it from the chain's ``Answer``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from app.answer_record import AnswerRecord
from rag.store import _NAME as _COLLECTION_NAME

if TYPE_CHECKING:
    from ingest.report import IngestReport
    from rag.answer import Answer
    from rag.store import CollectionInfo
    from rag.summarize import Summary
    from rag.types import DocumentRecord

_TEXT = 4000
_NAME_RULE: dict[str, Any] = {"pattern": _COLLECTION_NAME.pattern, "minLength": 3, "maxLength": 63}

# The rule is declared, not enforced here: `validate_collection_name` answers a bad name
# with a 400 that says the rule, as the CLI does.
CollectionName = Annotated[
    str,
    Path(
        description="A collection: 3-63 lowercase letters, digits, '-' or '_', starting and "
        "ending with a letter or digit.",
        json_schema_extra=_NAME_RULE,
    ),
]


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

    name: str = Field(min_length=1, max_length=63, json_schema_extra=_NAME_RULE)


def answer(result: Answer) -> AnswerRecord:
    """An answer as its record: units, lead, citations with page and span, status."""
    return AnswerRecord.of(result)


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
