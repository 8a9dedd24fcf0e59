"""Scheduled sync: the schedule syntax, the settings it is read from, and a real scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.api import Docent
from app.schedule import Schedule, ScheduleError
from app.scheduler import Scheduler
from app.settings import Settings, SettingsError
from app.sync_runs import RUNS_FILE, SyncRun, SyncRuns
from rag.lock import WriterLock
from tests.cli_run import run

ROOT = Path(__file__).resolve().parent.parent


def test_the_schedule_forms() -> None:
    start = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    assert Schedule.parse("every 30m").next_after(start) == start + timedelta(minutes=30)
    assert Schedule.parse("Every 2 H").next_after(start) == start + timedelta(hours=2)
    assert Schedule.parse("hourly").next_after(start) == start + timedelta(hours=1)
    daily = Schedule.parse("daily 02:00")
    due = daily.next_after(start).astimezone()
    assert (due.hour, due.minute) == (2, 0)
    assert timedelta(0) < due - start <= timedelta(days=1)
    for wrong in ("every 0m", "every 5x", "daily 25:00", "0 2 * * *", "weekly", ""):
        with pytest.raises(ScheduleError):
            Schedule.parse(wrong)


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "docent.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            '[[sources]]\nname = "legal"\npath = "/srv/legal"\nschedule = "every 5x"\n',
            "sources.0.schedule",
        ),
        ('[[sources]]\nname = "legal"\npath = "/srv/legal"\n', "sources.0.schedule"),
        (
            '[[sources]]\nname = "legal"\npath = "/a"\nschedule = "hourly"\n'
            '[[sources]]\nname = "legal"\npath = "/b"\nschedule = "hourly"\n',
            "sources: the name `legal` is given to two sources",
        ),
        (
            '[[sources]]\nname = "a b"\npath = "/a"\nschedule = "hourly"\n',
            "sources.0.name",
        ),
        (
            '[[sources]]\nname = "a"\npath = "/a"\nschedule = "hourly"\nlable = "x"\n',
            "sources.0.lable",
        ),
        ('directory_sync_schedule = "weekly"\n', "directory_sync_schedule"),
        ('directory_sync_schedule = "hourly"\n', "directory_sync_schedule needs ldap_url"),
    ],
)
def test_bad_schedule_or_source_settings_are_refused_naming_the_setting(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.load(_toml(tmp_path, text))

    assert named in caught.value.message


def test_the_scheduler_refuses_a_missing_folder_no_sources_and_labels_on_a_labelled_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = tmp_path / "gone"
    table = f'[[sources]]\nname = "legal"\npath = "{gone}"\nschedule = "hourly"\n'
    missing = _toml(tmp_path, table)
    code, _, err = run(capsys, "--config", str(missing), "scheduler", "--once")

    assert code == 1
    assert "sources: the path" in err and "of source `legal` is not a folder" in err
    assert "Fix: fix `path` in the [[sources]] table named `legal`" in err

    code, _, err = run(capsys, "--config", str(_toml(tmp_path, "")), "scheduler")

    assert code == 1
    assert "the `sources` setting is empty" in err

    share = _toml(
        tmp_path,
        'smb_principals = { Everyone = "@staff" }\n[[sources]]\nname = "hr"\n'
        'path = "smb://files/hr"\nlabels = ["hr"]\nschedule = "hourly"\n',
    )
    code, _, err = run(capsys, "--config", str(share), "scheduler", "--once")

    assert code == 1
    assert "source `hr` gives `labels` to a share whose permissions label" in err


def test_a_run_missed_while_down_is_due_at_start_once(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    source = {"name": "docs", "path": str(folder), "schedule": "daily 02:00"}
    settings = Settings(data_dir=tmp_path / "data", sources=[source])
    scheduler = Scheduler(Docent(settings))
    job = scheduler.jobs[0]
    runs = SyncRuns(settings.data_dir / RUNS_FILE)
    now = datetime.now(UTC)

    assert scheduler.due(job) <= now, "never ran: due at start"
    three_days = (now - timedelta(days=3)).isoformat(timespec="seconds")
    runs.record(SyncRun("docs", "folder", str(folder), "default", three_days, three_days, "ok"))
    assert scheduler.due(job) <= now, "missed while down: due at start"
    just = now.isoformat(timespec="seconds")
    runs.record(SyncRun("docs", "folder", str(folder), "default", just, just, "ok"))
    assert now < scheduler.due(job) <= now + timedelta(days=1), "ran: due once more tomorrow"
    runs.record(SyncRun("docs", "folder", str(folder), "default", just, just, "index busy"))
    assert scheduler.due(job) <= now + timedelta(minutes=5), "busy: tried again soon"


def _settings_file(tmp_path: Path, folder: Path, schedule: str) -> Path:
    return _toml(
        tmp_path,
        f'[[sources]]\nname = "notes"\npath = "{folder}"\ncollection = "notes"\n'
        f'schedule = "{schedule}"\nprune = true\n',
    )


def _last(data: Path) -> SyncRun | None:
    return SyncRuns(data / RUNS_FILE).get("notes")


def _wait_for(check: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError("the scheduler did not get there in time")


@pytest.mark.slow
def test_a_scheduler_process_syncs_on_its_interval_and_stops_cleanly_on_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "lease.txt").write_text("The lease was signed by Alice Marsh.\n", encoding="utf-8")
    config = _settings_file(tmp_path, folder, "every 2s")
    data = tmp_path / "data"
    env = os.environ | {"DOCENT_CONFIG": str(config), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: (r := _last(data)) is not None and r.counts.get("added") == 1)
        first = _last(data)
        assert first is not None and first.result == "ok" and first.pid == process.pid
        (folder / "minutes.txt").write_text("The board met on Tuesday.\n", encoding="utf-8")
        _wait_for(lambda: (r := _last(data)) is not None and r.started_at > first.started_at
                  and r.counts.get("added") == 1 and r.counts.get("unchanged") == 1)  # fmt: skip

        code, _, err = run(capsys, "--config", str(config), "scheduler", "--once")
        assert code == 1 and f"A scheduler (PID {process.pid}) runs" in err, "one at a time"

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert "Docent scheduler: notes (every 2s)" in out and "Scheduler stopped." in out
    last = _last(data)
    # Stopped while it waited, or between two files of a run: either way the run is closed.
    assert last is not None and last.result in ("ok", "stopped") and last.finished_at
    code, out, _ = run(capsys, "--config", str(config), "status")
    assert code == 0
    assert "Scheduled:" in out and f"notes (folder {folder} -> notes): {last.result}" in out
    code, out, _ = run(capsys, "--config", str(config), "docs", "list", "-c", "notes", "--json")
    assert {d["source"] for d in json.loads(out)} == {"lease.txt", "minutes.txt"}
    records = [json.loads(line) for line in (data / "audit.jsonl").read_text().splitlines()]
    synced = [r for r in records if r["event"] == "scheduled_sync"]
    assert len(synced) >= 2 and synced[0]["user"] == "scheduler"
    assert {r["source"] for r in synced} == {"notes"} and synced[0]["counts"]["added"] == 1


@pytest.mark.slow
def test_a_run_that_finds_the_index_held_is_refused_and_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha.\n", encoding="utf-8")
    config = _settings_file(tmp_path, folder, "hourly")

    with WriterLock(tmp_path / "data" / "index"):
        code, out, _ = run(capsys, "--config", str(config), "scheduler", "--once")

    assert code == 1
    assert "notes (folder" in out and ": index busy" in out and f"PID {os.getpid()}" in out
    busy = _last(tmp_path / "data")
    assert busy is not None and busy.result == "index busy" and not busy.counts
    retry = datetime.fromisoformat(busy.next_run) - datetime.fromisoformat(busy.finished_at)
    assert retry == timedelta(minutes=5), "tried again soon, not at the next hour"
    code, out, _ = run(capsys, "--config", str(config), "scheduler", "--once")
    assert code == 0 and f"Nothing is due: notes at {busy.next_run}." in out


class _StopAfterFirstFile(threading.Event):
    """A stop that is set as soon as the first file reaches its outcome."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1  # asked once at the run's start, then after each file
        return self.asked > 1 or super().is_set()


