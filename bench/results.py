"""Where a benchmark works and what it keeps.

A run works in the ``--work`` folder when one is given (the next run reuses what it
built) or in a temporary folder; its figures are saved as JSON under bench/results/,
named by the benchmark and the time.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

RESULTS = Path(__file__).resolve().parent / "results"
T = TypeVar("T")


def in_work_folder(work: Path | None, prefix: str, run: Callable[[Path], T]) -> T:
    """``run(folder)`` in ``work`` (created if missing), or in a temporary folder."""
    if work:
        work.mkdir(parents=True, exist_ok=True)
        return run(work)
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        return run(Path(scratch))


def save(name: str, figures: Any) -> Path:
    """Write ``figures`` to bench/results/NAME-<time>.json; the path written."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return path
