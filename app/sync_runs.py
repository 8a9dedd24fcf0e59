"""The last scheduled run of each source, kept in the data folder for whoever asks.

``docent scheduler`` writes a run when it starts (``running``, with its PID) and again when
it ends; ``docent status`` and the Status page read the file, so they need no scheduler
running to say how the last sync went. The file is small (one record per source) and is
replaced atomically, so a reader never sees half a write.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

RUNS_FILE = "scheduled-runs.json"
# What a run came to: every file went well; some files failed (exit code 2); the run could
# not be made or broke off (1); the index was held by another writer; SIGTERM stopped it.
Result = Literal["running", "ok", "failed files", "error", "index busy", "stopped"]


@dataclass(frozen=True)
class SyncRun:
    """One run of a scheduled source (or of the directory sync, named ``directory``).

    Attributes:
        source: The source's name.
        kind: ``folder``, ``share`` or ``directory``.
        target: The folder or share synced, or the directory's address.
        collection: The collection synced into ("" for the directory).
        started_at: When the run started (ISO 8601, UTC).
        finished_at: When it ended ("" while it runs).
        result: What it came to.
        exit_code: The exit code ``docent ingest`` would have given it.
        counts: Files per outcome (added, updated, unchanged, ...), or the directory
            sync's people, groups and changes.
        error: Why it failed or stopped, and the fix ("" when it did not).
        next_run: When the scheduler means to run it next ("" if not known).
        pid: The scheduler's process id.
    """

    source: str
    kind: str
    target: str
    collection: str
    started_at: str
    finished_at: str = ""
    result: Result = "running"
    exit_code: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""
    next_run: str = ""
    pid: int = 0

    def tally(self) -> str:
        """The counts in words, those above zero (``3 added, 120 unchanged``)."""
        return ", ".join(f"{count} {what}" for what, count in self.counts.items() if count)

    def seen(self) -> SyncRun:
        """The run as a reader should see it: a ``running`` run whose process is gone ended."""
        if self.result != "running" or _alive(self.pid):
            return self
        return replace(
            self, result="error", exit_code=1, error="the scheduler ended during this run"
        )


class SyncRuns:
    """The file of last runs, by source name.

    Args:
        path: The file (``<data_dir>/scheduled-runs.json``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def last(self) -> list[SyncRun]:
        """Each source's last run, by source name; none when nothing has run yet."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # a damaged file is rewritten whole by the next run
        runs = [_run(item) for item in data.get("runs", {}).values() if isinstance(item, dict)]
        return sorted((run.seen() for run in runs if run is not None), key=lambda r: r.source)

    def get(self, source: str) -> SyncRun | None:
        """The last run of ``source``, if any."""
        return next((run for run in self.last() if run.source == source), None)

    def record(self, run: SyncRun) -> None:
        """Keep ``run`` as its source's last run (the file is replaced atomically)."""
        runs = {known.source: known for known in self.last()}
        runs[run.source] = run
        payload = {"version": 1, "runs": {name: asdict(r) for name, r in sorted(runs.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".runs-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _run(item: dict[str, Any]) -> SyncRun | None:
    """A run read back; None for a record of another shape (a newer or damaged file)."""
    try:
        return SyncRun(**item)
    except TypeError:
        return None


def _alive(pid: int) -> bool:
    """Whether a process of this id runs (one of another user's counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
