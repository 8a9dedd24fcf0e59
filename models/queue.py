"""A first-come, first-served line for a model that can serve one generation at a time.

An embedded llama.cpp model holds one KV cache: two generations at once would corrupt
each other, so they must take turns. A plain lock does not say who goes next (a thread
that just released it often wins it straight back, and a user can wait through several
later questions), nor how long the line is. ``FairQueue`` serves tickets in arrival order
and tells each waiter its place: a caller that wants to show "busy: 2 questions ahead of
yours" wraps its work in ``queue_listener``.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

QueueListener = Callable[[int], None]
"""Called with the number of generations ahead while waiting, then 0 when the turn comes."""

_LISTENER: ContextVar[QueueListener | None] = ContextVar("docent_queue_listener", default=None)


@contextmanager
def queue_listener(listener: QueueListener) -> Iterator[None]:
    """Report this thread's place in any model queue it waits in, while the block runs.

    Args:
        listener: Called with the number of generations ahead each time it changes
            (and 0 when the wait is over); never called when there is no wait. It runs
            while the queue is locked, so it must return quickly (set a status, log).
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class FairQueue:
    """Serves one holder at a time, in the order they asked."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: deque[int] = deque()
        self._tickets = itertools.count()

    @property
    def waiting(self) -> int:
        """How many are waiting behind the current holder."""
        with self._changed:
            return max(len(self._line) - 1, 0)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this caller's turn, hold it for the block, then pass it on."""
        listener = _LISTENER.get()
        with self._changed:
            ticket = next(self._tickets)
            self._line.append(ticket)
            ahead = len(self._line) - 1
            waited = ahead > 0
            while ahead:
                if listener is not None:
                    listener(ahead)
                self._changed.wait()
                ahead = self._line.index(ticket)
            if waited and listener is not None:
                listener(0)
        try:
            yield
        finally:
            with self._changed:
                self._line.remove(ticket)
                self._changed.notify_all()
