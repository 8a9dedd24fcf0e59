"""A working day in a real headless Chromium: the collection holds, no question is lost.

The server starts with ``DOCENT_COLLECTION=samples`` and an administrator who sees two
collections, ``board`` and ``samples`` (the handbook ingested into each by the CLI
before the server starts). The test walks the pages, then asks, stops, asks again and
leaves mid-answer, checking that nothing typed disappears. Screenshots are saved under
the test's temporary folder (the path is printed).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests import docgen
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.ui_server import UiServer, open_page, serve_ui, sign_in

pytestmark = pytest.mark.browser

SLOW = 240_000
QUESTION = "How many days of annual leave does every employee receive?"
SECOND = "What are the core working hours?"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The UI over a data folder holding the handbook in ``board`` and in ``samples``."""
    work = tmp_path_factory.mktemp("ui-day")
    pdf = docgen.make_pdf(work / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Handbook")
    env = dict(os.environ, DOCENT_DATA_DIR=str(work / "data"), HF_HUB_OFFLINE="1")
    for collection in ("board", "samples"):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", str(pdf), "-c", collection],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    # The model writes the answers (not the instant quotes), so there is time to press Stop.
    with serve_ui(work, DOCENT_COLLECTION="samples", DOCENT_ANSWER_MODE="model") as served:
        yield served


def picked(page: Page) -> str:
    """The collection the page's picker shows."""
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Collection")
    expect(picker).to_be_visible(timeout=60_000)
    # With new names allowed the choice is the value (or placeholder) of an input.
    shown: str = picker.evaluate(
        "e => [...e.querySelectorAll('input')].map(i => i.value || i.placeholder).join(' ')"
        " + ' ' + e.innerText"
    )
    return " ".join(sorted({w for w in shown.split() if w in ("board", "samples")}))


def choose(page: Page, collection: str) -> None:
    """Choose ``collection`` in the page's picker.

    A page that is still running redraws its widgets, which closes a list just opened:
    open it again until the option shows (each try waits up to 10 s).
    """
    option = page.get_by_role("option", name=collection, exact=True)
    for _ in range(6):
        page.get_by_test_id("stSelectbox").filter(has_text="Collection").click()
        try:
            expect(option).to_be_visible(timeout=10_000)
        except AssertionError:
            continue
        option.click()
        return
    raise AssertionError(f"the collection picker never listed {collection!r}")


def ask(page: Page, question: str) -> None:
    """Send ``question`` from the chat box."""
    page.get_by_test_id("stChatInputTextArea").fill(question)
    page.keyboard.press("Enter")


def test_collection_holds_and_no_question_is_lost(ui_server: UiServer, artifacts: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One browser profile: the second tab shares the first one's cookies.
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        try:
            page.goto(ui_server.url)
            sign_in(page, ui_server.password, artifacts)
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            # Defect 1: every page, in any order, shows the collection in force.
            for name in ("Ask", "Summarize", "Library", "Ask", "Library", "Summarize"):
                open_page(page, name)
                assert picked(page) == "samples", name
            open_page(page, "Library")
            expect(page.get_by_role("button", name="Add to samples")).to_be_visible()
            choose(page, "board")
            expect(page.get_by_role("button", name="Add to board")).to_be_visible()
            for name in ("Ask", "Library", "Summarize", "Ask"):
                open_page(page, name)
                assert picked(page) == "board", name

            # Defect 2: while an answer is written the box is closed, and Stop keeps it.
            ask(page, QUESTION)
            stop = page.get_by_role("button", name="Stop")
            expect(stop).to_be_visible(timeout=SLOW)
            expect(page.get_by_test_id("stChatInputTextArea")).to_be_disabled()
            stop.click()
            expect(page.get_by_text("Stopped before the answer was finished")).to_be_visible(
                timeout=60_000
            )
            expect(page.get_by_test_id("stChatMessage").first).to_contain_text(QUESTION)
            page.screenshot(path=artifacts / "01-stopped.png", full_page=True)

            # Defect 3: leaving Ask mid-answer keeps the question; its answer follows.
            ask(page, SECOND)
            expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=SLOW)
            open_page(page, "Library")
            expect(page.get_by_role("heading", name="Library")).to_be_visible(timeout=60_000)
            open_page(page, "Ask")
            messages = page.get_by_test_id("stChatMessage")
            expect(messages.filter(has_text=SECOND)).to_have_count(1, timeout=60_000)
            # The question waits its turn again; Stop still ends it (its answer is written
            # once the model is free: the run left behind holds it until its step ends).
            expect(page.get_by_test_id("stChatInputTextArea")).to_be_disabled()
            page.get_by_role("button", name="Stop").click()
            expect(page.get_by_text("Stopped before the answer was finished")).to_have_count(
                2, timeout=60_000
            )
            expect(messages).to_have_count(4)
            expect(messages.first).to_contain_text(QUESTION)
            page.screenshot(path=artifacts / "02-finished.png", full_page=True)

            # Defect 4: a reload and a second tab stay signed in; sign-out ends it.
            cookie = next(c for c in page.context.cookies() if c["name"] == "docent_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            page.reload()
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            second = page.context.new_page()
            second.goto(ui_server.url)
            expect(second.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            second.get_by_role("button", name="Sign out").click()
            expect(second.get_by_role("heading", name="Sign in to Docent")).to_be_visible()
            page.reload()
            expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(
                timeout=60_000
            )
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            raise
        finally:
            browser.close()
