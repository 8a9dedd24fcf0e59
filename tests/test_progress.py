"""The ingest ETA, the terminal progress log and the summarised closing report."""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict

import pytest

from app.cli.progress import Eta, TerminalProgress, clock_text
from app.cli.render import REPORT_LINES, ingest_report
from ingest.report import FileOutcome, IngestReport, Outcomes


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def simulate(
    sizes: list[int], seconds_per_byte: float, per_file: float, warmup: float, seed: int = 3
) -> list[tuple[float, float | None, float]]:
    """Run an Eta over files whose cost is ``per_file + bytes * seconds_per_byte`` (+-30%).

    Returns (elapsed, estimate, true seconds left) after each file.
    """
    rng = random.Random(seed)
    costs = [(per_file + size * seconds_per_byte) * rng.uniform(0.7, 1.3) for size in sizes]
    clock = Clock()
    eta = Eta(clock)
    eta.plan(len(sizes), sum(sizes))
    start = clock.now
    clock.now += warmup  # loading the model, filling the parse pipeline
    end = clock.now + sum(costs)
    seen = []
    for size, cost in zip(sizes, costs, strict=True):
        clock.now += cost
        eta.done(size)
        seen.append((clock.now - start, eta.seconds_left(), end - clock.now))
    return seen


NOTES = random.Random(1)
MIXED = random.Random(2)


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("many small notes", [NOTES.randint(2_000, 40_000) for _ in range(3000)]),
        ("PDFs among notes", [MIXED.choice([5_000, 8_000, 12_000, 900_000]) for _ in range(600)]),
    ],
)
def test_eta_settles_within_the_first_minute(name: str, sizes: list[int]) -> None:
    seen = simulate(sizes, seconds_per_byte=2e-6, per_file=0.1, warmup=8.0)
    total = seen[-1][0]
    assert total > 300, "the simulated run must be long enough to judge the first minute"
    after_a_minute = [(t, estimate, truth) for t, estimate, truth in seen if t >= 60]
    for elapsed, estimate, truth in after_a_minute:
        assert estimate is not None, f"{name}: no estimate at {elapsed:.0f} s"
        # Within a fifth of the truth, or a minute near the end where both are small.
        assert abs(estimate - truth) <= max(0.2 * truth, 60), (name, elapsed, estimate, truth)


def test_no_eta_before_enough_work_is_measured() -> None:
    clock = Clock()
    eta = Eta(clock)
    assert eta.seconds_left() is None  # nothing planned
    eta.plan(100, 100_000)
    clock.now += 3
    eta.done(1000)
    assert eta.seconds_left() is None  # three seconds in: too early to promise a time
    clock.now += 10
    for _ in range(9):
        eta.done(1000)
    assert eta.seconds_left() == pytest.approx(0.9 * 13 / 0.1, rel=1e-6)
    for _ in range(90):
        eta.done(1000)
    assert eta.seconds_left() == 0.0


def test_eta_follows_the_recent_rate_not_the_whole_run() -> None:
    clock = Clock()
    eta = Eta(clock, window=60)
    eta.plan(1000, 1000)
    for _ in range(100):  # slow start: one file per 2 s
        clock.now += 2
        eta.done(1)
    for _ in range(200):  # then four times faster
        clock.now += 0.5
        eta.done(1)
    left = eta.seconds_left()
    assert left is not None
    assert left == pytest.approx(700 * 0.5, rel=0.05)


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "estimating"), (65.4, "1:05"), (3725, "1:02:05"), (0, "0:00")]
)
def test_clock_text(seconds: float | None, text: str) -> None:
    assert clock_text(seconds) == text


def test_terminal_log_lists_changes_and_counts_unchanged_files() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = TerminalProgress(stream, clock)
    progress.start(4)
    for name in ("a.txt", "b.txt"):
        clock.now += 1
        progress.file_done(FileOutcome(name, name, "unchanged"))
    progress.planned(2, 3000)
    progress.storing("c.pdf", 2000)
    progress.chunks_done(7)
    progress.file_done(FileOutcome("c.pdf", "c.pdf", "added", chunks=7))
    clock.now += 20
    progress.storing("d.txt", 1000)
    progress.file_done(FileOutcome("d.txt", "d.txt", "failed", "no extractable text"))
    lines = stream.getvalue().splitlines()
    # 20 s on: a status line names the file being stored before it ends.
    assert lines[0] == "[3/4] added c.pdf (7 chunks)"
    assert lines[1].startswith("[3/4] 7 chunks · ") and lines[1].endswith(" · d.txt")
    assert lines[2:] == ["[4/4] failed d.txt: no extractable text"]
    assert progress.eta.share() == 1.0
    assert "7 chunks" in progress.status() and "ETA 0:00 · d.txt" in progress.status()


def test_terminal_log_of_an_unchanged_run_is_a_few_status_lines() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = TerminalProgress(stream, clock)
    progress.start(1000)
    for n in range(1000):
        clock.now += 0.1
        progress.file_done(FileOutcome(f"{n}.txt", f"{n}.txt", "unchanged"))
    lines = stream.getvalue().splitlines()
    assert 5 <= len(lines) <= 12  # one per 10 s of a 100 s run, and the last
    assert lines[-1].startswith("[1000/1000] 0 chunks · 10.0 files/s")


