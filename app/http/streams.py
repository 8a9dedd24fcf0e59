"""Server-Sent Events: the wire format, and work that reports progress from a thread."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from app.http.errors import body, status_of
from models.errors import DocentError

Emit = Callable[[str, dict[str, Any]], None]
_DONE = object()


def event(name: str, data: Any) -> bytes:
    """One SSE event: ``event: name`` and its JSON ``data``."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def error_event(error: Exception) -> bytes:
    """An ``error`` event: a domain error's message and hint, or a generic failure."""
    if isinstance(error, DocentError):
        return event("error", body(error, status_of(error)))
    failure = DocentError("Docent failed to finish the request.", "see the server log")
    return event("error", body(failure, 500))


def sse(events: Iterator[bytes]) -> StreamingResponse:
    """A streaming response of SSE events (no caching, no proxy buffering)."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def run_with_progress(work: Callable[[Emit], tuple[str, Any]]) -> Iterator[bytes]:
    """Run ``work`` in a thread; yield the events it emits, then its result event.

    Args:
        work: Gets an ``emit(name, data)`` callback and returns the final event's
            name and data. A ``DocentError`` it raises becomes an ``error`` event.
    """
    pending: queue.Queue[Any] = queue.Queue()

    def run() -> None:
        try:
            pending.put(event(*work(lambda name, data: pending.put(event(name, data)))))
        except Exception as error:
            pending.put(error_event(error))
        finally:
            pending.put(_DONE)

    threading.Thread(target=run, name="docent-http-work", daemon=True).start()
    while (item := pending.get()) is not _DONE:
        yield item
