"""Accessibility, phone width and plain words, checked in a real headless Chromium.

axe-core (the npm package, installed by ``npm ci --prefix tests`` into
``tests/node_modules``) is loaded from that local file into every page the test opens,
signed out and signed in as an administrator and as a reader: no serious or critical
violation, and every text at least 4.5:1 against its background (axe's color-contrast
rule). At 390 px wide the collection picker and "New conversation" are in reach without
the sidebar, the sidebar closes after choosing a page, and tables scroll inside the page.
The reader's pages name no internal term.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests import docgen
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.ui_server import UiServer, chromium_page, docent_cli, open_page, serve_ui, sign_in

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "How many days of annual leave does every employee receive?"
READER_PASSWORD = "reader pass 123"
SLOW = 240_000
# What only an administrator should meet: model and backend names, the index's words,
# server commands, file types, hashes.
INTERNAL = re.compile(
    r"llamacpp|SmolLM2|\bchunks?\b|\bOCR\b|docent grant|docent eval|application/|sha256|"
    r"\bMIME\b|\bembedd",
    re.IGNORECASE,
)


def require_axe() -> None:
    """Skip when axe-core is not installed, naming the command that installs it."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed: run `npm ci --prefix tests` ({AXE})")


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The UI over a handbook (PDF) and a rota (Markdown), with a read-only reader."""
    work = tmp_path_factory.mktemp("a11y")
    files = work / "files"
    files.mkdir()
    docgen.make_pdf(files / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    (files / "rota.md").write_text(
        "# Night rota\n\nThe night shift starts at nine in the evening. "
        "Handover to the day team is at seven in the morning.\n"
    )
    data = work / "data"
    docent_cli(data, "ingest", str(files), "-c", "default")
    with serve_ui(work) as served:
        docent_cli(data, "users", "add", "reader", "--password-stdin", stdin=READER_PASSWORD)
        docent_cli(data, "grant", "reader", "default")
        yield served


@pytest.fixture
def browser_page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def at_rest(page: Page) -> None:
    """Wait until this run is drawn: Streamlit greys the last run's elements until then."""
    page.wait_for_timeout(500)
    stale = "() => !document.querySelector('[data-stale=\"true\"]')"
    page.wait_for_function(stale, timeout=SLOW)


def violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations (and any contrast one) on the page now."""
    at_rest(page)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(
            f"{' '.join(n['target'])}: {n.get('failureSummary', '')[:160]}" for n in v["nodes"][:4]
        )
        for v in found
        if v["impact"] in {"serious", "critical"} or v["id"] == "color-contrast"
    ]


def sign_in_as(page: Page, name: str, password: str) -> None:
    expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(timeout=60_000)
    page.get_by_label("User", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(timeout=60_000)


def ask(page: Page, question: str) -> None:
    page.get_by_test_id("stChatInputTextArea").fill(question)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Quoted from \S+"))).to_be_visible(timeout=SLOW)


def test_every_page_passes_axe_signed_out_and_in(
    ui_server: UiServer, browser_page: Page, tmp_path: Path
) -> None:
    require_axe()
    page, problems = browser_page, {}
    page.goto(ui_server.url)
    expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(timeout=60_000)
    problems["sign-in"] = violations(page)
    sign_in(page, ui_server.password, tmp_path)
    expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(timeout=60_000)
    problems["ask"] = violations(page)
    ask(page, QUESTION)
    problems["answer"] = violations(page)
    page.get_by_role("button", name="[1]", exact=True).first.click()
    expect(page.get_by_role("img", name=re.compile("Page 2 of Staff Handbook"))).to_be_visible(
        timeout=60_000
    )
    problems["source viewer"] = violations(page)
    page.keyboard.press("Escape")  # the viewer is modal: closed before the sidebar is used
    expect(page.locator(".st-key-source-panel")).to_have_count(0, timeout=60_000)
    for name, heading in (
        ("Summarize", "Summarize a document"),
        ("Library", "Library"),
        ("Status", "Status"),
    ):
        open_page(page, name)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
        problems[name] = violations(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(timeout=60_000)
    page.goto(ui_server.url)
    sign_in_as(page, "reader", READER_PASSWORD)
    problems["reader ask"] = violations(page)
    open_page(page, "Library")
    expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible(timeout=60_000)
    problems["reader library"] = violations(page)

    failing = {k: v for k, v in problems.items() if v}
    assert not failing, "\n".join(f"{k}: {line}" for k, v in failing.items() for line in v)


def test_at_phone_width_the_page_works_without_the_sidebar(
    ui_server: UiServer, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        require_chromium()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            page.goto(ui_server.url)
            sign_in(page, ui_server.password, tmp_path)
            expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible(
                timeout=60_000
            )
            at_rest(page)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=30_000)
            for control in (
                page.get_by_role("combobox", name="Collection"),
                page.get_by_role("button", name="New conversation"),
            ):
                expect(control).to_be_in_viewport()
                box = control.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box

            page.get_by_test_id("stExpandSidebarButton").click()
            expect(sidebar).to_have_attribute("data-collapsed", "false")
            open_page(page, "Library")
            expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible(
                timeout=60_000
            )
            expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=10_000)
            table = page.get_by_test_id("stDataFrame").first
            expect(table).to_be_visible(timeout=60_000)
            box = table.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            scroller = table.locator(".dvn-scroller").first
            wide = scroller.evaluate("(e) => e.scrollWidth > e.clientWidth")
            assert wide, "the documents table should scroll sideways at 390 px"
            scroller.evaluate("(e) => { e.scrollLeft = e.scrollWidth; }")
            assert scroller.evaluate("(e) => e.scrollLeft") > 0
            page.screenshot(path=tmp_path / "phone-library.png", full_page=True)
        finally:
            browser.close()


def test_the_readers_pages_use_plain_words(ui_server: UiServer, browser_page: Page) -> None:
    page = browser_page
    page.goto(ui_server.url)
    expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(timeout=60_000)
    signed_out = page.locator("body").inner_text()
    assert "answers questions from your organisation's own documents" in signed_out
    assert "Ask your Docent administrator" in signed_out
    sign_in_as(page, "reader", READER_PASSWORD)
    ask(page, QUESTION)
    seen = {"sign-in": signed_out, "ask": page.locator("body").inner_text()}
    page.get_by_role("button", name="[1]", exact=True).first.click()
    expect(page.locator(".st-key-source-panel")).to_be_visible(timeout=60_000)
    seen["source viewer"] = page.locator("body").inner_text()
    page.keyboard.press("Escape")
    expect(page.locator(".st-key-source-panel")).to_have_count(0, timeout=60_000)
    for name, heading in (("Summarize", "Summarize a document"), ("Library", "Library")):
        open_page(page, name)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        seen[name] = page.locator("body").inner_text()
    if "Summarize" in seen:
        open_page(page, "Summarize")
        page.get_by_role("button", name="Summarize", exact=True).click()
        expect(page.get_by_role("button", name="Download as Markdown")).to_be_visible(timeout=SLOW)
        seen["summary"] = page.locator("body").inner_text()
    assert page.get_by_test_id("stSidebarNav").get_by_text("Status").count() == 0

    data = str(ui_server.data)
    found = {
        name: sorted({m.group(0) for m in INTERNAL.finditer(text)} | ({data} & {text}))
        for name, text in seen.items()
    }
    found = {name: terms for name, terms in found.items() if terms}
    assert not found, found
    assert not any(data in text or "/tmp/" in text for text in seen.values())
