"""Uploads: written under a hidden name, kept only when the ingest accepts them, and capped
per user and day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.api import Docent
from app.upload_limits import UploadLimitError, UploadLimits
from app.uploads import Placement, Upload, stage_uploads, upload_folder
from ingest.report import IngestReport
from models.embedder import Embedder
from tests import docgen
from tests.http_setup import api_docent, bearer, client, token_for

MB = 1024 * 1024


def _limits(tmp_path: Path, *, daily_mb: int = 100, daily_files: int = 100) -> UploadLimits:
    return UploadLimits(50, daily_mb, daily_files, tmp_path / "uploads" / ".usage.json")


def _upload(docent: Docent, tmp_path: Path, name: str, data: bytes) -> IngestReport:
    """The Library page's and the API's order: stage, place, ingest, settle."""
    folder = upload_folder(docent.settings.data_dir, "docs")
    placement = stage_uploads(folder, [Upload(name, data)], _limits(tmp_path), "alice")
    report = None
    try:
        report = docent.ingest(placement.place(), "docs")
    finally:
        placement.settle(report)
    return report


def test_a_replacement_the_ingest_fails_keeps_the_earlier_original(
    tmp_path: Path, docent: Docent
) -> None:
    good = docgen.make_pdf(tmp_path / "report.pdf", pages=docgen.HANDBOOK_PAGES).read_bytes()
    assert _upload(docent, tmp_path, "report.pdf", good).counts()["added"] == 1
    folder = upload_folder(docent.settings.data_dir, "docs")

    failed = _upload(docent, tmp_path, "report.pdf", b"%PDF-1.4 not really a PDF at all")

    (outcome,) = failed.files
    assert outcome.status == "failed"
    assert "the earlier file of this name was kept" in outcome.notes
    assert (folder / "report.pdf").read_bytes() == good
    assert docent.document_file("docs", "report.pdf") == folder / "report.pdf"
    assert sorted(p.name for p in folder.iterdir()) == ["report.pdf"]  # nothing hidden left


def test_an_accepted_replacement_takes_the_place_and_leaves_nothing_behind(
    tmp_path: Path, docent: Docent
) -> None:
    _upload(docent, tmp_path, "leave.md", b"# Leave\n\nLeave is 25 days a year.\n")

    report = _upload(docent, tmp_path, "leave.md", b"# Leave\n\nLeave is 27 days a year.\n")

    folder = upload_folder(docent.settings.data_dir, "docs")
    assert report.counts()["updated"] == 1
    assert (folder / "leave.md").read_bytes().endswith(b"27 days a year.\n")
    assert [p.name for p in folder.iterdir()] == ["leave.md"]


def test_an_ingest_that_raises_undoes_every_upload(tmp_path: Path) -> None:
    folder = tmp_path / "uploads" / "docs"
    folder.mkdir(parents=True)
    (folder / "old.md").write_bytes(b"the earlier upload")
    files = [Upload("old.md", b"a replacement"), Upload("new.md", b"a new file")]
    placement = stage_uploads(folder, files, _limits(tmp_path), "alice")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["old.md"]

    placement.place()
    placement.settle(None)

    assert sorted(p.name for p in folder.iterdir()) == ["old.md"]
    assert (folder / "old.md").read_bytes() == b"the earlier upload"


def test_daily_caps_count_per_user_and_say_why(tmp_path: Path) -> None:
    limits = _limits(tmp_path, daily_mb=1, daily_files=3)
    folder = tmp_path / "uploads" / "docs"
    stage_uploads(folder, [Upload(f"{n}.md", b"x") for n in range(3)], limits, "alice")

    with pytest.raises(UploadLimitError, match="alice may upload 3 files a day") as files:
        stage_uploads(folder, [Upload("4.md", b"x")], limits, "alice")
    assert "upload_daily_files" in files.value.hint
    stage_uploads(folder, [Upload("bob.md", b"y" * (MB // 2))], limits, "bob")
    with pytest.raises(UploadLimitError, match=r"bob may upload 1 MB a day and has uploaded 0.5"):
        stage_uploads(folder, [Upload("big.md", b"y" * (MB // 2 + 1))], limits, "bob")
    # A refused batch writes nothing and counts nothing.
    assert not (folder / "big.md").exists() and not list(folder.glob(".big.md*"))
    assert json.loads(limits.ledger.read_text())["users"]["bob"] == [1, MB // 2]


def test_a_new_day_starts_from_nothing(tmp_path: Path) -> None:
    limits = _limits(tmp_path, daily_files=1)
    limits.ledger.parent.mkdir(parents=True)
    limits.ledger.write_text(json.dumps({"day": "2000-01-01", "users": {"alice": [9, 9]}}))

    limits.reserve("alice", 1, 10)

    assert json.loads(limits.ledger.read_text())["users"] == {"alice": [1, 10]}


def test_refused_types_and_sizes_are_not_counted(tmp_path: Path) -> None:
    limits = UploadLimits(1, 100, 100, tmp_path / ".usage.json")
    placement: Placement = stage_uploads(
        tmp_path / "docs",
        [Upload("run.exe", b"MZ"), Upload("big.md", b"z" * (MB + 1)), Upload("/", b"x")],
        limits,
        "alice",
    )
    assert [why for _, why in placement.refused] == [
        "unsupported file type .exe",
        "larger than the upload limit of 1 MB",
        "the file name has no usable characters",
    ]
    assert not limits.ledger.exists()


def test_the_api_keeps_only_accepted_uploads_and_answers_429_past_the_daily_cap(
    tmp_path: Path, embedder: Embedder
) -> None:
    docent = api_docent(tmp_path, embedder, "http://127.0.0.1:9", upload_daily_files=2)
    admin = token_for(docent, "root", admin=True)
    good = b"# Leave\n\nLeave is 25 days a year.\n"
    url = "/api/v1/collections/legal/documents"
    with client(docent) as http:
        for data in (good, b"\xff\xfe\x00 not text \x00" * 20):
            files = [("files", ("leave.pdf" if data != good else "leave.md", data, "text/plain"))]
            started = http.post(url, files=files, headers=bearer(admin))
            assert started.status_code == 202, started.text
            events = http.get(f"/api/v1/jobs/{started.json()['id']}/events", headers=bearer(admin))
            assert "done" in events.text
        over = http.post(
            url, files=[("files", ("more.md", good, "text/plain"))], headers=bearer(admin)
        )
    folder = upload_folder(docent.settings.data_dir, "legal")
    assert sorted(p.name for p in folder.iterdir()) == ["leave.md"]
    assert over.status_code == 429
    assert "root may upload 2 files a day" in over.json()["error"]["message"]


def test_uploads_through_the_api_are_recorded_with_the_repair_after_a_stop(docent: Docent) -> None:
    files = [Upload("leave.md", b"# Leave\n\nLeave is 25 days a year.\n"), Upload("run.exe", b"MZ")]
    placement = docent.save_uploads("docs", files)

    report = docent.ingest_uploads(placement, "docs")
    repaired = docent.recover("docs")  # what the Library page's Stop and the API's Cancel run

    assert [(f.source, f.status) for f in report.files] == [
        ("leave.md", "added"),
        ("run.exe", "skipped"),
    ]
    assert repaired == 0
    ingest, recovered = docent.audit.export()
    assert (ingest["event"], ingest["files"]) == ("ingest", [["leave.md", "added"]])
    assert (recovered["event"], recovered["collection"], recovered["repaired"]) == (
        "recover",
        "docs",
        0,
    )
