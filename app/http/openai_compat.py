"""An OpenAI-compatible face: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Each collection the caller may read is a model, ``docent:<collection>``. The last user
message is the question, earlier user/assistant pairs are the conversation (system
messages are ignored: the answer's rules are Docent's); a RAG-style prompt is asked as
the text after its final ``Question:`` label, and options Docent cannot honour are
refused (``app.http.openai_request``). ``usage`` counts what a model read and wrote when
one was asked (its prompt and reply, by its backend's count: the model's own tokenizer when
embedded), else the question's and the reply's word pieces by the embedder's tokenizer
(the quotes are Docent's, no model wrote them). The reply's text ends with the
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
from pydantic import BaseModel, Field

from app.answer_record import AnswerRecord
from app.http import schemas
from app.http.answers import final, model_failure, stream_answer
from app.http.bodies import TextRoute
from app.http.errors import COMMON, ApiError, body, documented, status_of
from app.http.openai_request import ChatIn, conversation, refuse_unsupported
from app.http.security import Who
from app.http.streams import sse, streamed
from models.errors import DocentError
from rag.markup import neutralize

if TYPE_CHECKING:
    from app.api import Docent
    from models.embedder import TokenCounter
    from rag.answer import Answer

PREFIX = "docent:"


def sources_list(answer: Answer) -> str:
    """The citations as a numbered list for the end of the text ("" when there are none).

    The file names and quotes are the document's: made inert as the answer's text is.
    """
    lines = []
    for c in answer.citations:
        page = f", {neutralize(c.cells)}" if c.cells else f", page {c.page}" if c.page else ""
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
    api = APIRouter(prefix="/v1", responses=documented(*COMMON), route_class=TextRoute)

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
                "content": streamed("SSE `data:` chunks, the last before `[DONE]`"),
            },
            504: documented(504)[504],
        },
    )
    def chat(given: ChatIn, who: Who) -> dict[str, Any] | Response:
        if not given.model.startswith(PREFIX):
            raise ApiError(
                404,
                f"The model `{given.model}` does not exist.",
                "pick a model from GET /v1/models (docent:<collection>)",
            )
        refuse_unsupported(given)
        collection = given.model.removeprefix(PREFIX)
        question, turns = conversation(given.messages)
        asked = schemas.AskIn(question=question[:4000], history=turns, labels=None, stream=False)
        parts = stream_answer(docent, collection, asked, who.user)
        reply = _Reply(given.model, collection, Usage(docent.embedder.tokens, asked.question))
        if given.stream:
            usage = given.stream_options is not None and given.stream_options.include_usage
            return sse(reply.chunks(parts, usage))
        return reply.completion(final(parts))

    return api


class Usage:
    """The ``usage`` of a reply.

    When a model was asked (``Answer.model_tokens``): the tokens it read and wrote, as its
    backend counts them. Else by the embedder's tokenizer (word pieces): the prompt is the
    question Docent asked (the client's instructions and context are not read), the
    completion the text the client receives, answer and Sources list.
    """

    def __init__(self, tokens: TokenCounter, question: str) -> None:
        self.tokens = tokens
        self.question = question

    def of(self, content: str, answer: Answer | None = None) -> dict[str, int]:
        """``prompt_tokens``, ``completion_tokens`` and ``total_tokens`` for ``content``."""
        if answer is not None and answer.model_tokens:
            prompt, completion = answer.model_tokens["prompt"], answer.model_tokens["completion"]
        else:
            prompt, completion = self.tokens.count([self.question, content])
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }


class _Reply:
    """One completion's identity, and its two shapes: whole or as chunks."""

    def __init__(self, model: str, collection: str, usage: Usage) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self.collection = collection
        self.usage = usage

    def completion(self, answer: Answer) -> dict[str, Any]:
        content = answer.text + sources_list(answer)
        message = {"role": "assistant", "content": content}
        return self._head("chat.completion") | {
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": self.usage.of(content, answer),
            "docent": extension(self.collection, answer),
        }

    def chunks(self, parts: Iterator[Any], usage: bool = False) -> Iterator[bytes]:
        """The role, then the checked answer with its sources and ``docent`` in one chunk
        (then an error chunk when the model failed), then, with ``usage``, a chunk with no
        choices and the token counts, then ``[DONE]``."""
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
                    elif usage:
                        counts = {"choices": [], "usage": self.usage.of(text, part)}
                        yield _data(self._head("chat.completion.chunk") | counts)
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
