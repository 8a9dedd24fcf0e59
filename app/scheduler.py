"""``docent scheduler``: the configured sources, and the directory sync, run on their schedules.

One scheduler process per data folder (a lock file says so), running one thing at a time:
a source is never synced twice at once, and no run overlaps another writer, since each
sync takes the index's writer lock and a run that finds it held is recorded as ``index
busy`` and tried again a few minutes later. A run is due at the first schedule time
after its last run ended (``app.schedule``): after downtime, a missed run happens once, at
start. SIGTERM or SIGINT ends the wait at once and a sync after the file at hand; what
that sync left half-written is taken out (``Docent.recover``), as the Library page's
Stop does. Each run is kept in ``<data_dir>/scheduled-runs.json`` (``app.sync_runs``)
and written to the audit log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from app.schedule import Schedule
from app.sources import is_share
from app.sync_runs import RUNS_FILE, Result, SyncRun, SyncRuns
from ingest.report import FileOutcome
from models.errors import DocentError
from rag.lock import IndexLockedError, give_back, take

if TYPE_CHECKING:
    from app.api import Docent
    from app.schedule import ScheduledSource

ACTOR = "scheduler"
DIRECTORY = "directory"
LOCK_FILE = "scheduler.lock"
# A run the index's lock or an error kept from its end is tried again this soon (or at its
# next schedule time, if sooner), so a busy moment does not cost a daily source a day.
RETRY = timedelta(minutes=5)
Outcome = tuple[Result, int, dict[str, int], str]


class Stopped(Exception):
    """Raised between files once the scheduler is told to stop."""


class SchedulerRunning(DocentError):
    """Another scheduler runs on this data folder."""


class StopCheck:
    """An ingest's ``Progress`` that ends the run between files once ``stop`` is set."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""
        self._check()

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome: the place to stop."""
        self._check()

    def chunks_done(self, count: int) -> None:
        """Chunks were stored (a file is half-stored here: not a place to stop)."""

    def _check(self) -> None:
        if self.stop.is_set():
            raise Stopped


@dataclass(frozen=True)
class Job:
    """One thing the scheduler runs: a source's sync, or the directory sync."""

    name: str
    kind: str
    target: str
    collection: str
    schedule: Schedule
    run: Callable[[], Outcome]


