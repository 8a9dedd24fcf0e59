"""``docent scheduler``: sync the configured sources (and the directory) on their schedules."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

import click

from app.cli import render
from app.cli.common import EXIT_FAILED_FILES, EXIT_FATAL, EXIT_OK, docent_of
from app.scheduler import Scheduler, iso


@click.command()
@click.option("--once", is_flag=True, help="Run what is due now, once each, then exit (for cron).")
@click.pass_context
def scheduler(ctx: click.Context, once: bool) -> int:
    """Sync each of the `sources` (and the directory) when its schedule says; runs until stopped.

    One scheduler per data folder, one run at a time. A run that finds another process
    writing to the index is tried again five minutes later; a run missed while the
    scheduler was down runs once at its start. SIGTERM or Ctrl+C stops it between files.
    Each run's outcome is shown by `docent status` and the Status page, and is in the
    audit log.
    """
    work = Scheduler(docent_of(ctx))
    if once:
        runs = work.run_due()
        for run in runs:
            click.echo(render.scheduled_run(run))
        if not runs:
            due = ", ".join(f"{job.name} at {iso(work.due(job))}" for job in work.jobs)
            click.echo(f"Nothing is due: {due}.")
        if any(run.exit_code == EXIT_FATAL for run in runs):
            return EXIT_FATAL
        return EXIT_FAILED_FILES if any(run.exit_code for run in runs) else EXIT_OK
    work.check()
    previous = {stop: signal.signal(stop, _stopper(work.stop)) for stop in _STOPS}
    names = ", ".join(f"{job.name} ({job.schedule.text})" for job in work.jobs)
    click.echo(f"Docent scheduler: {names} (SIGTERM or Ctrl+C stops it)")
    try:
        work.run_forever()
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)
    click.echo("Scheduler stopped.")
    return EXIT_OK


_STOPS = (signal.SIGTERM, signal.SIGINT)


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return handler


COMMANDS: tuple[click.Command, ...] = (scheduler,)
