"""Uploads whose names differ only in accents or punctuation stay two documents.

The names are made safe to write, and "café.md" and "cafè.md" (or "a&b.md" and "a#b.md")
used to become the same file, the second silently replacing the first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import uploads
from app.api import Docent
from app.uploads import Upload


@pytest.mark.parametrize(
    ("first", "second"),
    [("café.md", "cafè.md"), ("a&b.md", "a#b.md"), ("Plan (v1).md", "Plan [v1].md")],
)
def test_names_that_differ_land_in_different_places(
    tmp_path: Path, first: str, second: str
) -> None:
    one, two = uploads.upload_target(tmp_path, first), uploads.upload_target(tmp_path, second)
    assert one != two
    assert one.parent == two.parent == tmp_path.resolve()
    # The same name always lands in the same place: a new upload of it replaces the old.
    assert uploads.upload_target(tmp_path, first) == one
    # A name written in decomposed accents is the same name.
    assert uploads.upload_target(tmp_path, "cafe\u0301.md") == uploads.upload_target(
        tmp_path, "café.md"
    )


@pytest.mark.slow
def test_two_uploads_differing_in_an_accent_are_two_documents(docent: Docent) -> None:
    files = [
        Upload("café.md", b"# Cafe\n\nThe staff cafe opens at 07:15 on weekdays.\n"),
        Upload("cafè.md", b"# Caffe\n\nThe visitors' caffe opens at 09:00 every day.\n"),
    ]
    placement = docent.save_uploads("docs", files)
    report = docent.ingest_uploads(placement, "docs")

    assert sorted(o.status for o in report.files) == ["added", "added"]
    sources = {r.source for r in docent.documents("docs")}
    assert len(sources) == 2