def report_of(outcomes: list[FileOutcome], **extra: object) -> IngestReport:
    report = IngestReport(collection="share", files=outcomes, seconds=10.0, pages=50)
    for key, value in extra.items():
        setattr(report, key, value)
    return report


def test_report_lists_every_failure_and_groups_skips() -> None:
    outcomes = [FileOutcome(f"n{i}.txt", f"n{i}.txt", "added", chunks=2) for i in range(30)]
    outcomes += [FileOutcome(f"b{i}.pdf", f"b{i}.pdf", "failed", "encrypted") for i in range(25)]
    outcomes += [
        FileOutcome(f"x{i}.bin", f"x{i}.bin", "skipped", "unsupported file type `.bin`")
        for i in range(40)
    ]
    outcomes.append(FileOutcome("link", "link", "skipped", "symbolic link, not followed"))
    text = ingest_report(report_of(outcomes, chunks_written=60, chunks_embedded=60))
    assert "96 files: 30 added, 0 updated, 0 unchanged, 41 skipped, 25 failed." in text
    assert "60 chunks written (60 embedded), 50 pages, 10.0 s (5.0 pages/s)." in text
    assert all(f"  b{i}.pdf: encrypted" in text for i in range(25))
    assert "  40 files (x0.bin, x1.bin, x2.bin, ...): unsupported file type `.bin`" in text
    assert "  link: symbolic link, not followed" in text
    assert "x3.bin" not in text


def test_report_caps_long_sections_and_points_to_json() -> None:
    outcomes = [
        FileOutcome(f"s{i}.pdf", f"s{i}.pdf", "added", notes=["pages 2: read by OCR"])
        for i in range(REPORT_LINES + 5)
    ]
    gone = [f"old{i}.txt" for i in range(REPORT_LINES + 2)]
    text = ingest_report(report_of(outcomes, pruned=gone))
    assert "Notes:\n  s0.pdf: pages 2: read by OCR" in text
    assert "  ... and 5 more (all of them in --json)" in text
    assert "Removed (files gone):\n  old0.txt" in text
    assert "  ... and 2 more (all of them in --json)" in text
    assert f"s{REPORT_LINES + 4}.pdf" not in text
    assert len(text.splitlines()) < 2 * REPORT_LINES + 10


@pytest.mark.parametrize("files", [0, 1, 7])
def test_json_report_is_streamed_as_the_whole_report_would_print(files: int) -> None:
    # Names that JSON escapes, notes, reasons and every list: the text a file at a time
    # must be exactly the text of the whole report at once.
    outcomes = [
        FileOutcome(
            f"/share/é{i}\u202e\n.pdf",
            f"é{i}\u202e\n.pdf",
            "failed" if i % 3 == 0 else "added",
            'no "text"' if i % 3 == 0 else "",
            chunks=i,
            pages=i + 1,
            notes=[f"page {i}: read by OCR"] if i % 2 else [],
        )
        for i in range(files)
    ]
    report = report_of(outcomes, pruned=["gone\\1.txt"], missing=["a.txt", "b.txt"])
    whole = json.dumps(report.to_dict(), indent=2, default=str)
    pieces = list(report.iter_json())
    assert "".join(pieces) == whole
    assert json.loads("".join(pieces))["files"] == [asdict(o) for o in outcomes]
    # No piece holds more than one file's outcome.
    assert all(piece.count('"path"') <= 1 for piece in pieces)


def test_outcomes_past_the_kept_ones_wait_on_disk_and_come_back_in_order() -> None:
    made = [
        FileOutcome(f"/s/{n}.md", f"{n}.md", "failed" if n % 7 == 0 else "unchanged", "r")
        for n in range(25)
    ]
    outcomes = Outcomes(made[:10], kept=4)
    outcomes += made[10:]
    assert len(outcomes) == 25 and len(outcomes._head) == 4
    assert list(outcomes) == made and outcomes == made
    assert (outcomes[0], outcomes[17], outcomes[-1]) == (made[0], made[17], made[-1])
    with pytest.raises(IndexError):
        outcomes[25]
    # Two iterations at once, and appending while one is under way.
    first, second = iter(outcomes), iter(outcomes)
    assert [next(first) for _ in range(6)] == made[:6]
    assert next(second) == made[0]
    outcomes.append(FileOutcome("/s/late.md", "late.md", "added"))
    assert [o.source for o in first][-2:] == ["24.md", "late.md"]
    report = IngestReport(collection="share", files=outcomes)
    assert report.counts()["failed"] == 4 and len(report.failed) == 4
    assert report.counts()["unchanged"] == 21 and report.counts()["added"] == 1
    assert json.loads("".join(report.iter_json())) == json.loads(
        json.dumps(report.to_dict(), default=str)
    )


def test_outcomes_read_back_a_batch_at_a_time_miss_none_appended_meanwhile() -> None:
    made = [FileOutcome(f"/s/{n}.md", f"{n}.md", "unchanged") for n in range(700)]
    outcomes = Outcomes(made[:600], kept=2)
    seen = []
    for number, outcome in enumerate(outcomes):
        seen.append(outcome)
        if number == 300:  # inside the second batch read from the spool
            outcomes += made[600:]
    assert seen == made
