"""An OpenAI-compatible face: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Each collection the caller may read is a model, ``docent:<collection>``. The last user
message is the question, earlier user/assistant pairs are the conversation (system
messages are ignored: the answer's rules are Docent's). The reply's text ends with the
citations as a numbered list, for clients that show only text; the whole answer record
(``app.answer_record.AnswerRecord``: units, lead, citations with page and span, status,
fallback), with the collection asked, travels in the extension field ``docent`` of the
response and of the last stream chunk.

A stream carries only checked text: OpenAI clients append every ``delta`` and cannot take a
sentence back, so the model's words are not sent as they come (``rag.answer.checked``);
the checked answer with its Sources list goes out in one chunk once it is known. When the
chat model failed on the way, the quotes are followed by an error chunk
(``{"error": {...}}``, which the openai SDK raises as ``APIError``) before ``[DONE]``.
Everything from a document in the text (quotes, file names) is made inert by
``rag.markup.neutralize``::

    "docent": {"collection": "legal", "status": "answered", "made_by": "quotes",
               "query": "...", "lead": "", "units": [{"text": "...", "citation": {...}}],
               "citations": [{"number": 1, "source": "handbook.pdf", "page": 3,
                              "quote": "...", "span": [120, 188], "status": "quoted",
                              "title": "Staff Handbook", ...}], ...}
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from app.answer_record import AnswerRecord
from app.http import schemas
from app.http.answers import final, model_failure, stream_answer
from app.http.errors import ApiError, body, status_of
from app.http.security import Who
from app.http.streams import sse
from models.errors import DocentError
from rag.markup import neutralize

if TYPE_CHECKING:
    from app.api import Docent
    from rag.answer import Answer

PREFIX = "docent:"


class Part(BaseModel):
    """One part of a message's content (only text parts carry a question)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str = ""


class Message(BaseModel):
    """A chat message."""

    model_config = ConfigDict(extra="allow")
    role: str = Field(max_length=20)
    content: str | list[Part] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return " ".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class ChatIn(BaseModel):
    """A chat completion request; sampling options are accepted and left to Docent."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=80)
    messages: list[Message] = Field(min_length=1, max_length=100)
    stream: bool = False


def conversation(messages: list[Message]) -> tuple[str, list[schemas.TurnIn]]:
    """The question (the last user message) and the earlier turns.

    Raises:
        ApiError: 400 when no user message has text.
    """
    asked = [i for i, m in enumerate(messages) if m.role == "user" and m.text().strip()]
    if not asked:
        raise ApiError(400, "The conversation has no user message.", "end with a user message")
    last = asked[-1]
    turns: list[schemas.TurnIn] = []
    for index, message in enumerate(messages[:last]):
        if message.role == "user" and message.text().strip():
            reply = next((m for m in messages[index + 1 : last] if m.role == "assistant"), None)
            turns.append(schemas.TurnIn(question=message.text()[:4000], answer=_reply(reply)))
    return messages[last].text(), turns[-20:]


def _reply(message: Message | None) -> str:
    return message.text()[:16000] if message else ""


def sources_list(answer: Answer) -> str:
    """The citations as a numbered list for the end of the text ("" when there are none).

    The file names and quotes are the document's: made inert as the answer's text is.
    """
    lines = []
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f'[{c.number}] {neutralize(c.source)}{page}: "{neutralize(c.quote)}"')
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


class DocentField(AnswerRecord):
    """The ``docent`` extension field: the answer record, and the collection asked."""

    collection: str = Field(description="The collection asked (the model `docent:<name>`).")


class Completion(BaseModel):
    """A chat completion as Docent answers it (the OpenAI shape, with ``docent``)."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[dict[str, Any]] = Field(description="One choice: the assistant's message.")
    usage: dict[str, int]
    docent: DocentField


def extension(collection: str, answer: Answer) -> dict[str, Any]:
    """The ``docent`` extension field: the answer record with the collection."""
    record = schemas.answer(answer).model_dump()
    return DocentField(collection=collection, **record).model_dump(mode="json")


def router(docent: Docent) -> APIRouter:
    """The ``/v1`` routes over ``docent``."""
    api = APIRouter(prefix="/v1")

    @api.get("/models", summary="One model per collection the caller may read")
    def models(who: Who) -> dict[str, Any]:
        rows = [
            {"id": PREFIX + i.name, "object": "model", "created": _epoch(i.created_at)}
            | {"owned_by": "docent"}
            for i in docent.collections(user=who.user)
        ]
        return {"object": "list", "data": rows}

    @api.post(
        "/chat/completions",
        summary="Answer the last user message from a collection, with citations",
        response_model=None,
        responses={
            200: {
                "model": Completion,
                "description": "The completion; with `stream`, chunks as SSE, the last one "
                "carrying `docent`.",
                "content": {"text/event-stream": {}},
            }
        },
    )
    def chat(given: ChatIn, who: Who) -> dict[str, Any] | Response:
        if not given.model.startswith(PREFIX):
            raise ApiError(
                404,
                f"The model `{given.model}` does not exist.",
                "pick a model from GET /v1/models (docent:<collection>)",
            )
        collection = given.model.removeprefix(PREFIX)
        question, turns = conversation(given.messages)
        asked = schemas.AskIn(question=question[:4000], history=turns, labels=None, stream=False)
        parts = stream_answer(docent, collection, asked, who.user)
        reply = _Reply(given.model, collection)
        if given.stream:
            return sse(reply.chunks(parts))
        return reply.completion(final(parts))

    return api


class _Reply:
    """One completion's identity, and its two shapes: whole or as chunks."""

    def __init__(self, model: str, collection: str) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.collection = collection

    def completion(self, answer: Answer) -> dict[str, Any]:
        message = {"role": "assistant", "content": answer.text + sources_list(answer)}
        return self._head("chat.completion") | {
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "docent": extension(self.collection, answer),
        }

    def chunks(self, parts: Iterator[Any]) -> Iterator[bytes]:
        """The role, then the checked answer with its sources and ``docent`` in one chunk
        (then an error chunk when the model failed), then ``[DONE]``."""
        from rag.answer import Answer, checked

        yield self._chunk({"role": "assistant", "content": ""})
        try:
            for part in checked(parts):
                if isinstance(part, Answer):
                    text = part.text + sources_list(part)
                    extra = {"docent": extension(self.collection, part)}
                    yield self._chunk({"content": text}, "stop", extra)
                    if failure := model_failure(part):
                        yield _data(body(failure, status_of(failure)))
        except Exception as error:
            failure = error if isinstance(error, DocentError) else DocentError("Docent failed.")
            yield _data(body(failure, status_of(failure)))
        yield b"data: [DONE]\n\n"

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def _chunk(
        self, delta: dict[str, str], finish: str | None = None, extra: dict[str, Any] | None = None
    ) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return _data(self._head("chat.completion.chunk") | {"choices": [choice]} | (extra or {}))


def _data(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


def _epoch(stamp: str) -> int:
    try:
        return int(datetime.fromisoformat(stamp).timestamp())
    except ValueError:
        return 0