@pytest.mark.slow
def test_a_stop_ends_the_run_between_files_and_the_next_run_finishes_it(
    tmp_path: Path, docent: Docent
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(4):
        (folder / f"{number}.txt").write_text(f"Note number {number}.\n", encoding="utf-8")
    source = {"name": "notes", "path": str(folder), "schedule": "hourly", "collection": "notes"}
    settings = Settings(data_dir=docent.settings.data_dir, sources=[source])
    docent = Docent(settings, embedder=docent.embedder)

    stopped = Scheduler(docent, _StopAfterFirstFile()).run_due()[0]

    assert stopped.result == "stopped" and stopped.next_run == "at the scheduler's next start"
    scheduler = Scheduler(docent)
    assert scheduler.due(scheduler.jobs[0]) <= datetime.now(UTC)
    finished = scheduler.run_due()[0]
    assert finished.result == "ok"
    assert finished.counts["added"] + finished.counts["unchanged"] == 4
    assert len(docent.documents("notes")) == 4


@pytest.mark.slow
def test_the_status_page_shows_each_sources_last_run_to_administrators_only(
    data_dir: Path,
) -> None:
    from tests.test_ui_pages import page

    ended = SyncRun(
        "legal", "share", "smb://files/legal", "legal", "2026-03-01T02:00:00+00:00",
        "2026-03-01T02:03:10+00:00", "failed files", 2, {"added": 3, "failed": 1},
        "scan.pdf: damaged", "2026-03-02T02:00:00+00:00",
    )  # fmt: skip
    SyncRuns(data_dir / RUNS_FILE).record(ended)

    at = page("status").run()

    assert not at.exception
    assert "Scheduled sync" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "source" in d.value.columns)
    row = table.iloc[0]
    assert (row["source"], row["from"], row["last run"]) == (
        "legal",
        "smb://files/legal",
        "failed files",
    )
    assert row["files"] == "3 added, 1 failed" and row["error"] == "scan.pdf: damaged"
    reader = page("status", "reader", "user").run()
    assert "Scheduled sync" not in [h.value for h in reader.subheader]
