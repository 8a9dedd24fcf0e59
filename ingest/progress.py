"""What an ingest run tells whoever watches it (the CLI's bar, the Library page, a job)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ingest.report import FileOutcome


class Progress(Protocol):
    """Receives progress while an ingest runs (the CLI draws a bar from it)."""

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome."""

    def chunks_done(self, count: int) -> None:
        """``count`` more chunks were stored."""


@runtime_checkable
class WorkProgress(Progress, Protocol):
    """A ``Progress`` that also wants the work ahead and the file at hand (for an ETA)."""

    def planned(self, files: int, size: int) -> None:
        """``files`` files of ``size`` bytes in all need parsing and embedding."""

    def storing(self, source: str, size: int) -> None:
        """The file ``source`` (``size`` bytes, parsed) is being embedded and stored."""
