"""Progress for the terminal: a live line on a TTY, a log of lines otherwise.

An ingest shows files and chunks done, the rate, an ETA and the file being stored. The ETA
(``Eta``) counts only the files that need parsing and embedding (an unchanged file costs a
``stat``), measures the work done as the mean of the share of those files and the share of
their bytes (a share of many small notes and one of a few large PDFs both move it
steadily), and divides what is left by the rate of the last minute. A summary shows its
map-reduce step.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ingest.report import FileOutcome, shown

# No ETA before this much work is measured: the first seconds load the model and fill
# the parsing pipeline, and a rate taken over them would promise too much or too little.
MIN_SECONDS = 10.0
MIN_SHARE = 0.01
WINDOW_SECONDS = 60.0
LOG_EVERY_SECONDS = 10.0


class Eta:
    """Time left of the work an ingest planned, from the rate of the last minute.

    Args:
        clock: Seconds, monotonic (a test passes its own).
        window: Seconds of recent work the rate is taken over.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, window: float = WINDOW_SECONDS
    ) -> None:
        self.clock, self.window = clock, window
        self.files = self.size = 0
        self.files_done = self.size_done = 0
        self.started: float | None = None
        self._samples: deque[tuple[float, float]] = deque()

    def plan(self, files: int, size: int) -> None:
        """``files`` files of ``size`` bytes will be parsed and embedded; the clock starts."""
        self.files, self.size = files, max(size, 1)
        self.started = self.clock()
        self._samples = deque([(self.started, 0.0)])

    def done(self, size: int) -> None:
        """One planned file of ``size`` bytes is finished."""
        if self.started is None:
            return
        self.files_done += 1
        self.size_done += size
        now = self.clock()
        self._samples.append((now, self.share()))
        while len(self._samples) > 2 and self._samples[1][0] < now - self.window:
            self._samples.popleft()

    def share(self) -> float:
        """Share of the planned work done, 0 to 1."""
        if not self.files:
            return 0.0
        return min(1.0, (self.files_done / self.files + self.size_done / self.size) / 2)

    def seconds_left(self) -> float | None:
        """Estimated seconds to the end, or None while too little work is measured."""
        if self.started is None or not self.files:
            return None
        now, share = self.clock(), self.share()
        if share >= 1.0:
            return 0.0
        if now - self.started < MIN_SECONDS or share < MIN_SHARE:
            return None
        since, before = self._samples[0]
        if share <= before or now <= since:
            return None
        return (1.0 - share) * (now - since) / (share - before)


def clock_text(seconds: float | None) -> str:
    """``1:02:03``, ``4:05``, or ``estimating`` when there is no estimate yet."""
    if seconds is None:
        return "estimating"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TerminalProgress:
    """Shows files and chunks done, rate, ETA and the current file while an ingest runs."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.clock = clock
        self.files = self.done = self.chunks = 0
        self.current = ""
        self.started = clock()
        self.eta = Eta(clock)
        self._sizes: dict[str, int] = {}
        self._logged = self.started
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> TerminalProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("[bold]ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files · {task.fields[status]}"),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def status(self) -> str:
        """Chunks, rate, ETA and the file at hand, in one line."""
        elapsed = max(self.clock() - self.started, 1e-9)
        current = f" · {self.current}" if self.current else ""
        return (
            f"{self.chunks} chunks · {self.done / elapsed:.1f} files/s, "
            f"{self.chunks / elapsed:.1f} chunks/s · ETA {clock_text(self.eta.seconds_left())}"
            f"{current}"
        )

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""
        self.files = files
        if self._bar is not None:
            self._task = self._bar.add_task("ingest", total=files, status=self.status())

    def planned(self, files: int, size: int) -> None:
        """``files`` files of ``size`` bytes need parsing and embedding."""
        self.eta.plan(files, size)

    def storing(self, source: str, size: int) -> None:
        """The file ``source`` is being embedded and stored."""
        self.current = source
        self._sizes[source] = size
        self._refresh()

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome."""
        self.done += 1
        if outcome.status in ("added", "updated", "failed"):
            self.eta.done(self._sizes.pop(outcome.source, 0))
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, status=self.status())
            return
        now = self.clock()
        if outcome.status != "unchanged":
            detail = f" ({outcome.chunks} chunks)" if outcome.chunks else ""
            reason = f": {shown(outcome.reason)}" if outcome.reason else ""
            source = shown(outcome.source)
            self._print(f"[{self.done}/{self.files}] {outcome.status} {source}{detail}{reason}")
        elif self.done == self.files or now - self._logged >= LOG_EVERY_SECONDS:
            self._print(f"[{self.done}/{self.files}] {self.status()}")
        else:
            return
        self._logged = now

    def chunks_done(self, count: int) -> None:
        """``count`` more chunks were stored."""
        self.chunks += count
        self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, status=self.status())
        elif self.clock() - self._logged >= LOG_EVERY_SECONDS:
            self._print(f"[{self.done}/{self.files}] {self.status()}")
            self._logged = self.clock()

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


class SummaryProgress:
    """Shows a summary's steps: one line redrawn on a TTY, each step on a line of its own otherwise.

    Its ``step`` is a ``progress(done, total, step)`` callback; wrap it in
    ``app.progress_steps.Steps`` so that the summary's repeats of a step are not printed again.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if self.stream.isatty():
            self._bar = Progress(
                TextColumn("[bold]summarize"),
                BarColumn(),
                # A step may name a heading of the document: its brackets are not markup.
                TextColumn("{task.fields[step]}", markup=False),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
                transient=True,
            )

    def __enter__(self) -> SummaryProgress:
        if self._bar is not None:
            self._task = self._bar.add_task("summarize", total=None, step="")
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def step(self, done: int, total: int, step: str) -> None:
        """Step ``done`` of ``total`` (``step`` says what it does) has begun."""
        line = f"[{done}/{total}] {step}"
        if self._bar is not None and self._task is not None:
            # ``done`` is the step under way: the ones before it are finished.
            self._bar.update(self._task, completed=done - 1, total=total, step=line)
        else:
            print(line, file=self.stream, flush=True)
