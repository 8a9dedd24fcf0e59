"""Errors as JSON: the CLI's message and hint, the right status, never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import DocentError

log = logging.getLogger("docent.http")

# By error class name, most specific first along the class's MRO; imported nowhere, so
# the mapping needs neither the chat models nor Chroma to be loaded.
_STATUS = {
    "TokenError": 401,
    "AccessError": 403,
    "AccountError": 403,
    "UploadLimitError": 429,
    "IndexLockedError": 409,
    "IndexWriteError": 503,
    "IndexDamagedError": 503,
    "IndexUnreachableError": 503,
    "AuditError": 503,
    "ChatBusyError": 503,
    "ChatTimeoutError": 504,
    "ChatBackendError": 503,
    "WeightsError": 503,
}


class ApiError(DocentError):
    """An error the HTTP layer itself raises (rate limit, body too large, not found).

    Args:
        status: The HTTP status.
        message: What went wrong.
        hint: The fix.
        headers: Extra response headers (``Retry-After``).
    """

    def __init__(
        self, status: int, message: str, hint: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.headers = headers or {}


class ErrorDetail(BaseModel):
    """What went wrong and the fix, as the CLI says them."""

    message: str = Field(description="What went wrong.")
    hint: str = Field(description="The fix (may be empty).")
    type: Literal["invalid_request_error", "server_error"]
    code: int = Field(description="The HTTP status.")


class ErrorBody(BaseModel):
    """Every error's body (OpenAI's ``error`` object shape, with Docent's hint)."""

    error: ErrorDetail


_WHEN = {
    400: "The request cannot be done as asked (the message says why).",
    401: "No API token, or not a valid one (`WWW-Authenticate: Bearer`).",
    403: "The token's user may not do this.",
    404: "No such collection, document, job or model for this user.",
    409: "It conflicts with the state: the name exists, the index is busy, the job runs.",
    413: "The body is over `api_max_body_kb` (uploads: `upload_max_mb`).",
    422: "The body or a parameter is malformed.",
    429: "Past `api_rate_per_minute` for this token; `Retry-After` says when to retry.",
    503: "The index, the audit log or the chat model is not available.",
    504: "The chat model took too long to answer.",
}
_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}
# What any route with a token may answer; routes add theirs (409, 504) to these.
COMMON = (400, 401, 403, 404, 413, 422, 429, 503)


def documented(*statuses: int, streaming: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses, each with the error body.

    Args:
        statuses: The error statuses.
        streaming: For a route whose ``response_class`` is a stream: FastAPI would
            document a ``model`` in the stream's media type, so the body is referred to.
    """
    body: dict[str, Any] = {"model": ErrorBody}
    if streaming:
        schema = {"$ref": "#/components/schemas/ErrorBody"}
        body = {"content": {"application/json": {"schema": schema}}}
    return {
        status: body
        | {"description": _WHEN[status]}
        | ({"headers": _HEADERS[status]} if status in _HEADERS else {})
        for status in statuses
    }


def allowed(request: Request) -> str:
    """The ``Allow`` header of a 405: the methods the API document gives this path.

    Starlette names only the first route that matched the path; and a document's
    ``{source}`` may hold slashes, so ``.../original`` also matches the path of a
    document: the paths with the most fixed text win.
    """
    paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
    matched = [p for p in paths if re.fullmatch(_template(p), request.url.path)]
    if not matched:
        return ""
    fixed = max(_fixed_text(p) for p in matched)
    methods = {m.upper() for p in matched if _fixed_text(p) == fixed for m in paths[p]}
    return ", ".join(sorted(methods))


def _template(path: str) -> str:
    return "".join(
        ".+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]*\})", path)
    )


def _fixed_text(path: str) -> int:
    return len(re.sub(r"\{[^}]*\}", "", path))


def status_of(error: DocentError) -> int:
    """The HTTP status for a domain error."""
    if isinstance(error, ApiError):
        return error.status
    for kind in type(error).__mro__:
        if kind.__name__ in _STATUS:
            return _STATUS[kind.__name__]
    if "does not exist" in error.message or error.message.startswith("No "):
        return 404
    if "already exists" in error.message or "exists already" in error.message:
        return 409
    return 400


# What a client is told instead of a server-side failure's own message, which names data
# paths, process ids or internal addresses: those go to the server log only.
_PUBLIC = {
    "IndexLockedError": ("The index is busy: another task is writing to it.", "try again later"),
    "IndexWriteError": ("The index could not be written.", ""),
    "IndexDamagedError": ("The index is damaged; nothing was changed.", ""),
    "IndexUnreachableError": ("The index is not reachable.", ""),
    "AuditError": ("The audit log cannot be written, so Docent does nothing.", ""),
    "ChatTimeoutError": ("The chat model took too long to answer.", ""),
    "ChatBusyError": ("The chat model is busy.", "try again in a minute"),
    "ChatBackendError": ("The chat model is not available.", ""),
    "WeightsError": ("A model's weights are missing or damaged.", ""),
}
_OPERATOR = "try again later; the administrator finds the cause in the server log"


def public(error: DocentError, status: int) -> tuple[str, str]:
    """The message and hint a client may see: a server-side failure's own are logged.

    ``ApiError`` is the HTTP layer's own and says nothing internal; so do 4xx domain
    errors other than the lock's, which are about the request.
    """
    if isinstance(error, ApiError):
        return error.message, error.hint
    for kind in type(error).__mro__:
        if kind.__name__ in _PUBLIC:
            message, hint = _PUBLIC[kind.__name__]
            log.warning("%s (told the client: %s): %s", kind.__name__, message, error)
            return message, hint or _OPERATOR
    if status >= 500:
        log.warning("failure (told the client it failed): %s", error)
        return "Docent could not handle the request.", _OPERATOR
    return error.message, error.hint


def body(error: DocentError, status: int) -> dict[str, Any]:
    """The JSON body of an error: OpenAI's ``error`` object shape, with Docent's hint."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    message, hint = public(error, status)
    return {"error": {"message": message, "hint": hint, "type": kind, "code": status}}


def response(error: DocentError) -> JSONResponse:
    """The response for a domain error."""
    status = status_of(error)
    headers = dict(error.headers) if isinstance(error, ApiError) else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body(error, status), status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return "The request is not valid: " + "; ".join(problems) + "."


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into a JSON error."""

    @app.exception_handler(DocentError)
    async def _domain(request: Request, error: DocentError) -> JSONResponse:
        return response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        hint = "see the API schema at /openapi.json"
        return response(ApiError(422, _validation_message(error), hint))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = str(error.detail) if error.status_code != 404 else "No such route."
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed(request) or headers.get("Allow", "")
        hint = getattr(error, "hint", "") or "see the API docs at /docs"
        return response(ApiError(error.status_code, message, hint, headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged for the operator with its traceback; the client gets no internals.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        hint = "the server log has the details; report it to the administrator"
        return response(ApiError(500, "Docent failed to handle the request.", hint))
