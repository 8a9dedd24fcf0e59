"""Errors as JSON: the CLI's message and hint, the right status, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def body(error: DocentError, status: int) -> dict[str, Any]:
    """The JSON body of an error: OpenAI's ``error`` object shape, with Docent's hint."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": error.message, "hint": error.hint, "type": kind, "code": status}}


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
        return response(ApiError(error.status_code, message, "see the API docs at /docs"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Logged for the operator with its traceback; the client gets no internals.
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        hint = "the server log has the details; report it to the administrator"
        return response(ApiError(500, "Docent failed to handle the request.", hint))
