"""Questions and summaries under ``/api/v1``: JSON, or Server-Sent Events.

The answer stream sends a ``delta`` event (``{"text": ...}``) with the checked answer's
text, never the model's unchecked words (``rag.answer.checked``), then one ``answer``
event: the answer record (``app.answer_record.AnswerRecord``, as the JSON answer holds
it), with its units and citations (source, page, quote, span, status) and why the model's
text was replaced (``fallback``, ``fallback_kind``). When the chat model failed on the way
(``fallback_kind`` ``failed``: the server went away mid-answer) the stream ends with an
``error`` event after the quotes. A summary streams ``progress`` events, one for each
step, then ``summary``. A failure after the stream began arrives as an ``error`` event
with the CLI's message and hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.answer_record import AnswerRecord
from app.http import schemas
from app.http.bodies import TextRoute
from app.http.errors import COMMON, ApiError, documented
from app.http.security import Who
from app.http.streams import Emit, error_event, event, run_with_progress, sse, streamed
from app.progress_steps import Steps
from models.errors import DocentError

if TYPE_CHECKING:
    from app.api import Docent
    from app.auth.accounts import User
    from rag.answer import Answer


def router(docent: Docent) -> APIRouter:
    """The ask and summarize routes over ``docent``."""
    api = APIRouter(prefix="/api/v1", responses=documented(*COMMON, 504), route_class=TextRoute)

    @api.post(
        "/collections/{name}/ask",
        summary="Answer a question with citations (JSON, or SSE when `stream` is true)",
        response_model=None,
        responses={
            200: {
                "model": AnswerRecord,
                "description": "The answer record; with `stream`, SSE `delta` events, then "
                "an `answer` event holding the same record.",
                "content": streamed("SSE events `delta`, then `answer` (then `error`)"),
            }
        },
    )
    def ask(
        name: schemas.CollectionName, given: schemas.AskIn, who: Who
    ) -> AnswerRecord | Response:
        parts = stream_answer(docent, name, given, who.user)
        if not given.stream:
            return schemas.answer(final(parts))
        return sse(answer_events(parts))

    @api.post(
        "/collections/{name}/summarize",
        summary="Summarize a document (JSON, or SSE progress when `stream` is true)",
        response_model=None,
        responses={
            200: {
                "description": "The summary; with `stream`, SSE `progress` events, then a "
                "`summary` event holding it.",
                "content": streamed("SSE events `progress`, then `summary` (or `error`)"),
            }
        },
    )
    def summarize(
        name: schemas.CollectionName, given: schemas.SummarizeIn, who: Who
    ) -> dict[str, Any] | Response:
        def work(emit: Emit | None) -> tuple[str, Any]:
            result = docent.summarize(
                name,
                given.source,
                length=given.length,
                focus=given.focus,
                progress=None if emit is None else progress_events(emit),
                user=who.user,
            )
            return "summary", schemas.summary(result)

        if not given.stream:
            return work(None)[1]  # type: ignore[no-any-return]
        # Access is checked before the stream starts, so a refusal is a plain 404.
        docent.documents(name, user=who.user)
        return sse(run_with_progress(work))

    return api


def progress_events(emit: Emit) -> Steps:
    """A summary's progress callback that emits each step once, as a ``progress`` event.

    The summary's repeats of a step (its Stop points for the UI) are dropped: nothing here
    stops on them, and a client would show the same step again.
    """
    return Steps(
        lambda done, total, step: emit("progress", {"done": done, "total": total, "step": step})
    )


def stream_answer(docent: Docent, name: str, given: schemas.AskIn, user: User) -> Iterator[Any]:
    """``Docent.stream_answer`` for a request body (access is checked on the call).

    Raises:
        ApiError: 400 when the question has no words (as ``/v1`` answers it).
    """
    from rag.condense import Turn

    if not given.question.strip():
        raise ApiError(400, "The question is empty.", "send a question with words in it")
    from rag.retrieve import Filters

    history = [Turn(t.question, t.question, t.answer) for t in given.history]
    filters = Filters(labels=tuple(given.labels)) if given.labels is not None else None
    return docent.stream_answer(name, given.question, history, filters, user=user)


def final(parts: Iterator[Any]) -> Answer:
    """The checked answer at the end of a stream."""
    from rag.answer import Answer

    last = list(parts)[-1]
    assert isinstance(last, Answer)
    return last


def answer_events(parts: Iterator[Any]) -> Iterator[bytes]:
    """The checked text as a ``delta`` event, then the ``answer`` event (and an ``error``
    event when the model failed), or an ``error`` event alone."""
    from rag.answer import Answer, checked

    try:
        for part in checked(parts):
            if isinstance(part, Answer):
                yield event("answer", schemas.answer(part).model_dump(mode="json"))
                if failure := model_failure(part):
                    yield error_event(failure)
            else:
                yield event("delta", {"text": part})
    except Exception as error:
        yield error_event(error)


def model_failure(answer: Answer) -> DocentError | None:
    """The error a stream ends with when the chat model failed and quotes stand in."""
    if answer.fallback_kind != "failed":
        return None
    # The model's own words are in the record's `fallback`; this says what the reader got.
    return ApiError(
        503,
        "The chat model failed before its answer was complete; the answer shows the "
        "documents' quotes alone.",
        "ask again; if it fails again, see the chat server's log",
    )
