"""No parsing worker outlives the process that started it, even when that one is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = """
import sys
from pathlib import Path
from ingest.isolation import ParseLimits, parse_isolated
from tests import hostile_loaders
print("start", flush=True)
parse_isolated(Path(sys.argv[1]), hostile_loaders.hang, ParseLimits(timeout_seconds=600))
"""


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid or parent in found:
            found.add(int(entry.name))
    return found


def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    target = tmp_path / "slow.txt"
    target.write_text("text", encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(target)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert parent.stdout is not None and parent.stdout.readline().strip() == b"start"
    deadline = time.monotonic() + 60
    helpers: set[int] = set()
    while time.monotonic() < deadline and len(helpers) < 2:  # the fork server and the worker
        helpers = _descendants(parent.pid)
        time.sleep(0.2)
    assert len(helpers) >= 2, helpers
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in helpers):
        time.sleep(0.2)
    assert not [p for p in helpers if _running(p)]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_pages_read_by_ocr_extend_the_files_parse_time(tmp_path: Path) -> None:
    from ingest.isolation import ParseLimits, parse_isolated
    from tests import hostile_loaders

    scan = tmp_path / "scan.pdf"
    scan.write_text("8", encoding="utf-8")  # 8 OCR pages of 0.5 s: 4 s, over the 2 s limit
    limits = ParseLimits(timeout_seconds=2, ocr_page_seconds=1.0, max_seconds=60)
    parsed = parse_isolated(scan, hostile_loaders.slow_scan, limits)
    assert parsed.pages == 8


def test_the_ocr_time_of_a_file_is_bounded(tmp_path: Path) -> None:
    import pytest

    from ingest.document import LoaderError
    from ingest.isolation import ParseLimits, parse_isolated
    from tests import hostile_loaders

    scan = tmp_path / "scan.pdf"
    scan.write_text("8", encoding="utf-8")
    limits = ParseLimits(timeout_seconds=1, ocr_page_seconds=10.0, max_seconds=2.5)
    with pytest.raises(LoaderError, match=r"2\.5 s \(\d pages read by OCR\).*PARSE_MAX_SECONDS"):
        parse_isolated(scan, hostile_loaders.slow_scan, limits)
