"""Ingest and incremental sync on a real index with the real embedder."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.api import Docent
from ingest import pipeline, scan
from ingest.chunker import Chunker
from ingest.loaders import load
from ingest.pipeline import IngestConfig, Ingestor
from rag.lock import IndexLockedError
from rag.types import DocumentRecord
from tests import docgen, hostile_loaders

pytestmark = pytest.mark.slow


def stored(docent: Docent, collection: str = "docs") -> dict[str, dict[str, object]]:
    """Chunk id -> metadata, plus the text under the key "text"."""
    chunks = docent.index.collection(collection).chroma.get(include=["metadatas", "documents"])
    return {
        cid: dict(meta or {}) | {"text": text}
        for cid, meta, text in zip(
            chunks["ids"], chunks["metadatas"], chunks["documents"], strict=True
        )
    }


def test_first_ingest_stores_every_format_with_its_metadata(docent: Docent, corpus: Path) -> None:
    report = docent.ingest([corpus], "docs")

    assert report.counts() == {"added": 5, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    assert report.exit_code == 0
    chunks = stored(docent)
    by_source = {meta["source"] for meta in chunks.values()}
    assert by_source == {
        "handbook.pdf",
        "policies/security.docx",
        "faq.html",
        "notes.md",
        "plain.txt",
    }
    leave = [m for m in chunks.values() if "27 days" in str(m["text"])]
    assert len(leave) == 1
    assert leave[0]["page"] == 2
    assert leave[0]["heading"] == "Annual leave"
    assert leave[0]["title"] == "Staff Handbook"
    pdf_sha = hashlib.sha256((corpus / "handbook.pdf").read_bytes()).hexdigest()
    assert leave[0]["doc_id"] == pdf_sha
    for cid, meta in chunks.items():
        assert cid == f"{meta['doc_id']}:{meta['position']:05d}"
        assert int(meta["char_end"]) - int(meta["char_start"]) == len(str(meta["text"]))
        assert meta["ingested_at"]


def test_second_ingest_parses_and_embeds_nothing(docent: Docent, corpus: Path) -> None:
    first = docent.ingest([corpus], "docs")
    second = docent.ingest([corpus], "docs")
    # A new mtime with the same bytes is still unchanged (sha256 settles it).
    (corpus / "plain.txt").touch()
    third = docent.ingest([corpus], "docs")

    assert first.chunks_embedded > 0
    for report in (second, third):
        assert report.counts()["unchanged"] == 5
        assert report.chunks_embedded == 0
        assert report.chunks_written == 0
    assert docent.index.collection("docs").count_chunks() == first.chunks_written


def test_changed_file_replaces_its_chunks_exactly(
    docent: Docent, corpus: Path, tmp_path: Path
) -> None:
    docent.ingest([corpus], "docs")
    old_sha = hashlib.sha256((corpus / "notes.md").read_bytes()).hexdigest()
    (corpus / "notes.md").write_text("# Parking\n\nThe car park now opens at 07:00.\n")

    report = docent.ingest([corpus], "docs")

    assert [(o.source, o.status) for o in report.files if o.status != "unchanged"] == [
        ("notes.md", "updated")
    ]
    assert report.chunks_embedded == 1
    assert not docent.index.collection("docs").chunk_ids(old_sha)
    fresh = Docent(
        docent.settings.model_copy(update={"data_dir": tmp_path / "fresh"}),
        embedder=docent.embedder,
    )
    fresh.ingest([corpus], "docs")
    assert set(stored(docent)) == set(stored(fresh))


def test_removed_files_are_reported_and_pruned_on_request(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")
    faq_ids = [c for c, m in stored(docent).items() if m["source"] == "faq.html"]
    (corpus / "faq.html").unlink()

    kept = docent.ingest([corpus], "docs")
    assert kept.missing == ["faq.html"]
    assert set(faq_ids) <= set(stored(docent))

    pruned = docent.ingest([corpus], "docs", prune=True)
    assert pruned.pruned == ["faq.html"]
    assert not set(faq_ids) & set(stored(docent))
    assert "faq.html" not in {r.source for r in docent.documents("docs")}


def test_prune_removes_gone_documents_a_batch_at_a_time(
    docent: Docent, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docent.ingest([corpus], "docs")
    gone = ["faq.html", "notes.md", "plain.txt"]
    kept = {c for c, m in stored(docent).items() if m["source"] not in gone}
    for source in gone:
        (corpus / source).unlink()
    collection = docent.index.collection("docs")
    batches: list[list[str]] = []
    remove = type(collection).remove_documents

    def counted(self: object, records: list[DocumentRecord]) -> None:
        batches.append([record.source for record in records])
        remove(self, records)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_PRUNE_BATCH", 2)
    monkeypatch.setattr(type(collection), "remove_documents", counted)
    report = docent.ingest([corpus], "docs", prune=True)

    assert batches == [gone[:2], gone[2:]] and report.pruned == gone
    assert set(stored(docent)) == kept
    assert {r.source for r in docent.documents("docs")} == {
        "handbook.pdf", "policies/security.docx"
    }  # fmt: skip


def test_removing_documents_keeps_the_chunks_a_kept_row_holds(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")
    collection = docent.index.collection("docs")
    notes, plain = sorted(
        (r for r in collection.records() if r.source in ("notes.md", "plain.txt")),
        key=lambda r: r.source,
    )
    twin = dataclasses.replace(notes, key=notes.key + "-twin", source="copy/notes.md")
    collection.put_records([twin])

    def sources() -> set[object]:
        return {m["source"] for m in stored(docent).values()}

    collection.remove_documents([notes, plain])
    assert "notes.md" in sources() and "plain.txt" not in sources()
    collection.remove_documents([twin])
    assert "notes.md" not in sources()
    assert {r.source for r in collection.records()} == {
        "handbook.pdf",
        "faq.html",
        "policies/security.docx",
    }


def test_moved_file_keeps_its_vectors(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")
    (corpus / "plain.txt").rename(corpus / "policies" / "door-codes.txt")

    report = docent.ingest([corpus], "docs")

    moved = [o for o in report.files if o.source == "policies/door-codes.txt"]
    assert moved[0].status == "updated" and "moved from plain.txt" in moved[0].reason
    assert report.chunks_embedded == 0
    sources = {m["source"] for m in stored(docent).values()}
    assert "policies/door-codes.txt" in sources and "plain.txt" not in sources
    assert not report.missing


def test_duplicate_content_is_indexed_once(docent: Docent, corpus: Path) -> None:
    shutil.copy(corpus / "handbook.pdf", corpus / "handbook-copy.pdf")

    report = docent.ingest([corpus], "docs")

    skipped = [o for o in report.files if o.status == "skipped"]
    assert len(skipped) == 1
    other = ({"handbook.pdf", "handbook-copy.pdf"} - {skipped[0].source}).pop()
    assert f"same content as {other}" in skipped[0].reason
    assert {m["source"] for m in stored(docent).values()} >= {other}

    again = docent.ingest([corpus], "docs")
    assert [o.status for o in again.files if o.source == skipped[0].source] == ["skipped"]


def test_hostile_files_fail_alone_with_reasons(docent: Docent, tmp_path: Path) -> None:
    share = tmp_path / "hostile"
    share.mkdir()
    docgen.make_pdf(share / "good.pdf")
    docgen.make_corrupt_pdf(share / "corrupt.pdf")
    docgen.make_encrypted_pdf(share / "locked.pdf")
    docgen.make_binary_named_pdf(share / "binary.pdf")
    docgen.make_zip_bomb_docx(share / "bomb.docx")
    docgen.make_scanned_pdf(share / "scan.pdf")
    (share / "empty.txt").write_bytes(b"")
    (share / "tool.exe").write_bytes(b"MZ\x90\x00")
    (share / "passwd.txt").symlink_to("/etc/passwd")

    report = docent.ingest([share], "docs")

    outcome = {o.source: o for o in report.files}
    assert outcome["good.pdf"].status == "added"
    expected = {
        "corrupt.pdf": "damaged",
        "locked.pdf": "encrypted",
        "binary.pdf": "not a PDF",
        "bomb.docx": "zip bomb",
        "scan.pdf": "needs OCR",
    }
    for source, words in expected.items():
        assert outcome[source].status == "failed", source
        assert words in outcome[source].reason, (source, outcome[source].reason)
    assert outcome["passwd.txt"].status == "skipped"
    assert "symbolic link, not followed" in outcome["passwd.txt"].reason
    assert outcome["tool.exe"].status == "skipped"
    assert "unsupported file type `.exe`" in outcome["tool.exe"].reason
    assert outcome["empty.txt"].status == "skipped"
    assert outcome["empty.txt"].reason == "empty file (0 bytes): nothing to index"
    assert report.exit_code == 2


def _ingestor(docent: Docent, **loaders: object) -> Ingestor:
    config = IngestConfig(parse_timeout_seconds=2.0, parse_memory_mb=512)
    mapping = {".txt": load, ".pdf": load} | {f".{ext}": fn for ext, fn in loaders.items()}
    return Ingestor(docent.index, config, loaders=mapping)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("loader", "reason"),
    [
        (hostile_loaders.hang, "took longer than 2 s"),
        (hostile_loaders.hog_memory, "more than 512 MB of memory"),
        (hostile_loaders.crash, "parser crashed"),
    ],
)
def test_misbehaving_parser_is_contained(
    docent: Docent, tmp_path: Path, loader: object, reason: str
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.txt").write_text("Before the bad file.\n")
    (share / "b.bad").write_text("anything")
    (share / "c.txt").write_text("After the bad file.\n")

    started = time.monotonic()
    report = _ingestor(docent, bad=loader).ingest([share], "docs")

    assert time.monotonic() - started < 60
    outcome = {o.source: o for o in report.files}
    assert outcome["b.bad"].status == "failed"
    assert reason in outcome["b.bad"].reason
    assert outcome["a.txt"].status == outcome["c.txt"].status == "added"


def test_failed_update_keeps_the_indexed_version(docent: Docent, corpus: Path) -> None:
    docent.ingest([corpus], "docs")
    before = {c for c, m in stored(docent).items() if m["source"] == "handbook.pdf"}
    docgen.make_corrupt_pdf(corpus / "handbook.pdf")

    report = docent.ingest([corpus], "docs")

    failed = next(o for o in report.files if o.source == "handbook.pdf")
    assert failed.status == "failed"
    assert "previously indexed version is kept" in failed.reason
    assert before <= set(stored(docent))


def test_second_writer_is_refused_with_the_holders_pid(docent: Docent, corpus: Path) -> None:
    import os

    with docent.index.writer_lock(), pytest.raises(IndexLockedError) as caught:
        docent.ingest([corpus], "docs")
    assert f"locked by PID {os.getpid()} (this Docent)" in caught.value.message
    assert caught.value.hint == "wait for the other upload or re-sync to finish, then try again"
    assert docent.ingest([corpus], "docs").counts()["added"] == 5


def test_dry_run_writes_nothing(docent: Docent, corpus: Path) -> None:
    report = docent.ingest([corpus], "docs", dry_run=True)

    assert report.counts()["added"] == 5
    assert report.chunks_written == 0
    assert docent.collections() == []


def test_threads_opening_the_index_at_once_share_one_client(docent: Docent) -> None:
    start, clients = threading.Barrier(8), []

    def open_index() -> None:
        start.wait()
        clients.append(docent.index.client)

    threads = [threading.Thread(target=open_index) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 8 and len({id(client) for client in clients}) == 1


def test_embedding_window_and_write_steps_do_not_change_what_is_stored(
    docent: Docent, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docent.ingest([corpus], "docs")
    whole = docent.index.collection("docs").chroma.get(include=["embeddings"])
    monkeypatch.setattr(pipeline, "_EMBED_WINDOW", 5)
    small = Docent(
        docent.settings.model_copy(
            update={"data_dir": tmp_path / "small", "write_batch_chunks": 2}
        ),
        embedder=docent.embedder,
    )

    report = small.ingest([corpus], "docs")

    assert report.chunks_written == len(whole["ids"]) > 5
    stepped = small.index.collection("docs").chroma.get(include=["embeddings"])
    by_id = dict(zip(stepped["ids"], np.asarray(stepped["embeddings"]), strict=True))
    for chunk_id, vector in zip(whole["ids"], np.asarray(whole["embeddings"]), strict=True):
        np.testing.assert_allclose(by_id[chunk_id], vector, atol=1e-4)


@pytest.mark.timeout(120)
def test_an_unexpected_error_while_chunking_is_raised_not_hung(
    docent: Docent, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunking runs in a background thread; its failure must reach the caller.
    def broken(self: Chunker, document: object) -> list[object]:
        raise RuntimeError("chunker bug")

    with monkeypatch.context() as patch:
        patch.setattr(Chunker, "split", broken)
        with pytest.raises(RuntimeError, match="chunker bug"):
            docent.ingest([corpus], "docs")

    assert docent.ingest([corpus], "docs").counts()["added"] == 5


def test_files_are_decided_as_the_writes_keep_up_never_the_whole_share_at_once(
    docent: Docent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for n in range(60):
        (share / f"note{n:03d}.md").write_text(
            f"# Note {n}\n\nRoom {n} is booked on day {n} for the {n}th review.\n",
            encoding="utf-8",
        )
    monkeypatch.setattr(pipeline, "_IN_FLIGHT_FILES", 6)
    hashed, stored_files, most = [0], [0], [0]
    real_hash = scan.sha256_file

    def counting_hash(path: Path) -> str:
        hashed[0] += 1
        most[0] = max(most[0], hashed[0] - stored_files[0])
        return real_hash(path)

    class Counting:
        def start(self, files: int) -> None:
            assert files == 60

        def file_done(self, outcome: object) -> None:
            stored_files[0] += 1

        def chunks_done(self, count: int) -> None:
            pass

    monkeypatch.setattr(scan, "sha256_file", counting_hash)
    workers = Docent(
        docent.settings.model_copy(update={"parse_workers": 2}), embedder=docent.embedder
    )

    report = workers.ingest([share], "docs", progress=Counting())

    assert report.counts()["added"] == 60 and hashed[0] == 60
    # Each file is hashed when it is decided: never more than the bound in flight.
    assert most[0] <= 6 + 1, most[0]
