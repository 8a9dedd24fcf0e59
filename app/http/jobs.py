"""Ingest jobs: an ingest run in the background, its progress as events, and Cancel.

A job runs ``Docent.ingest`` (access rules, audit and all) in a thread. Its progress
callbacks become events kept in order, so any number of readers can follow a job from
its start; Cancel ends the run at its next progress update, and what that left
half-written is taken out at once (``Docent.recover``), as the Library page's Stop does.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from app.auth.accounts import User
from app.http import schemas
from app.http.errors import ApiError
from models.errors import DocentError

if TYPE_CHECKING:
    from app.api import Docent
    from ingest.pipeline import Progress
    from ingest.report import FileOutcome, IngestReport

State = Literal["running", "done", "failed", "cancelled"]
_KEEP = 200  # finished jobs remembered, newest kept


class Cancelled(Exception):
    """Raised from a progress callback to end a cancelled run."""


@dataclass
class Job:
    """One ingest run and what it has reported so far."""

    id: str
    user: User
    collection: str
    state: State = "running"
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    report: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def emit(self, name: str, data: dict[str, Any]) -> None:
        """Record an event and wake the readers."""
        with self.changed:
            self.events.append((name, data))
            self.changed.notify_all()

    def follow(self, timeout: float = 15.0) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every event from the first, waiting for more until the job ends.

        A ``ping`` comes after ``timeout`` seconds without news, so proxies keep the
        connection open.
        """
        seen = 0
        while True:
            with self.changed:
                if seen == len(self.events) and self.state == "running":
                    self.changed.wait(timeout)
                fresh, seen = self.events[seen:], len(self.events)
                finished = self.state != "running" and seen == len(self.events)
            yield from fresh
            if finished:
                return
            if not fresh:
                yield "ping", {}

    def describe(self) -> dict[str, Any]:
        """The job's state and, once done, its report."""
        return {
            "id": self.id,
            "collection": self.collection,
            "user": self.user.name,
            "state": self.state,
            "events": len(self.events),
            "report": self.report,
            "error": self.error,
        }


class JobProgress:
    """The ``ingest.pipeline.Progress`` of a job: events out, Cancel in."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def _check(self) -> None:
        if self.job.cancel.is_set():
            raise Cancelled

    def start(self, files: int) -> None:
        """The run will look at ``files`` files."""
        self.job.emit("start", {"files": files})
        self._check()

    def file_done(self, outcome: FileOutcome) -> None:
        """A file reached its outcome."""
        data = {"source": outcome.source, "status": outcome.status, "reason": outcome.reason}
        self.job.emit("file", data | {"chunks": outcome.chunks})
        self._check()

    def chunks_done(self, count: int) -> None:
        """``count`` more chunks were stored."""
        self.job.emit("chunks", {"count": count})
        self._check()


class Jobs:
    """The ingest jobs of one server."""

    def __init__(self, docent: Docent) -> None:
        self.docent = docent
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, user: User, collection: str, run: Callable[[Progress], IngestReport]) -> Job:
        """Start ``run`` (an ingest into ``collection`` as ``user``) in a thread; return the job.

        ``run`` is given the job's progress: a ``Docent.ingest`` or ``Docent.ingest_uploads``.
        """
        job = Job(secrets.token_hex(8), user, collection)
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(finished) - _KEEP)]:
                del self._jobs[old.id]
        thread = threading.Thread(
            target=self._runner(job, run), name=f"docent-ingest-{job.id}", daemon=True
        )
        thread.start()
        return job

    def _runner(self, job: Job, run: Callable[[Progress], IngestReport]) -> Callable[[], None]:
        def runner() -> None:
            state: State = "failed"
            try:
                started = time.perf_counter()
                report = run(JobProgress(job))
                report.seconds = report.seconds or time.perf_counter() - started
                job.report, state = schemas.report(report), "done"
            except Cancelled:
                self.docent.recover(job.collection, user=job.user)
                state = "cancelled"
            except DocentError as error:
                job.error = {"message": error.message, "hint": error.hint}
            except Exception as error:
                job.error = {"message": f"The ingest failed: {type(error).__name__}."}
            finally:
                with job.changed:
                    job.state = state
                job.emit(state, job.describe())

        return runner

    def get(self, job_id: str, user: User) -> Job:
        """A job its starter (or an administrator) may see.

        Raises:
            ApiError: 404, also for someone else's job (its existence is not revealed).
        """
        job = self._jobs.get(job_id)
        if job is None or not (user.is_admin or job.user.name == user.name):
            raise ApiError(404, f"No ingest job `{job_id[:40]}`.", "see GET /api/v1/jobs")
        return job

    def mine(self, user: User) -> list[Job]:
        """The jobs ``user`` may see, oldest first."""
        return [j for j in list(self._jobs.values()) if user.is_admin or j.user.name == user.name]
