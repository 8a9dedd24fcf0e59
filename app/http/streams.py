"""Server-Sent Events: the wire format, and work that reports progress from a thread."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
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


class EventStream(StreamingResponse):
    """Server-Sent Events (the route's ``response_class`` documents the media type)."""

    media_type = "text/event-stream"


def streamed(what: str) -> dict[str, Any]:
    """The OpenAPI content of an SSE response: events as ``what`` says."""
    return {"text/event-stream": {"schema": {"type": "string", "description": what}}}


def sse(events: Iterator[bytes]) -> StreamingResponse:
    """A streaming response of SSE events (no caching, no proxy buffering)."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return EventStream(pumped(events), headers=headers)


async def pumped(events: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``events`` read in a thread of their own, sent as they come.

    Starlette would fetch each item of a blocking iterator through its thread pool, one
    round trip per model token; here one thread reads the whole stream, and whatever has
    arrived by the time the event loop runs goes out in one write. When the client goes
    away the thread stops at the next item and closes ``events`` (which records a
    stopped answer in the audit log).
    """
    loop = asyncio.get_running_loop()
    arrived: asyncio.Queue[Any] = asyncio.Queue()
    stopped = threading.Event()

    def pump() -> None:
        try:
            for item in events:
                loop.call_soon_threadsafe(arrived.put_nowait, item)
                if stopped.is_set():
                    break
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            loop.call_soon_threadsafe(arrived.put_nowait, _DONE)

    threading.Thread(target=pump, name="docent-http-stream", daemon=True).start()
    try:
        finished = False
        while not finished:
            batch = [await arrived.get()]
            while not arrived.empty():
                batch.append(arrived.get_nowait())
            finished = batch[-1] is _DONE
            yield b"".join(item for item in batch if item is not _DONE)
    finally:
        stopped.set()


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
