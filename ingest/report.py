"""What happened to every file of an ingest run."""

from __future__ import annotations

import copy
import json
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import IO, Any, Literal

Status = Literal["added", "updated", "unchanged", "skipped", "failed"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "skipped", "failed")
# Outcomes a report holds in memory; the rest wait in a temporary file (see Outcomes).
KEPT_OUTCOMES = 1000
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


_OUTCOME_FIELDS = tuple(f.name for f in fields(FileOutcome))
# Spooled outcomes an iterator reads at once (one seek, under the lock, for so many).
_READ_LINES = 256
# ``json.dumps(value, default=str)`` without building an encoder on every call.
_encode = json.JSONEncoder(default=str).encode


def plain(outcome: FileOutcome) -> dict[str, Any]:
    """``dataclasses.asdict(outcome)``, without its deep copy of every field (10x faster)."""
    data = {name: getattr(outcome, name) for name in _OUTCOME_FIELDS}
    data["notes"] = list(outcome.notes)
    return data


def indented(data: dict[str, Any]) -> str:
    """``json.dumps(data, indent=2)`` of a flat dict (values text, numbers or lists of them).

    The standard encoder turns to its pure-Python path whenever ``indent`` is given; this
    one encodes each value with the C encoder and lays the lines out the same way.
    """
    lines = [f"  {_encode(key)}: {_indented_value(value)}" for key, value in data.items()]
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


def _indented_value(value: Any) -> str:
    if not isinstance(value, list):
        return _encode(value)
    if not value:
        return "[]"
    return "[\n" + ",\n".join(f"    {_encode(item)}" for item in value) + "\n  ]"


class Outcomes:
    """Every file's outcome, in the order they came, with at most ``kept`` in memory.

    A run over a 100k-file share would otherwise hold 100k outcomes (about 35 MB) until
    its report is printed. Past the first ``kept``, each outcome is written as a JSON line
    to an unlinked temporary file and read back, one at a time, when iterated; counts per
    status are kept as they come. Iterators are independent (each keeps its own offset),
    and appending while iterating is allowed.
    """

    def __init__(self, outcomes: Iterable[FileOutcome] = (), kept: int = KEPT_OUTCOMES) -> None:
        self._kept = kept
        self._head: list[FileOutcome] = []
        self._spool: IO[str] | None = None
        self._spooled = 0
        self._lock = threading.Lock()
        self.tally: Counter[str] = Counter()
        self.extend(outcomes)

    def append(self, outcome: FileOutcome) -> None:
        """Add one file's outcome."""
        with self._lock:
            self.tally[outcome.status] += 1
            if len(self._head) < self._kept:
                self._head.append(outcome)
                return
            if self._spool is None:
                # Open for the report's life; unlinked already, gone with the process.
                self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
            self._spool.seek(0, 2)
            self._spool.write(json.dumps(plain(outcome), ensure_ascii=False) + "\n")
            self._spooled += 1

    def extend(self, outcomes: Iterable[FileOutcome]) -> None:
        """Add outcomes in order."""
        for outcome in outcomes:
            self.append(outcome)

    def __iadd__(self, outcomes: Iterable[FileOutcome]) -> Outcomes:
        self.extend(outcomes)
        return self

    def __len__(self) -> int:
        return len(self._head) + self._spooled

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[FileOutcome]:
        yield from self._head
        offset, read = 0, 0
        while True:
            with self._lock:
                if self._spool is None or read >= self._spooled:
                    return
                self._spool.flush()
                self._spool.seek(offset)
                count = min(_READ_LINES, self._spooled - read)
                lines = [self._spool.readline() for _ in range(count)]
                offset = self._spool.tell()
            read += len(lines)
            for line in lines:
                yield FileOutcome(**json.loads(line))

    def __getitem__(self, index: int) -> FileOutcome:
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        if position < len(self._head):
            return self._head[position]
        for number, outcome in enumerate(self):
            if number == position:
                return outcome
        raise IndexError(index)  # pragma: no cover - the spool holds what was counted

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Outcomes | list):
            return list(self) == list(other)
        return NotImplemented

    def __deepcopy__(self, memo: dict[int, Any]) -> Outcomes:
        # What ``dataclasses.asdict`` of a report does to its files.
        return Outcomes((copy.deepcopy(outcome, memo) for outcome in self), self._kept)

    def __repr__(self) -> str:
        return f"Outcomes({len(self)} files, {len(self._head)} in memory)"


@dataclass
class IngestReport:
    """The closing report of an ingest run (``files`` accepts a list, kept as Outcomes)."""

    collection: str
    dry_run: bool = False
    files: Outcomes = field(default_factory=Outcomes)
    pruned: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # Files the source's permissions let no mapped principal read (indexed for no one).
    unreadable: list[str] = field(default_factory=list)
    # Why the run stopped before its end (its source went away); "" when it did not.
    interrupted: str = ""
    recovered: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    pages: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.files, Outcomes):
            self.files = Outcomes(self.files)

    def counts(self) -> dict[str, int]:
        """Files per status, every status present."""
        tally = self.files.tally
        return {status: tally.get(status, 0) for status in STATUSES}

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that failed."""
        if not self.files.tally["failed"]:
            return []
        return [outcome for outcome in self.files if outcome.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every file went well, 1 when the run was stopped, 2 when some failed."""
        if self.interrupted:
            return 1
        return 2 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, for ``--json``."""
        data = {
            key: list(value) if isinstance(value, list) else value for key, value in self._items()
        }
        data["files"] = [plain(outcome) for outcome in self.files]
        return data

    def _items(self) -> list[tuple[str, Any]]:
        """The report's fields, then the counts per status: the keys of ``--json``."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)] + list(self.counts().items())

    def iter_json(self) -> Iterator[str]:
        """``json.dumps(self.to_dict(), indent=2)``, yielded a file at a time.

        The whole text of a 100k-file report, and the dicts behind it, came to about
        190 MB: more than everything else an unchanged run holds. Here only one file's
        outcome is ever turned into text at once.
        """
        yield "{"
        for number, (key, value) in enumerate(self._items()):
            yield ("," if number else "") + f"\n  {json.dumps(key)}: "
            if key == "files":
                for position, outcome in enumerate(value):
                    text = indented(plain(outcome))
                    yield ("[" if position == 0 else ",") + "\n    "
                    yield text.replace("\n", "\n    ")
                yield "\n  ]" if value else "[]"
            else:
                yield json.dumps(value, indent=2, default=str).replace("\n", "\n  ")
        yield "\n}"
