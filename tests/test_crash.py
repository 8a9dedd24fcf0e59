"""SIGKILL at any point, then the same command again: exactly the chunk set of a clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from tests import docgen

PARAGRAPH = (
    "Clause {n}.{p}: the supplier shall keep records of every delivery for {n} years, "
    "make them available to the auditor within {p} working days of a request, and report "
    "any loss of data to the data protection officer without undue delay. "
)


def _write_corpus(root: Path, files: int, version: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        pages = [
            (
                f"Section {n}.{p}",
                "\n\n".join(PARAGRAPH.format(n=n + version, p=p) * 3 for _ in range(3)),
            )
            for p in range(3)
        ]
        docgen.make_pdf(root / f"contract-{n}.pdf", pages=pages, title=f"Contract {n}")


def _cli(data: Path, corpus: Path) -> subprocess.Popen[str]:
    env = os.environ | {"DOCENT_DATA_DIR": str(data), "DOCENT_WRITE_BATCH_CHUNKS": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", str(corpus), "--collection", "docs"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after(process: subprocess.Popen[str], lines: int, delay: float) -> None:
    """Kill once ``lines`` progress lines were printed, ``delay`` seconds later."""
    assert process.stderr is not None
    seen = 0
    while seen < lines and process.stderr.readline():
        seen += 1
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _snapshot(docent: Docent) -> tuple[dict[str, tuple[object, ...]], list[tuple[str, str, str]]]:
    collection = docent.index.collection("docs")
    chunks = collection.chroma.get(include=["metadatas", "documents"])
    by_id = {
        cid: (meta["source"], meta["page"], meta["doc_id"], text)  # type: ignore[index]
        for cid, meta, text in zip(
            chunks["ids"], chunks["metadatas"], chunks["documents"], strict=True
        )
    }
    assert len(by_id) == len(chunks["ids"]) == collection.count_chunks()
    rows = [(r.source, r.doc_id, r.pending + r.stale) for r in collection.records()]
    return by_id, rows


@pytest.mark.slow
def test_sigkill_at_any_point_then_rerun_matches_a_clean_run(
    tmp_path: Path, embedder: Embedder
) -> None:
    corpus, data = tmp_path / "share", tmp_path / "data"
    _write_corpus(corpus, files=5, version=1)
    chance = random.Random(7)
    # A first ingest killed between files and inside documents, several times over.
    for lines in (0, 1, 3):
        _kill_after(_cli(data, corpus), lines, chance.uniform(0.0, 1.5) + (8 if lines == 0 else 0))
    assert _cli(data, corpus).wait(timeout=300) == 0
    # Every file changes; the update is killed too, so old and new versions are both in play.
    _write_corpus(corpus, files=5, version=2)
    for lines in (1, 2):
        _kill_after(_cli(data, corpus), lines, chance.uniform(0.0, 1.0))

    final = _cli(data, corpus)
    assert final.wait(timeout=300) == 0

    resumed = Docent(Settings(data_dir=data), embedder=embedder)
    clean = Docent(Settings(data_dir=tmp_path / "clean"), embedder=embedder)
    assert clean.ingest([corpus], "docs").exit_code == 0
    resumed_chunks, resumed_rows = _snapshot(resumed)
    clean_chunks, clean_rows = _snapshot(clean)
    assert resumed_chunks == clean_chunks
    assert resumed_rows == clean_rows
    assert all(not row[2] for row in resumed_rows)
