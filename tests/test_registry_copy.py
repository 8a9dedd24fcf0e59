"""The registry copy: unchanged re-ingests settle without Chroma, and exactly as with it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from app.api import Docent
from ingest.report import IngestReport
from rag import registry_copy

pytestmark = pytest.mark.slow


def fresh(docent: Docent) -> Docent:
    """Another process's view: a new ``Docent`` (no Chroma client yet) on the same folder."""
    return Docent(docent.settings, embedder=docent.embedder)


def copy_file(docent: Docent, name: str = "docs") -> Path:
    return registry_copy.copy_path(docent.index.config.path, name)


def copy_rows(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The copy's header line and its rows (a JSON list of the header's fields a line)."""
    header, *rows = (json.loads(line) for line in path.read_text().splitlines())
    return header, [dict(zip(header["fields"], row, strict=True)) for row in rows]


def write_copy(path: Path, header: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Write rows as the copy holds them; a row without every field is written as it is."""
    fields = header["fields"]
    lines = [[row[f] for f in fields] if set(fields) <= set(row) else row for row in rows]
    path.write_text("".join(json.dumps(line) + "\n" for line in [header, *lines]))


def outcome(report: IngestReport) -> dict[str, object]:
    """A report without its timing."""
    return {k: v for k, v in dataclasses.asdict(report).items() if k != "seconds"}


def test_an_unchanged_run_settles_from_the_copy_as_it_would_from_chroma(
    docent: Docent, corpus: Path
) -> None:
    (corpus / "slides.key").write_bytes(b"PK\x03\x04 not read")  # skipped by type
    docent.ingest([corpus], "docs")
    (corpus / "faq.html").rename(corpus.parent / "faq.html")  # gone, reported as missing
    assert copy_file(docent).is_file()

    quick = fresh(docent)
    settled = quick.ingest([corpus], "docs")
    assert quick.index._client is None, "Chroma was opened"
    copy_file(docent).unlink()
    slow = fresh(docent)
    read = slow.ingest([corpus], "docs")
    assert slow.index._client is not None

    assert outcome(settled) == outcome(read)
    assert settled.counts() == {"added": 0, "updated": 0, "unchanged": 4, "skipped": 1, "failed": 0}
    assert settled.missing == ["faq.html"]
    assert copy_file(docent).is_file(), "the run that read Chroma leaves a copy again"


def test_every_write_to_the_collection_removes_the_copy(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")
    docent.remove_document("docs", "notes.md")
    assert not copy_file(docent).exists()

    docent.ingest([corpus], "docs")
    collection = docent.index.collection("docs")
    record = collection.find("plain.txt")[0]
    collection.put_record(record)  # any write, even of the same row
    assert not copy_file(docent).exists()

    docent.ingest([corpus], "docs")
    docent.delete_collection("docs")
    assert not copy_file(docent).exists()


def test_runs_that_change_something_read_chroma_and_do_it(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")

    relabelled = fresh(docent)
    report = relabelled.ingest([corpus], "docs", labels=["board"])
    assert relabelled.index._client is not None
    assert report.counts()["updated"] == 5
    header, copied = copy_rows(copy_file(docent))
    assert header["format"] == 3 and len(copied) == 5
    assert {tuple(row["labels"]) for row in copied} == {("board",)}

    stamp = (corpus / "plain.txt").stat().st_mtime_ns + 10**9
    os.utime(corpus / "plain.txt", ns=(stamp, stamp))
    touched = fresh(docent)
    assert touched.ingest([corpus], "docs", labels=["board"]).counts()["unchanged"] == 5
    assert touched.index._client is not None, "a new mtime is settled by the sha256 in Chroma"
    again = fresh(docent)
    assert again.ingest([corpus], "docs", labels=["board"]).counts()["unchanged"] == 5
    assert again.index._client is None, "the new mtime is in the copy"

    (corpus / "notes.md").unlink()
    pruned = fresh(docent)
    assert pruned.ingest([corpus], "docs", labels=["board"], prune=True).pruned == ["notes.md"]
    assert "notes.md" not in {r.source for r in docent.documents("docs")}


def test_a_copy_for_another_embedder_or_with_a_half_done_step_is_not_used(
    docent: Docent, corpus: Path
) -> None:
    docent.ingest([corpus], "docs")
    path = copy_file(docent)
    header, rows = copy_rows(path)

    write_copy(path, header | {"embedder": "another-model/384"}, rows)
    other = fresh(docent)
    assert other.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert other.index._client is not None

    rows[0]["pending"] = "0" * 64
    write_copy(path, header, rows)
    pending = fresh(docent)
    assert pending.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert pending.index._client is not None

    path.write_text("{not json")
    broken = fresh(docent)
    assert broken.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert broken.index._client is not None

    header, rows = copy_rows(path)
    write_copy(path, header, [*rows[:-1], {"not": "a row"}])  # a row cut short or foreign
    cut = fresh(docent)
    assert cut.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert cut.index._client is not None

    header, rows = copy_rows(path)
    path.write_text(json.dumps({"embedder": header["embedder"], "records": rows}))  # format 1
    old = fresh(docent)
    assert old.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert old.index._client is not None

    header, rows = copy_rows(path)
    renamed = [f if f != "title" else "heading" for f in header["fields"]]  # another release
    write_copy(path, header | {"fields": renamed}, [{"heading": r["title"], **r} for r in rows])
    other_fields = fresh(docent)
    assert other_fields.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert other_fields.index._client is not None

    header, rows = copy_rows(path)
    write_copy(path, header, [*rows[:-1], rows[-1] | {"source": 7}])  # a field of a wrong type
    typed = fresh(docent)
    assert typed.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert typed.index._client is not None

    header, rows = copy_rows(path)
    write_copy(path, header | {"format": 2}, rows)
    older = fresh(docent)
    assert older.ingest([corpus], "docs").counts()["unchanged"] == 5
    assert older.index._client is not None


def test_a_dry_run_writes_no_copy(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs", dry_run=True)
    assert not copy_file(docent).exists()
