"""End to end in a real headless Chromium: sign in, upload, ask, open a citation, summarize.

One ``streamlit run`` server (started exactly as ``docent ui`` starts it) on loopback with
a fresh data folder; Playwright drives Debian's chromium. Every request the page makes is
recorded, and none may leave the machine. Screenshots of each step are saved under the
test's temporary folder (the path is printed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from tests import docgen
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.ui_server import open_page, serve_ui, sign_in

pytestmark = pytest.mark.browser

QUESTION = "How many days of annual leave does every employee receive?"
# The machine may be busy: model steps get minutes, not seconds.
SLOW = 240_000


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The UI served by ``streamlit run`` on a free loopback port, with a fresh data folder.

    Yields its address and the password of the first administrator, ``admin``, made as
    ``make run`` makes it on a fresh machine.
    """
    with serve_ui(tmp_path_factory.mktemp("ui-server")) as served:
        yield served.url, served.password


def test_upload_ask_cite_and_summarize_in_chromium(
    ui_server: tuple[str, str], artifacts: Path, tmp_path: Path
) -> None:
    ui_url, password = ui_server
    pdf = tmp_path / "handbook.pdf"
    docgen.make_pdf(pdf, pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    requests: list[str] = []
    with sync_playwright() as playwright:
        require_chromium()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        try:
            page.goto(ui_url)
            sign_in(page, password, artifacts)
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            expect(page.get_by_text("No documents in default yet")).to_be_visible(timeout=SLOW)
            page.screenshot(path=artifacts / "01-ask-empty.png")

            open_page(page, "Library")
            page.locator("input[type=file]").set_input_files(pdf)
            page.get_by_role("button", name="Add to default").click()
            expect(page.get_by_text("1 file into default: 1 added.")).to_be_visible(timeout=SLOW)
            page.screenshot(path=artifacts / "02-library-uploaded.png", full_page=True)

            open_page(page, "Ask")
            page.get_by_test_id("stChatInputTextArea").fill(QUESTION)
            page.keyboard.press("Enter")
            # An answer of quotes (the default) comes whole, no model asked.
            quoted = re.compile(r"Quoted from \S+, pages? \d")
            expect(page.get_by_text(quoted)).to_be_visible(timeout=SLOW)
            answer = page.get_by_test_id("stChatMessage").last
            expect(answer).to_contain_text("27")
            assert answer.locator("img, a[href^=http]").count() == 0
            page.screenshot(path=artifacts / "03-answer.png", full_page=True)

            page.get_by_role("button", name="[1] Staff Handbook, p. 2").click()
            panel = page.locator(".st-key-source-panel")
            expect(panel).to_contain_text("Staff Handbook (handbook.pdf), p. 2")
            expect(panel).to_contain_text("27 days of annual leave")
            expect(panel.get_by_role("button", name="Download the original")).to_be_visible()
            page.screenshot(path=artifacts / "04-citation.png", full_page=True)
            panel.get_by_role("button", name="Close").click()
            expect(panel).to_have_count(0, timeout=60_000)

            open_page(page, "Summarize")
            page.get_by_test_id("stButtonGroup").get_by_text("short", exact=True).click()
            page.get_by_role("button", name="Summarize", exact=True).click()
            expect(page.get_by_role("heading", name="Summary of Staff Handbook")).to_be_visible(
                timeout=SLOW
            )
            expect(page.get_by_role("button", name="Download as Markdown")).to_be_visible()
            page.screenshot(path=artifacts / "05-summary.png", full_page=True)
        except Exception:
            page.screenshot(path=artifacts / "failure.png", full_page=True)
            raise
        finally:
            browser.close()

    origin = urlsplit(ui_url).netloc
    elsewhere = {
        url for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")
    } - {url for url in requests if urlsplit(url).netloc == origin}
    assert requests and not elsewhere, f"requests that left the machine: {sorted(elsewhere)}"
