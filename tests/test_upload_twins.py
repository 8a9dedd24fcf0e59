"""An upload of the exact bytes of a document its uploader may not read is told that the
content is already indexed, never under which name (the red team's "learns its name")."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import Docent
from app.uploads import Upload

pytestmark = pytest.mark.slow

SECRET = b"# Disciplinary cases 2026\n\nThe case against the night porter was closed in May.\n"


def test_an_uploaders_report_does_not_name_a_document_she_may_not_read(
    docent: Docent, tmp_path: Path
) -> None:
    share = tmp_path / "hr"
    share.mkdir()
    (share / "disciplinary-cases-2026.md").write_bytes(SECRET)
    admin = docent.accounts.add("root", "correct horse", role="admin")
    assert docent.ingest([share], "docs", labels=["hr"], user=admin).exit_code == 0
    wendy = docent.accounts.add("wendy", "correct horse")
    docent.grant("wendy", "docs", write=True, user=admin)  # the collection's own label

    placement = docent.save_uploads("docs", [Upload("notes.md", SECRET)], user=wendy)
    report = docent.ingest_uploads(placement, "docs", user=wendy)

    outcome = next(o for o in report.files if o.source == "notes.md")
    assert outcome.status == "skipped"
    assert "disciplinary" not in outcome.reason
    assert "already indexed" in outcome.reason and "may not read" in outcome.reason
    # An administrator, who may read it, is told which document it is.
    again = docent.save_uploads("docs", [Upload("copy.md", SECRET)], user=admin)
    told = docent.ingest_uploads(again, "docs", user=admin)
    named = next(o for o in told.files if o.source == "copy.md")
    assert "disciplinary-cases-2026.md" in named.reason
