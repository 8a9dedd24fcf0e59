"""Keyboard and deliberate deletes in a real headless Chromium.

After an answer the question box has the focus again; the first Tab of a page reaches a
skip link to the question box; deleting a document asks in a dialog that closes after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import docgen
from tests.ui_server import UiServer, chromium_page, docent_cli, open_page, serve_ui, sign_in

pytestmark = pytest.mark.browser

SLOW = 240_000
QUESTION = "How many days of annual leave does every employee receive?"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The UI over a data folder whose ``default`` collection holds the handbook."""
    work = tmp_path_factory.mktemp("ui-keys")
    pdf = docgen.make_pdf(work / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Handbook")
    docent_cli(work / "data", "ingest", str(pdf), "-c", "default")
    with serve_ui(work) as served:
        yield served


def test_keyboard_reaches_the_question_box_and_gets_it_back(
    ui_server: UiServer, artifacts: Path
) -> None:
    with chromium_page() as page:
        try:
            page.goto(ui_server.url)
            sign_in(page, ui_server.password, artifacts)
            box = page.get_by_test_id("stChatInputTextArea")
            expect(box).to_be_enabled(timeout=SLOW)

            # From a fresh page, one Tab and Enter: the skip link, then the question box.
            page.reload()
            expect(box).to_be_enabled(timeout=SLOW)
            expect(page.locator("a.docent-skip")).to_have_count(1)
            page.keyboard.press("Tab")
            skip = page.locator("a.docent-skip")
            expect(skip).to_be_focused()
            expect(skip).to_have_text("Skip to the question box")
            page.keyboard.press("Enter")
            expect(box).to_be_focused()

            # Typed, sent, answered: the box is the focus again for the next question.
            page.keyboard.type(QUESTION)
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text("27", timeout=SLOW)
            expect(box).to_be_enabled(timeout=SLOW)
            expect(box).to_be_focused(timeout=10_000)
            page.screenshot(path=artifacts / "01-answered.png")
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            raise


def test_a_delete_is_confirmed_in_a_dialog_that_closes(
    ui_server: UiServer, artifacts: Path
) -> None:
    with chromium_page() as page:
        try:
            page.goto(ui_server.url)
            sign_in(page, ui_server.password, artifacts)
            open_page(page, "Library")
            page.get_by_role("button", name="Delete a document…").click(timeout=SLOW)
            dialog = page.get_by_role("dialog")
            expect(dialog).to_be_visible(timeout=60_000)
            expect(dialog.get_by_role("button", name="Delete handbook.pdf")).to_have_count(0)
            dialog.get_by_test_id("stSelectbox").click()
            page.get_by_role("option", name="handbook.pdf").click()
            confirm = dialog.get_by_role("button", name="Delete handbook.pdf")
            expect(confirm).to_be_visible(timeout=60_000)
            page.screenshot(path=artifacts / "02-confirm.png")
            confirm.click()

            expect(page.get_by_text("No documents in default yet")).to_be_visible(timeout=SLOW)
            expect(page.get_by_role("dialog")).to_have_count(0)
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            raise
