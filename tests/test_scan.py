"""Scanning a share: links, loops, pipes, devices and empty files are reported, never read."""

from __future__ import annotations

import os
import stat
import tracemalloc
from collections.abc import Sized
from pathlib import Path

import pytest

from app.api import Docent
from ingest.scan import scan
from tests import docgen

pytestmark = pytest.mark.slow


def test_linked_folders_and_loops_are_skipped_with_the_reason(
    tmp_path: Path, docent: Docent
) -> None:
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    docgen.make_html(share / "sub" / "faq.html")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Not meant for this collection.", encoding="utf-8")
    (share / "elsewhere").symlink_to(outside, target_is_directory=True)
    (share / "sub" / "loop").symlink_to(share, target_is_directory=True)

    report = docent.ingest([share], "docs")

    outcome = {o.source: o for o in report.files}
    assert outcome["sub/faq.html"].status == "added"
    for source in ("elsewhere", "sub/loop"):
        assert outcome[source].status == "skipped", source
        assert "symbolic link, not followed" in outcome[source].reason
    assert not [s for s in outcome if "secret" in s]
    assert report.exit_code == 0


def test_empty_files_are_reported_empty_not_as_copies_of_each_other(
    tmp_path: Path, docent: Docent
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for name in ("a.md", "b.md", "c.txt"):
        (share / name).write_bytes(b"")
    (share / "d.md").write_text("# Leave\n\nLeave is 25 days a year.\n", encoding="utf-8")

    report = docent.ingest([share], "docs")

    reasons = {o.source: (o.status, o.reason) for o in report.files}
    for name in ("a.md", "b.md", "c.txt"):
        assert reasons[name] == ("skipped", "empty file (0 bytes): nothing to index"), name
    assert reasons["d.md"][0] == "added"
    assert not [r for _, r in reasons.values() if "same content" in r]


def test_pipes_and_devices_are_skipped_with_their_kind(tmp_path: Path, docent: Docent) -> None:
    share = tmp_path / "share"
    share.mkdir()
    os.mkfifo(share / "feed.txt")
    os.mkfifo(share / "pipe")
    kinds = {"feed.txt": "named pipe (FIFO)", "pipe": "named pipe (FIFO)"}
    try:
        os.mknod(share / "null.md", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        kinds["null.md"] = "character device"
    except PermissionError:
        pass  # no CAP_MKNOD here: the pipes still show the rule
    (share / "d.md").write_text("# Leave\n\nLeave is 25 days a year.\n", encoding="utf-8")

    report = docent.ingest([share], "docs")  # a pipe that were read would block here

    outcome = {o.source: o for o in report.files}
    assert outcome["d.md"].status == "added"
    for name, kind in kinds.items():
        assert (outcome[name].status, outcome[name].reason) == (
            "skipped",
            f"{kind}, not a regular file: not read",
        )
    single = docent.ingest([share / "pipe"], "docs")
    assert [(o.status, o.reason) for o in single.files] == [
        ("skipped", "named pipe (FIFO), not a regular file: not read")
    ]


def _share(root: Path, files: int) -> Path:
    for n in range(files):
        folder = root / f"dept{n // 500}" / f"team{n // 50 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note{n:05d}.txt").write_bytes(b"x")
    return root


def _held_at_the_last_file(root: Path, files: int) -> int:
    """Bytes allocated and still held when the scan hands over its last file.

    Single blocks over 128 KiB are left out: Python grows its table of interned strings
    (pathlib interns each name) once in a while, a one-off that a share of any size may
    cross; what a list of the files found would hold is thousands of small objects.
    """
    tracemalloc.start()
    try:
        for count, _ in enumerate(scan([root]), 1):
            if count == files:
                snapshot = tracemalloc.take_snapshot()
        traces = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        return sum(t.size for t in traces.traces if t.size <= 128 * 1024)
    finally:
        tracemalloc.stop()


def test_the_scan_finds_files_as_asked_and_its_memory_does_not_grow_with_the_share(
    tmp_path: Path,
) -> None:
    small = _share(tmp_path / "small", 300)
    large = _share(tmp_path / "large", 3000)

    files = scan([large])
    assert not isinstance(files, Sized)  # an iterator, not a list of the share
    assert next(files).source == "dept0/team0/note00000.txt"
    assert sum(1 for _ in files) == 2999

    small_held = _held_at_the_last_file(small, 300)
    large_held = _held_at_the_last_file(large, 3000)

    # Ten times the files, the same memory held: a list of the 2700 more files found
    # would hold well over 1 MB.
    assert large_held < small_held + 128 * 1024, (small_held, large_held)
