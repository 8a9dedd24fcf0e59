"""Ingest progress for the terminal: a live bar on a TTY, one line per file otherwise."""

from __future__ import annotations

import sys
import time
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
    TimeRemainingColumn,
)

from ingest.report import FileOutcome, shown


class TerminalProgress:
    """Shows files done, chunks stored, chunk rate and ETA while an ingest runs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.files = 0
        self.done = 0
        self.chunks = 0
        self.started = time.perf_counter()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> TerminalProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("[bold]ingest"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
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

    def _rate(self) -> str:
        elapsed = time.perf_counter() - self.started
        return f"{self.chunks / elapsed:.1f} chunks/s" if elapsed > 0 else "-"

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""
        self.files = files
        if self._bar is not None:
            self._task = self._bar.add_task("ingest", total=files, chunks=0, rate="-")

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome."""
        self.done += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, chunks=self.chunks, rate=self._rate())
            return
        detail = f" ({outcome.chunks} chunks)" if outcome.chunks else ""
        reason = f": {shown(outcome.reason)}" if outcome.reason else ""
        print(
            f"[{self.done}/{self.files}] {outcome.status} {shown(outcome.source)}{detail}{reason}",
            file=self.stream,
            flush=True,
        )

    def chunks_done(self, count: int) -> None:
        """``count`` more chunks were stored."""
        self.chunks += count
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, chunks=self.chunks, rate=self._rate())
