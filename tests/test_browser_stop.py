"""Stop in a real headless Chromium: a long summary and an upload of several files.

AppTest cannot click while a run is going, so these tests press Stop in the browser while
the real model summarizes and the real embedder ingests, then check what the page shows,
what the index holds and that the page still works. Screenshots are saved under the
test's temporary folder (the path is printed).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.api import Docent
from app.settings import Settings
from tests import docgen
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.ui_server import UiServer, open_page, serve_ui, sign_in, wait_idle

pytestmark = pytest.mark.browser

# The machine may be busy: model steps get minutes, not seconds.
SLOW = 240_000
# How long Stop may take to show on the page.
STOP_WITHIN = 20.0
STOPPED = "Stopped: the files added before Stop stay in the library"
SETTINGS = {
    # A few chunks a step, so an ingest has many points where Stop can land inside a file.
    "DOCENT_WRITE_BATCH_CHUNKS": "4",
    # Smaller parts and shorter notes keep each model call short on a busy machine; a
    # summary still takes many of them.
    "DOCENT_CHAT_CONTEXT_TOKENS": "1024",
    "DOCENT_CHAT_MAX_ANSWER_TOKENS": "128",
    # The model writes each part's points (with the packaged model a summary is quoted by
    # default, in a second): Stop lands inside a model call.
    "DOCENT_SUMMARY_MODE": "model",
}
SENTENCE = (
    "Item {n}.{p}: the {w} committee reviewed the budget of the {w} programme, noted a "
    "shortfall of {n}{p} thousand euros and asked the finance office to report by week {p}. "
)
WORDS = ("harbor", "lisbon", "archive", "transport", "training", "safety", "energy", "garden")


def report_pages(count: int, seed: int = 0) -> list[docgen.PageSpec]:
    """``count`` pages of distinct budget minutes, about two chunks a page."""
    return [
        (
            f"Chapter {n}",
            "\n\n".join(
                " ".join(
                    SENTENCE.format(n=n, p=p, w=WORDS[(seed + n + p + k) % 8]) for k in range(3)
                )
                for p in range(4)
            ),
        )
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """The UI on loopback with a fresh data folder and the test's settings."""
    with serve_ui(tmp_path_factory.mktemp("ui-stop"), **SETTINGS) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless and offline."""
    with sync_playwright() as playwright:
        require_chromium()
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(
    browser: Browser, ui_server: UiServer, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A page signed in as ``admin``; its last state is saved as ``<test>-end.png``."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(ui_server.url)
    sign_in(tab, ui_server.password, artifacts)
    expect(tab.get_by_role("heading", name="Ask your documents")).to_be_visible(timeout=60_000)
    yield tab
    tab.screenshot(path=artifacts / f"{request.node.name}-end.png", full_page=True)
    tab.close()


def upload(page: Page, files: list[Path]) -> None:
    """Choose ``files`` on the Library page and add them to the default collection."""
    open_page(page, "Library")
    page.locator("input[type=file]").set_input_files(files)
    page.get_by_role("button", name="Add to default").click()


def press_stop(page: Page, shows: str) -> float:
    """Press Stop; return the seconds until the page shows ``shows``."""
    pressed = time.monotonic()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(shows)).to_be_visible(timeout=STOP_WITHIN * 1000)
    return time.monotonic() - pressed


def no_error(page: Page) -> None:
    """Neither a traceback nor an error message is on the page."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def summaries(server: UiServer) -> list[str]:
    """The documents the audit log records as summarized."""
    lines = (server.data / "audit.jsonl").read_text().splitlines()
    return [r["source"] for r in map(json.loads, lines) if r["event"] == "summarize"]