class Scheduler:
    """Runs the jobs of ``docent``'s settings when they fall due.

    Args:
        docent: The process's ``Docent`` (its settings name the sources).
        stop: Set to stop (the CLI sets it on SIGTERM and SIGINT).
    """

    def __init__(self, docent: Docent, stop: threading.Event | None = None) -> None:
        self.docent = docent
        self.stop = stop or threading.Event()
        settings = docent.settings
        self.runs = SyncRuns(settings.data_dir / RUNS_FILE)
        self.jobs = [self._source_job(source) for source in settings.sources]
        if settings.directory_sync_schedule:
            schedule = Schedule.parse(settings.directory_sync_schedule)
            job = Job(DIRECTORY, DIRECTORY, settings.ldap_url, "", schedule, self._directory)
            self.jobs.append(job)

    def check(self) -> None:
        """Refuse settings the scheduler cannot work from, naming the setting.

        Raises:
            DocentError: Nothing is configured, a source's folder does not exist, or a
                share labelled by its permissions is given labels.
        """
        if not self.jobs:
            raise DocentError(
                "No sources to sync: the `sources` setting is empty and "
                "`directory_sync_schedule` is not set.",
                hint="add a [[sources]] table (name, path, schedule) to the settings file "
                "(README, Scheduled sync)",
            )
        settings = self.docent.settings
        for source in settings.sources:
            if is_share(source.path) and source.labels and settings.smb_principals:
                raise DocentError(
                    f"sources: source `{source.name}` gives `labels` to a share whose "
                    "permissions label its documents (smb_principals).",
                    hint=f"leave out `labels` in the [[sources]] table named `{source.name}`",
                )
            if not is_share(source.path) and not Path(source.path).is_dir():
                raise DocentError(
                    f"sources: the path `{source.path}` of source `{source.name}` is not a folder.",
                    hint=f"fix `path` in the [[sources]] table named `{source.name}`, or mount "
                    "the folder",
                )

    def run_forever(self) -> None:
        """Run each job when it falls due until ``stop`` is set."""
        self.check()
        with self._held():
            while not self.stop.is_set():
                now = datetime.now(UTC)
                when, job = min(((self.due(job), job) for job in self.jobs), key=_first)
                if when > now:
                    self.stop.wait((when - now).total_seconds())
                    continue
                self.run(job)

    def run_due(self) -> list[SyncRun]:
        """Run every job due now, once each, and return their runs (``--once``)."""
        self.check()
        with self._held():
            now = datetime.now(UTC)
            return [self.run(job) for job in self.jobs if self.due(job) <= now]

    def due(self, job: Job) -> datetime:
        """When ``job`` next falls due (now or earlier: it is due)."""
        return _due_after(job, self.runs.get(job.name))

    def run(self, job: Job) -> SyncRun:
        """Run ``job`` now; record its start and its outcome, and audit it."""
        started = datetime.now(UTC)
        running = SyncRun(
            job.name, job.kind, job.target, job.collection, iso(started), pid=os.getpid()
        )
        self.runs.record(running)
        try:
            result, code, counts, error = job.run()
        except Stopped:
            result, code, counts, error = "stopped", 1, {}, "stopped by SIGTERM between files"
            if job.kind != DIRECTORY:
                self.docent.recover(job.collection)
        except IndexLockedError as busy:
            result, code, counts, error = "index busy", 1, {}, _told(busy)
        except DocentError as failure:
            result, code, counts, error = "error", 1, {}, _told(failure)
        except Exception as failure:  # recorded, and the scheduler goes on with the next
            result, code, counts = "error", 1, {}
            error = f"{type(failure).__name__}: {failure}"
        done = replace(
            running,
            finished_at=iso(datetime.now(UTC)),
            result=result,
            exit_code=code,
            counts=counts,
            error=error,
        )
        later = "at the scheduler's next start" if result == "stopped" else None
        done = replace(done, next_run=later or iso(_due_after(job, done)))
        self.runs.record(done)
        self.docent.audit.append(
            "scheduled_sync", ACTOR, source=job.name, kind=job.kind, target=job.target,
            collection=job.collection, result=result, exit_code=code, counts=counts,
            error=error, started_at=done.started_at, finished_at=done.finished_at,
        )  # fmt: skip
        return done

    def _source_job(self, source: ScheduledSource) -> Job:
        kind = "share" if is_share(source.path) else "folder"
        collection = source.collection or self.docent.settings.collection

        def sync() -> Outcome:
            location: str | Path = source.path if kind == "share" else Path(source.path)
            report = self.docent.ingest(
                [location],
                collection,
                labels=source.labels,
                prune=source.prune,
                progress=StopCheck(self.stop),
            )
            counts = report.counts() | {"pruned": len(report.pruned)}
            if report.interrupted:
                return "error", report.exit_code, counts, report.interrupted
            result: Result = "failed files" if report.exit_code else "ok"
            failed = "; ".join(f"{o.source}: {o.reason}" for o in report.failed[:5])
            return result, report.exit_code, counts, failed

        return Job(source.name, kind, source.path, collection, source.timetable(), sync)

    def _directory(self) -> Outcome:
        outcome = self.docent.sync_directory()
        changes = outcome.changes
        counts = {
            "people": outcome.people,
            "groups": outcome.groups,
            "added": len(changes.added),
            "changed": len(changes.changed) + len(changes.enabled) + len(changes.replaced),
            "disabled": len(changes.disabled),
        }
        return "ok", 0, counts, ""

    def _held(self) -> _SchedulerLock:
        return _SchedulerLock(self.docent.settings.data_dir / LOCK_FILE)


class _SchedulerLock:
    """One scheduler per data folder: an ``flock`` the kernel drops when its holder dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _SchedulerLock:
        fd, holder = take(self.path)
        if fd is None:
            raise SchedulerRunning(
                f"A scheduler (PID {holder}) runs on the data folder {self.path.parent} already.",
                hint="run one `docent scheduler` per data folder; stop that one first",
            )
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            give_back(self._fd)
            self._fd = None


def _due_after(job: Job, last: SyncRun | None) -> datetime:
    """When ``job`` falls due after its ``last`` run."""
    if last is None or last.result in ("running", "stopped"):
        return datetime.min.replace(tzinfo=UTC)  # never ran, or a run left unfinished
    # Counted from the run's end: a sync longer than its interval is not run back to back.
    ended = datetime.fromisoformat(last.finished_at or last.started_at)
    due = job.schedule.next_after(ended)
    if last.result in ("index busy", "error"):
        due = min(due, ended + RETRY)
    return due


def _first(pair: tuple[datetime, Job]) -> datetime:
    return pair[0]


def iso(moment: datetime) -> str:
    """A moment as ISO 8601 in UTC, to the second (as runs are recorded)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _told(error: DocentError) -> str:
    return f"{error.message} Fix: {error.hint}" if error.hint else error.message
