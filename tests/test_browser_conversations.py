"""Conversations that last, in a real headless Chromium over the sample documents.

A conversation is asked (the follow-up "And for meals?" keeps its topic), survives a
reload, is copied, regenerated, reopened from the sidebar, renamed, exported and
deleted; one older than the retention period is gone from the list; with the
administrator's switch off nothing is saved.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.api import Docent
from app.auth.accounts import User
from app.conversations import SavedTurn
from app.settings import Settings
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.samples import SAMPLES
from tests.ui_server import UiServer, serve_ui, sign_in

pytestmark = pytest.mark.browser

SLOW = 240_000
HOTEL = "How much can I claim for a hotel?"
ADMIN = User("admin", "admin")


def _prepared(work: Path) -> None:
    """The samples in ``samples``, and two conversations of the admin's, 10 and 40 days old."""
    docent = Docent(Settings(data_dir=work / "data"))
    assert docent.ingest([SAMPLES], "samples").exit_code == 0
    talks = docent.conversations
    for title, days in (("Recent leave question", 10), ("Old parking question", 40)):
        saved = talks.save("samples", [SavedTurn(title, "stopped")], user=ADMIN)
        then = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="microseconds")
        with sqlite3.connect(talks.config.path) as db:  # as if last asked that long ago
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (then, saved))


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    work = tmp_path_factory.mktemp("ui-talks")
    _prepared(work)
    with serve_ui(work, DOCENT_COLLECTION="samples", DOCENT_CONVERSATION_RETENTION_DAYS="30") as s:
        yield s


def _ask(page: Page, question: str, shows: str, messages: int) -> None:
    """Ask; the answer, the page's ``messages``-th message, shows ``shows``."""
    page.get_by_test_id("stChatInputTextArea").fill(question)
    page.keyboard.press("Enter")
    chat = page.get_by_test_id("stChatMessage")
    expect(chat).to_have_count(messages, timeout=SLOW)
    expect(chat.nth(messages - 1)).to_contain_text(shows, timeout=SLOW)


def _saved(page: Page, title: str) -> object:
    return page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(re.escape(title)))


def _browser(playwright: object) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # type: ignore[attr-defined]


def test_a_conversation_is_kept_reopened_renamed_exported_and_deleted(
    ui_server: UiServer, artifacts: Path
) -> None:
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui_server.url)
        page = context.new_page()
        try:
            page.goto(ui_server.url)
            sign_in(page, ui_server.password, artifacts)
            _ask(page, HOTEL, "Hotel: up to EUR 140 per night", 2)
            _ask(page, "And for meals?", "Meals: up to EUR 45 per day", 4)
            messages = page.get_by_test_id("stChatMessage")
            expect(messages).to_have_count(4)
            # Listed with its date; the one past the 30-day retention is gone.
            expect(_saved(page, HOTEL)).to_contain_text("today")
            expect(_saved(page, "Recent leave question")).to_be_visible()
            expect(_saved(page, "Old parking question")).to_have_count(0)
            assert "conversation=" in page.url
            page.screenshot(path=artifacts / "01-asked.png", full_page=True)

            # A reload brings the whole conversation back, answers and all.
            page.reload()
            expect(messages).to_have_count(4, timeout=60_000)
            expect(messages.nth(3)).to_contain_text("Meals: up to EUR 45 per day", timeout=60_000)

            # Copy: the answer with its sources, as Markdown.
            copy = page.get_by_role("button", name="Copy answer")
            expect(copy).to_have_count(2, timeout=60_000)  # the page has finished drawing
            copy.last.click()
            expect(page.get_by_role("button", name="Copied")).to_be_visible()
            copied = page.evaluate("navigator.clipboard.readText()")
            first = copied.splitlines()[0]
            assert "Meals: up to EUR 45 per day." in first and first.endswith("[1]"), copied
            assert (
                "- [1] Northwind Clinic Employee Handbook (employee-handbook.pdf), p. 5" in copied
            )

            # Regenerate writes the last answer again, in its place.
            page.get_by_role("button", name="Regenerate").last.click()
            page.wait_for_timeout(2000)  # the click's run starts (a quoted answer is quick)
            expect(copy).to_have_count(2, timeout=SLOW)  # the answer and its tools again
            expect(messages.nth(3)).to_contain_text("Meals: up to EUR 45 per day", timeout=SLOW)
            expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled(timeout=SLOW)
            expect(messages).to_have_count(4)

            # A new conversation, then the saved one reopened from the sidebar.
            page.get_by_role("button", name="New conversation").click()
            expect(messages).to_have_count(0, timeout=60_000)
            _saved(page, HOTEL).click()
            expect(messages).to_have_count(4, timeout=60_000)

            # Rename, then export as Markdown.
            page.get_by_role("button", name="This conversation").click()
            page.get_by_label("Title").fill("Travel costs")
            page.get_by_role("button", name="Rename").click()
            expect(_saved(page, "Travel costs")).to_be_visible(timeout=60_000)
            export = page.get_by_role("button", name="Export as Markdown")
            if not export.is_visible():  # the menu stays open over the rename
                page.get_by_role("button", name="This conversation").click()
            with page.expect_download() as download:
                export.click()
            exported = Path(download.value.path()).read_text(encoding="utf-8")
            assert exported.startswith("# Travel costs\n")
            assert f"## {HOTEL}" in exported and "## And for meals?" in exported
            assert "Meals: up to EUR 45 per day." in exported and "p. 5" in exported
            page.screenshot(path=artifacts / "02-renamed.png", full_page=True)

            # Delete asks once more, then the conversation is gone for good.
            delete = page.get_by_role("button", name="Delete", exact=True)
            if not delete.is_visible():
                page.get_by_role("button", name="This conversation").click()
            delete.click()
            page.get_by_role("button", name="Yes, delete it").click()
            expect(_saved(page, "Travel costs")).to_have_count(0, timeout=60_000)
            expect(messages).to_have_count(0)
            page.reload()
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            expect(_saved(page, "Recent leave question")).to_be_visible(timeout=60_000)
            expect(_saved(page, "Travel costs")).to_have_count(0)
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            raise
        finally:
            browser.close()


def test_with_saving_switched_off_nothing_is_kept(tmp_path: Path) -> None:
    docent = Docent(Settings(data_dir=tmp_path / "data"))
    assert docent.ingest([SAMPLES], "samples").exit_code == 0
    with serve_ui(tmp_path, DOCENT_COLLECTION="samples", DOCENT_CONVERSATIONS_SAVED="false") as s:
        with sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            try:
                page.goto(s.url)
                sign_in(page, s.password, tmp_path)
                expect(page.get_by_text("your administrator turned saving off")).to_be_visible(
                    timeout=60_000
                )
                _ask(page, HOTEL, "Hotel: up to EUR 140 per night", 2)
                assert "conversation=" not in page.url
                page.reload()
                expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                    timeout=60_000
                )
                expect(page.get_by_test_id("stChatMessage")).to_have_count(0)
            finally:
                browser.close()
        assert not (s.data / "conversations.sqlite3").exists()
