"""Work a few items ahead of the consumer, in background threads."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ahead(items: Iterable[T], work: Callable[[T], R], depth: int, workers: int = 1) -> Iterator[R]:
    """Yield ``work(item)`` for each item, with ``workers`` threads computing ahead.

    ``work`` runs in background threads, so it overlaps with whatever the consumer does
    between items (useful when both release the GIL, or when ``work`` waits on a child
    process). With one worker the results come in order; with several, as they finish, so
    one slow item does not hold up the others. At most ``depth`` finished results wait for
    the consumer (plus one per worker), which bounds memory. An exception in a thread is
    raised here, in the consumer, rather than lost with the thread; a consumer that stops
    early stops the threads after their current item.
    """
    results: queue.Queue[tuple[R] | BaseException | None] = queue.Queue(max(depth, 1))
    stop = threading.Event()
    source = iter(items)
    lock = threading.Lock()

    def produce() -> None:
        try:
            while not stop.is_set():
                with lock:
                    item = next(source, _END)
                if item is _END:
                    break
                results.put((work(item),))  # type: ignore[arg-type]
        except BaseException as error:  # handed to the consumer below
            results.put(error)
        results.put(None)

    threads = [threading.Thread(target=produce, daemon=True) for _ in range(max(workers, 1))]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < len(threads):
            got = results.get()
            if got is None:
                finished += 1
            elif isinstance(got, BaseException):
                raise got
            else:
                yield got[0]
    finally:
        stop.set()
        while any(thread.is_alive() for thread in threads):
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.1)
