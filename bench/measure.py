"""Measuring one subprocess: wall time, peak memory and how busy the rest of the machine was.

``ru_maxrss`` from ``os.wait4`` is the peak of the single largest process among the child
and the descendants it reaped (the child is started by ``bench/launch.py``: started from the
bench, Linux would report the bench's own peak for it, see there); it misses memory held at
the same time by helpers (Docent parses files in fork-server children while it embeds). So
the summed RSS of the process tree is also sampled from ``/proc/<pid>/status``. That sum
counts a page shared by two processes twice (fork-server children share the server's
preloaded modules), so it is an upper bound; PSS would be exact, but reading
``smaps_rollup`` of a 2 GB process takes ~0.1 s of kernel time under the process's memory
lock, which would slow what is measured. Timings on a shared machine mean little, so the CPU
time that other processes used during the run is reported too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

Result = dict[str, Any]
SAMPLE_SECONDS = 0.5
_PROC = Path("/proc")
_LAUNCH = Path(__file__).resolve().parent / "launch.py"


def _children(pid: int) -> list[int]:
    """Live children of a process, from ``/proc/<pid>/task/<tid>/children``."""
    found: list[int] = []
    for listing in _PROC.glob(f"{pid}/task/*/children"):
        try:
            found.extend(int(child) for child in listing.read_text().split())
        except OSError:
            continue  # the thread or process ended while we looked
    return found


def process_tree(root: int) -> list[int]:
    """A process and all its live descendants."""
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(_children(pid))
    return tree


def _rss_kib_and_cpu_s(pid: int) -> tuple[int, float]:
    """Resident memory (KiB) and CPU seconds used so far by one process; zeros if it ended.

    The CPU seconds include the children the process has reaped: the fork server reaps the
    short-lived parser processes, which live too briefly to be sampled themselves.
    """
    try:
        status = (_PROC / str(pid) / "status").read_text()
        stat = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0, 0.0
    rss = next((int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:"), 0)
    # utime, stime, cutime, cstime (fields 14-17 of /proc/<pid>/stat).
    return rss, sum(int(value) for value in stat[11:15]) / os.sysconf("SC_CLK_TCK")


class TreeSampler:
    """Samples a process tree in a background thread: peak summed RSS, CPU seconds used.

    ``pid`` is the launcher (``bench/launch.py``); what is measured is the tree under it,
    its own few MB left out. CPU is the last value seen for each process of the tree, so it
    also covers helpers the child never reaps (a fork server), which ``wait4`` does not
    report.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds of the tree's processes at their last sample."""
        return sum(self._cpu.values())

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            samples = {pid: _rss_kib_and_cpu_s(pid) for pid in process_tree(self.pid)[1:]}
            self._cpu.update({pid: cpu for pid, (_, cpu) in samples.items() if cpu})
            self.peak_kib = max(self.peak_kib, sum(rss for rss, _ in samples.values()))

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def busy_cpu_seconds() -> float:
    """CPU seconds spent by the whole machine since boot, idle and iowait excluded."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def json_in(stdout: str) -> Result | None:
    """The JSON object a child printed: the whole stdout, else its last JSON line."""
    for candidate in [stdout, *reversed(stdout.splitlines())]:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run_child(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Result:
    """Run one process to completion and measure it.

    Returns:
        ``returncode``; ``wall_s`` from spawn to exit; ``peak_rss_mb`` (``ru_maxrss`` of the
        child via ``os.wait4``); ``peak_tree_rss_mb`` (sampled); ``other_cpu_share``, the
        fraction of all CPUs that other processes used meanwhile; the JSON object the child
        printed on stdout (``report``, None if none); and the end of its stderr if it failed.
    """
    cpus = len(os.sched_getaffinity(0))
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".peak") as peak,
    ):
        busy, start = busy_cpu_seconds(), time.perf_counter()
        launched = [sys.executable, str(_LAUNCH), peak.name, *argv]
        proc = subprocess.Popen(
            launched, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
        )
        killer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        killer.start()
        with TreeSampler(proc.pid) as sampler:
            _, status, usage = os.wait4(proc.pid, 0)
        wall, busy = time.perf_counter() - start, busy_cpu_seconds() - busy
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        peak_kib = int(peak.read() or 0)
    own_cpu = max(usage.ru_utime + usage.ru_stime, sampler.cpu_seconds)
    return {
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(own_cpu, 1),
        "peak_rss_mb": round(peak_kib / 1024, 1),  # KiB on Linux
        "peak_tree_rss_mb": round(sampler.peak_kib / 1024, 1),
        "other_cpu_share": round(max(0.0, busy - own_cpu) / (wall * cpus), 3),
        "report": json_in(stdout),
        "stderr_tail": stderr.strip()[-1500:] if proc.returncode else "",
    }
