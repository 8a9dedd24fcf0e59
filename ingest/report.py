"""What happened to every file of an ingest run."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["added", "updated", "unchanged", "skipped", "failed"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "skipped", "failed")
# Control, format (bidirectional overrides, zero-width) and line or paragraph separators.
_UNSHOWN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def shown(text: str) -> str:
    """A file name (or a line naming one) safe to print on a terminal or a page.

    Newlines, escape sequences and bidirectional controls in a name could draw a fake
    log line, move the cursor or reverse the text that follows; each such character is
    shown as its escape (``\\n``, ``\\x1b``, ``\\u202e``) and a backslash as two, so
    different names always look different. JSON output keeps the exact name.
    """
    return "".join(_NAMED.get(c) or _escaped(c) for c in text)


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _UNSHOWN:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@dataclass(slots=True)
class FileOutcome:
    """One file's fate.

    Attributes:
        path: The file as given on disk.
        source: Its path relative to the ingest root (the ``source`` of its chunks).
        status: added, updated, unchanged, skipped or failed.
        reason: Why it was skipped or failed, with the fix when there is one.
        chunks: Chunks stored for it in this run.
        pages: Pages read (paged formats).
        notes: Warnings that did not fail the file (e.g. pages that need OCR).
    """

    path: str
    source: str
    status: Status
    reason: str = ""
    chunks: int = 0
    pages: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The closing report of an ingest run."""

    collection: str
    dry_run: bool = False
    files: list[FileOutcome] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    recovered: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    pages: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Files per status, every status present."""
        tally = Counter(outcome.status for outcome in self.files)
        return {status: tally.get(status, 0) for status in STATUSES}

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that failed."""
        return [outcome for outcome in self.files if outcome.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every file went well, 2 when some failed."""
        return 2 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, for ``--json``."""
        data = asdict(self)
        data.update(self.counts())
        return data
