"""Work a few items ahead of the consumer, in a background thread."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ahead(items: Iterable[T], work: Callable[[T], R], depth: int) -> Iterator[R]:
    """Yield ``work(item)`` for each item in order, computing up to ``depth`` ahead.

    ``work`` runs in a background thread, so it overlaps with whatever the consumer does
    between items (useful when both release the GIL). An exception in the thread is raised
    here, in the consumer, rather than lost with the thread; a consumer that stops early
    stops the thread after its current item.
    """
    results: queue.Queue[tuple[R] | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                results.put((work(item),))
        except BaseException as error:  # handed to the consumer below
            results.put(error)
        results.put(None)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while (got := results.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield got[0]
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.1)