def test_stop_a_long_summary(
    page: Page, ui_server: UiServer, artifacts: Path, tmp_path: Path
) -> None:
    report = docgen.make_pdf(
        tmp_path / "annual-report.pdf", report_pages(12), title="Annual Report"
    )
    handbook = docgen.make_pdf(
        tmp_path / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Staff Handbook"
    )
    upload(page, [report, handbook])
    expect(page.get_by_text("2 files into default: 2 added.")).to_be_visible(timeout=SLOW)

    open_page(page, "Summarize")
    expect(page.get_by_role("combobox", name="Document")).to_have_value(
        "Annual Report (annual-report.pdf)"
    )
    page.get_by_role("button", name="Summarize", exact=True).click()
    expect(page.get_by_text("part 1 of")).to_be_visible(timeout=SLOW)
    page.screenshot(path=artifacts / "10-summary-running.png", full_page=True)
    shown = press_stop(page, "Summary stopped.")
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    page.screenshot(path=artifacts / "11-summary-stopped.png", full_page=True)
    # The stopped run ends in the background after the model call it was in: the server
    # goes quiet, and no summary of the report is shown or audited.
    quiet = wait_idle(ui_server.process.pid, within=SLOW / 1000)
    print(f"\nsummary: Stop shown in {shown:.1f} s, server quiet {shown + quiet:.0f} s after Stop")
    expect(page.get_by_role("heading", name="Summary of Annual Report")).to_have_count(0)
    no_error(page)
    assert summaries(ui_server) == []

    # The page still works: another page opens, and the next summary runs to the end.
    open_page(page, "Ask")
    expect(page.get_by_role("heading", name="Ask your documents")).to_be_visible()
    open_page(page, "Summarize")
    page.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name="Staff Handbook (handbook.pdf)").click()
    page.get_by_test_id("stButtonGroup").get_by_text("short", exact=True).click()
    page.get_by_role("button", name="Summarize", exact=True).click()
    expect(page.get_by_role("heading", name="Summary of Staff Handbook")).to_be_visible(
        timeout=SLOW
    )
    expect(page.get_by_text("Summary stopped.")).to_have_count(0)
    no_error(page)
    page.screenshot(path=artifacts / "12-next-summary.png", full_page=True)
    assert summaries(ui_server) == ["handbook.pdf"]


def check_index(server: UiServer) -> list[str]:
    """Assert every document in the index is whole; return their file names."""
    collection = Docent(Settings(data_dir=server.data)).index.collection("default")
    records = collection.records()
    stored = collection.chroma.get(include=["metadatas"])
    chunks: dict[str, int] = {}
    for meta in stored["metadatas"] or []:
        chunks[str(meta["doc_id"])] = chunks.get(str(meta["doc_id"]), 0) + 1
    assert all(r.doc_id and not r.pending and not r.stale for r in records), records
    assert {r.doc_id: r.chunks for r in records} == chunks
    assert collection.lexical.count() == len(stored["ids"])
    return [r.source for r in records]


def test_stop_an_upload_of_several_files(
    page: Page, ui_server: UiServer, artifacts: Path, tmp_path: Path
) -> None:
    names = [f"minutes-{n}.pdf" for n in range(5)]
    files = [
        # Long enough that five files take a while with parsers and embedder in parallel.
        docgen.make_pdf(tmp_path / name, report_pages(40, seed=n), title=f"Minutes {n}")
        for n, name in enumerate(names)
    ]
    upload(page, files)
    expect(page.get_by_text(re.compile(r"\b[1-3] of 5 files"))).to_be_visible(timeout=SLOW)
    page.screenshot(path=artifacts / "20-upload-running.png", full_page=True)
    shown = press_stop(page, STOPPED)
    expect(page.get_by_text("Adding 5 files to default")).to_have_count(0)
    no_error(page)
    page.screenshot(path=artifacts / "21-upload-stopped.png", full_page=True)
    # The stopped run ends in the background after the step it was in. What was added
    # before Stop is whole, and the file Stop cut short left nothing behind.
    quiet = wait_idle(ui_server.process.pid, within=SLOW / 1000)
    print(f"\nupload: Stop shown in {shown:.1f} s, server quiet {shown + quiet:.0f} s after Stop")
    added = [name for name in check_index(ui_server) if name in names]
    assert 1 <= len(added) < len(names), added

    # The page still works: adding the same files again adds the rest.
    open_page(page, "Library")
    page.get_by_role("button", name="Add to default").click()
    expect(page.get_by_text(re.compile(r"^5 files into default: "))).to_be_visible(timeout=SLOW)
    no_error(page)
    page.screenshot(path=artifacts / "22-upload-finished.png", full_page=True)
    assert set(names) <= set(check_index(ui_server))
