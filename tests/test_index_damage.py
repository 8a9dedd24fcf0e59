"""A damaged or deleted index is said, never taken for "unchanged", and never a traceback.

The ingest keeps a copy of the registry beside the index so that a re-run of unchanged
files need not open Chroma; the copy must not stand in for an index that is gone or
damaged. Each command runs as its own process, as an administrator would run it, on an
index damaged on disk the way a failing disk or a bad restore leaves it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def docent(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DOCENT_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, Path]:
    share = tmp_path / "share"
    share.mkdir()
    (share / "parking.md").write_text(
        "# Parking\n\nThe staff car park opens at 06:30 every weekday.\n", encoding="utf-8"
    )
    (share / "bicycles.md").write_text(
        "# Bicycles\n\nRacks for bicycles are behind building C.\n", encoding="utf-8"
    )
    data = tmp_path / "data"
    assert docent(data, "ingest", str(share), "-c", "staff").returncode == 0
    return share, data


def test_a_deleted_index_database_is_ingested_again(indexed: tuple[Path, Path]) -> None:
    share, data = indexed
    (data / "index" / "chroma.sqlite3").unlink()

    done = docent(data, "ingest", str(share), "-c", "staff")

    assert done.returncode == 0, done.stderr
    assert "2 added" in done.stdout and "unchanged" not in done.stdout.split("files:")[1][:30]
    asked = docent(data, "ask", "Where are the bicycle racks?", "-c", "staff")
    assert "building C" in asked.stdout


def test_a_damaged_index_is_said_by_ingest_ask_and_doctor(indexed: tuple[Path, Path]) -> None:
    share, data = indexed
    database = data / "index" / "chroma.sqlite3"
    with database.open("r+b") as handle:  # pages 2 and 3 overwritten, as a bad sector would
        handle.seek(4096)
        handle.write(b"\xa5" * 8192)

    for args in (
        ("ingest", str(share), "-c", "staff"),
        ("ask", "Where are the bicycle racks?", "-c", "staff"),
    ):
        done = docent(data, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "is damaged" in done.stderr and "Fix: restore" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "unchanged" not in done.stdout
    checked = docent(data, "doctor")
    assert checked.returncode != 0
    assert "FAIL index" in checked.stdout and "is damaged" in checked.stdout
