"""JSON request bodies as the routes read them: text that is not Unicode is a 400.

JSON may write a lone UTF-16 surrogate (``"\\ud800"``) that no UTF-8 text holds; Python
parses it into a string that fails later, deep in retrieval, the index or the audit log.
Every route of the API reads its body through ``TextRoute``, which refuses such a body
once, at parsing, with the field that holds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException


class BodyError(HTTPException):
    """A body FastAPI's parsing lets through that Docent cannot read (400, with the fix)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(400, message)
        self.hint = hint


class TextRequest(Request):
    """A request whose JSON body holds only Unicode text."""

    async def json(self) -> Any:
        """The parsed body (parsed once).

        Raises:
            BodyError: A string or key holds a lone surrogate.
        """
        if not hasattr(self, "_json"):
            parsed = json.loads(await self.body())
            where = _not_unicode(parsed, "body")
            if where is not None:
                raise BodyError(
                    f"The request's text is not valid Unicode: `{where[:80]}` holds a lone "
                    "surrogate (a \\uD800-\\uDFFF escape without its pair).",
                    "send UTF-8 text; a character beyond U+FFFF is written as a pair of "
                    "escapes (\\uD83D\\uDE00) or as itself",
                )
            self._json = parsed
        return self._json


class TextRoute(APIRoute):
    """An API route that reads its body as a ``TextRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, given a ``TextRequest``."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(TextRequest(request.scope, request.receive))

        return checked


def _not_unicode(value: Any, where: str) -> str | None:
    """The path of the first string or key that is not Unicode text, or None."""
    if isinstance(value, str):
        return None if _encodes(value) else where
    items = enumerate(value) if isinstance(value, list) else []
    if isinstance(value, dict):
        if not all(_encodes(key) for key in value):
            return f"{where}.<key>"
        items = value.items()
    for key, item in items:
        found = _not_unicode(item, f"{where}.{key}")
        if found is not None:
            return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
