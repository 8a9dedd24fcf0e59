"""A summary's progress as a person reads it: each step once.

While the model writes, ``rag.summarize`` reports the step at hand again every half second:
those repeats are where the UI's Stop takes effect, so they stay in the callback's contract.
A face that prints steps or sends them as events (the CLI, the HTTP API) shows each once.
"""

from __future__ import annotations

from collections.abc import Callable

Step = tuple[int, int, str]


class Steps:
    """A ``progress(done, total, step)`` callback that passes each step on once.

    A report equal to the one before it is a repeat of the step at hand and is dropped.

    Args:
        report: Called with each new step.
    """

    def __init__(self, report: Callable[[int, int, str], None]) -> None:
        self.report = report
        self.last: Step | None = None

    def __call__(self, done: int, total: int, step: str) -> None:
        if (done, total, step) == self.last:
            return
        self.last = (done, total, step)
        self.report(done, total, step)
