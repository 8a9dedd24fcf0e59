"""An upload never stands in for a document from elsewhere: not by its name (citations,
originals and deletes name one document each), not by its bytes (no take-over of a twin
whose file the server does not see)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import Docent
from app.uploads import Upload

pytestmark = pytest.mark.slow

SHARED = b"# Staff handbook\n\nEvery employee receives 27 days of annual leave per year.\n"
UPLOADED = b"# Staff handbook (draft)\n\nEvery employee receives 35 days of annual leave.\n"
SECRET = b"# Disciplinary cases 2026\n\nThe case against the night porter was closed in May.\n"


def _share(tmp_path: Path, docent: Docent) -> Path:
    share = tmp_path / "share"
    share.mkdir()
    (share / "handbook.md").write_bytes(SHARED)
    (share / "cases.md").write_bytes(SECRET)
    admin = docent.accounts.add("root", "correct horse", role="admin")
    assert docent.ingest([share / "handbook.md"], "docs", user=admin).exit_code == 0
    assert docent.ingest([share / "cases.md"], "docs", labels=["hr"], user=admin).exit_code == 0
    docent.accounts.add("wendy", "correct horse")
    docent.grant("wendy", "docs", write=True, user=admin)
    return share


def _upload(docent: Docent, name: str, data: bytes) -> tuple[str, str]:
    wendy = docent.accounts.get("wendy")
    placement = docent.save_uploads("docs", [Upload(name, data)], user=wendy)
    report = docent.ingest_uploads(placement, "docs", user=wendy)
    outcome = next(o for o in report.files if Path(o.path).name != "cases.md")
    return outcome.status, outcome.reason


def test_an_upload_named_like_a_shared_document_is_a_document_of_its_own(
    docent: Docent, tmp_path: Path
) -> None:
    share = _share(tmp_path, docent)

    status, _ = _upload(docent, "handbook.md", UPLOADED)

    assert status == "added"
    sources = {r.source for r in docent.documents("docs")}
    [marked] = sources - {"cases.md", "handbook.md"}
    assert len(sources) == 3 and marked.startswith("handbook-") and marked.endswith(".md")
    # The citation and the original of "handbook.md" are the shared folder's.
    assert docent.document_file("docs", "handbook.md") == share / "handbook.md"
    uploaded = docent.document_file("docs", marked)
    assert uploaded is not None and uploaded.read_bytes() == UPLOADED
    # Uploading it again replaces the upload, never the shared document.
    assert _upload(docent, "handbook.md", UPLOADED)[0] == "unchanged"
    # An administrator's delete of "handbook.md" takes the shared document only.
    admin = docent.accounts.get("root")
    removed = docent.remove_document("docs", "handbook.md", user=admin)
    assert [r.source for r in removed] == ["handbook.md"]
    assert (share / "handbook.md").exists() and uploaded.exists()
    assert marked in {r.source for r in docent.documents("docs")}


@pytest.mark.parametrize("gone", [False, True], ids=["on disk", "not seen by the server"])
def test_an_upload_of_a_documents_bytes_never_takes_it_over(
    docent: Docent, tmp_path: Path, gone: bool
) -> None:
    share = _share(tmp_path, docent)
    if gone:  # the share is not mounted where the server runs, or the file left it
        (share / "cases.md").unlink()
    wendy = docent.accounts.get("wendy")

    placement = docent.save_uploads("docs", [Upload("notes.md", SECRET)], user=wendy)
    told = dict(placement.refused)
    status, reason = _upload(docent, "notes.md", SECRET)

    assert status == "skipped" and "already indexed" in reason and "cases" not in reason
    assert "cases" not in told["notes.md"] and "may not read" in told["notes.md"]
    case = next(r for r in docent.documents("docs") if r.doc_id and "hr" in r.labels)
    assert case.source == "cases.md" and case.labels == ["hr"]
    assert {r.source for r in docent.documents("docs", user=wendy)} == {"handbook.md"}
    assert not list((docent.settings.data_dir / "uploads" / "docs").glob("notes*"))
