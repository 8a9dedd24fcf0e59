"""Scanning a share: links to folders and folder loops are reported, never followed."""

from __future__ import annotations

from pathlib import Path

from app.api import Docent
from tests import docgen


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
