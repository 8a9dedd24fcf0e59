"""Where a session opens: on the collection the person used last, else one they may read.

Through ``streamlit.testing`` with the whole app (``main.py``), as a sign-in or a new tab
runs it: each ``AppTest`` is a new browser session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.api import Docent
from app.auth.access import Grants
from app.settings import Settings
from app.ui import last_collection, resources
from models.embedder import Embedder
from tests.test_ui_pages import MAIN, TIMEOUT, account

pytestmark = pytest.mark.slow


@pytest.fixture
def two_collections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> Path:
    """``board`` and ``samples`` hold a document each; nothing is called ``default``."""
    data = tmp_path / "data"
    monkeypatch.setenv("DOCENT_DATA_DIR", str(data))
    (tmp_path / "minutes.md").write_text("# Minutes\n\nThe board meets every Tuesday.\n")
    (tmp_path / "guide.md").write_text("# Guide\n\nThe canteen opens at 11:30.\n")
    setup = Docent(Settings.load(), embedder=embedder)
    setup.ingest([tmp_path / "minutes.md"], "board", labels=["ward"])
    setup.ingest([tmp_path / "guide.md"], "samples", labels=["ward"])
    return data


def session(user: str, role: str = "admin") -> AppTest:
    """A new browser session of the whole app, signed in as ``user``."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    at.session_state["session"] = account(user, role)  # type: ignore[arg-type]
    return at.run()


def test_a_reader_opens_on_the_collection_she_may_read(two_collections: Path) -> None:
    account("nina", "user")
    Grants(two_collections / "grants.json").grant("nina", "board", "ward")

    at = session("nina", "user")

    assert not at.exception
    picker = at.selectbox(key=resources.PICKER_KEY)
    assert picker.value == "board" and picker.options == ["board"]
    assert [i.value for i in at.info] == ["Ask about anything in the documents of this collection."]
    assert at.chat_input, "she can ask at once"


def test_a_new_session_opens_on_the_collection_chosen_last(two_collections: Path) -> None:
    first = session("admin")
    picker = first.selectbox(key=resources.PICKER_KEY)
    # Nothing is called `default`: the first collection, and only real ones are offered.
    assert picker.value == "board" and picker.options == ["board", "samples"]
    picker.set_value("samples").run()
    assert not first.exception

    again = session("admin")
    assert again.selectbox(key=resources.PICKER_KEY).value == "samples"
    assert last_collection.recalled(two_collections, "admin") == "samples"
    assert oct((two_collections / last_collection.FILE_NAME).stat().st_mode & 0o777) == "0o600"


def test_a_last_choice_no_longer_readable_falls_back(two_collections: Path) -> None:
    account("omar", "user")
    Grants(two_collections / "grants.json").grant("omar", "samples", "ward")
    last_collection.remember(two_collections, "omar", "board")

    assert session("omar", "user").selectbox(key=resources.PICKER_KEY).value == "samples"


@pytest.mark.parametrize(
    ("readable", "last", "configured", "opened"),
    [
        (["board", "samples"], "samples", "default", "samples"),
        (["board", "samples"], "gone", "samples", "samples"),
        (["board", "samples"], None, "default", "board"),
        ([], None, "default", "default"),
    ],
)
def test_landing(readable: list[str], last: str | None, configured: str, opened: str) -> None:
    assert resources.landing(readable, last, configured) == opened
