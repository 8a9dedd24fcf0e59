"""The benchmarks' measure of a child: its own peak memory, not the bench process's."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from bench.measure import run_child

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
HOLD_40_MB = "x = bytearray(40 << 20); x[::4096] = b'x' * len(x[::4096])"


def test_a_child_reports_its_own_peak_after_the_parent_held_more() -> None:
    held = bytearray(300 << 20)
    held[::4096] = b"x" * len(held[::4096])  # this process's high-water mark: 300 MB more
    del held
    child = run_child([sys.executable, "-c", HOLD_40_MB], {}, ROOT, timeout=60)
    assert child["returncode"] == 0
    # Started straight from here, Linux reports at least this process's peak (> 300 MB).
    assert 40 < child["peak_rss_mb"] < 120, child


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, killed and not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_child_past_its_timeout_is_killed_with_what_it_started(tmp_path: Path) -> None:
    started = tmp_path / "started.pid"
    sleeper = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(started)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    child = run_child([sys.executable, "-c", sleeper], {}, ROOT, timeout=2)
    assert child["returncode"] != 0
    assert child["wall_s"] < 30
    helper = int(started.read_text())
    deadline = time.monotonic() + 10
    while alive(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(helper), "the process the child started outlived the timeout"
