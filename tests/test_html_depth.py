"""A page nested deeper than any page written for reading fails with a reason, not with
an internal error from a reader further down; a deep but real page is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import LoaderError
from ingest.loaders import load


def test_a_page_nested_100000_deep_fails_with_its_reason(tmp_path: Path) -> None:
    page = tmp_path / "deep.html"
    page.write_text(
        "<html><body>" + "<div>" * 100_000 + "Ward text." + "</div>" * 100_000 + "</body></html>"
    )
    with pytest.raises(LoaderError, match="nests its elements more than 256 deep"):
        load(page)


def test_a_page_nested_200_deep_is_read(tmp_path: Path) -> None:
    page = tmp_path / "nested.html"
    page.write_text(
        "<html><body><h1>Ward</h1>"
        + "<div>" * 200
        + "<p>The ward opens at 07:00.</p>"
        + "</div>" * 200
        + "</body></html>"
    )
    assert "The ward opens at 07:00." in load(page).sections[0].text
