"""The committed sample documents are what tests/samples.py writes (or written by hand), and
they ingest."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import Docent
from tests.samples import BY_HAND, SAMPLES, write_samples


def test_committed_samples_are_current(tmp_path: Path) -> None:
    write_samples(tmp_path)
    for made in sorted(tmp_path.iterdir()):
        assert made.read_bytes() == (SAMPLES / made.name).read_bytes(), (
            f"data/samples/{made.name} is stale: run `make samples`"
        )
    written = [p.name for p in tmp_path.iterdir()]
    assert sorted([*written, *BY_HAND]) == sorted(p.name for p in SAMPLES.iterdir())


@pytest.mark.slow
def test_samples_ingest_cleanly_with_pages_and_headings(docent: Docent) -> None:
    report = docent.ingest([SAMPLES], "samples")

    assert report.counts()["added"] == 4 and report.exit_code == 0
    chunks = docent.index.collection("samples").chroma.get(include=["metadatas", "documents"])
    notice = [
        meta
        for meta, text in zip(chunks["metadatas"] or [], chunks["documents"] or [], strict=True)
        if "notice period" in text.lower() and meta["source"] == "employee-handbook.pdf"
    ]
    assert notice and all(int(meta["page"]) >= 1 for meta in notice)
