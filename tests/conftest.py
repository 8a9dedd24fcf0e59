"""Shared fixtures: real embedder (loaded once), real Chroma in temp folders, real files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    # Imported where a fixture needs them: pytest loads this file before it starts the
    # worker process (``-n 1``), and Docent's imports take seconds of CPU.
    from app.api import Docent
    from app.settings import Settings
    from models.embedder import Embedder
    from tests.fake_ollama import FakeOllama
    from tests.scripted_chat import Script


# tests/fast_loop.py fails a test that loads a model, starts a process or runs a server
# unless it is marked slow; pytester runs that check on a made-up test file.
pytest_plugins = ["pytester", "tests.fast_loop"]


def pytest_configure(config: pytest.Config) -> None:
    """Start the run from a clean environment (before any test, not at import).

    Settings are read from the environment by the code under test, and the children the
    tests start inherit it: no ``DOCENT_`` variable of the caller's, no hub, no telemetry.
    """
    for name in [name for name in os.environ if name.startswith("DOCENT_")]:
        del os.environ[name]
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    from models.embedder import Embedder, EmbedderConfig

    model = Embedder(EmbedderConfig())
    model.start_loading()
    return model


@pytest.fixture
def scripted_chat() -> Iterator[Script]:
    """The scripted chat backend registered in the real factory; yields its script.

    A ``Docent`` on ``tests.scripted_chat.scripted_settings(...)`` answers with it.
    """
    from models.chat import register_backend
    from tests.scripted_chat import NAME, Script, ScriptedBackend

    script = Script()
    undo = register_backend(NAME, lambda config: ScriptedBackend(config, script))
    yield script
    undo()


@pytest.fixture(scope="module")
def answering_ollama() -> Iterator[FakeOllama]:
    """A fake Ollama at the HTTP edge for the module; it answers "... [1]." to everything."""
    from tests.fake_ollama import FakeModel, FakeOllama
    from tests.http_setup import MODEL

    with FakeOllama([FakeModel(MODEL)]) as server:
        server.behaviour.answer = "The answer is in the sources [1]."
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh data folder."""
    from app.settings import Settings

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path/data`` as ``DOCENT_DATA_DIR``, run from ``tmp_path`` (as the CLI and UI run)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("DOCENT_DATA_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.fixture
def docent(settings: Settings, embedder: Embedder) -> Docent:
    """A Docent on a fresh index, sharing the session's embedder."""
    from app.api import Docent

    return Docent(settings, embedder=embedder)


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    """A small folder of real documents: PDF with headings, DOCX, HTML, Markdown, text."""
    from tests import docgen

    root = tmp_path / "share"
    (root / "policies").mkdir(parents=True)
    docgen.make_pdf(
        root / "handbook.pdf",
        pages=docgen.HANDBOOK_PAGES,
        title="Staff Handbook",
    )
    docgen.make_docx(root / "policies" / "security.docx")
    docgen.make_html(root / "faq.html")
    (root / "notes.md").write_text(
        "# Parking\n\nThe staff car park opens at 06:30.\n\n## Bicycles\n\nRacks are behind "
        "building C.\n",
        encoding="utf-8",
    )
    (root / "plain.txt").write_text("The server room door code changes monthly.\n")
    yield root


@pytest.fixture(scope="module")
def artifacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a browser test module keeps its screenshots (the path is printed)."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    folder = tmp_path_factory.mktemp(f"{module}-artifacts")
    print(f"\nbrowser screenshots: {folder}")
    return folder


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--install``: also run the on-prem install test (``make test-install``)."""
    parser.addoption(
        "--install",
        action="store_true",
        help="run the tests marked install: images built and the compose stack run (long)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the install tests unless ``--install`` asks for them (they take many minutes)."""
    if config.getoption("--install"):
        return
    skip = pytest.mark.skip(reason="the install test runs with `make test-install`")
    for item in items:
        if "install" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Let the UI's model warm-up threads finish before pytest prints its summary.

    llama.cpp points ``sys.stdout`` at /dev/null while it loads a model (llama-cpp-python
    with ``verbose=False``); a load still running in a daemon thread at the end of the
    session swallowed the summary.
    """
    for thread in threading.enumerate():
        if thread.name in ("docent-warm", "docent-preload"):
            thread.join(timeout=120)
