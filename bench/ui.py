"""Browser UI latency: first paint after ``streamlit run``, and Enter to first streamed token.

Run by ``python -m bench.ui`` (never a timed test). One run, one machine:

* The handbook PDF of the tests is ingested into a fresh data folder.
* Headless Chromium (Debian's, started before the clock) loads the Ask page while
  ``streamlit run`` starts, exactly as ``docent ui`` starts it. First paint: from starting
  the server to the Ask page's heading being visible; the models are still loading in the
  background then. Server ready (health check) and page load alone are reported too.
* Enter to first token, measured inside the page: from the Enter key to the first
  streamed text in the answer, after the models are warm, in a fresh browser session
  for each repeat.
* The answer chain's time to first token for the same question (``Answer.timings``, as
  ``bench/answers.py`` measures ``docent ask``), in this process, on the same index.

Targets (issue 4): first paint <= 3 s; UI first token within 0.5 s of the chain's.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from app.api import Docent
from app.settings import Settings
from app.ui.launch import streamlit_command
from bench.measure import busy_cpu_seconds
from tests import docgen
from tests.chroma_server import free_port
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

RESULTS = Path(__file__).parent / "results"
QUESTION = "How many days of annual leave does every employee receive?"
# A throwaway administrator of the benchmark's own temporary data folder.
ADMIN, PASSWORD = "admin", secrets.token_urlsafe(12)
# Times, in the page's clock, of the Enter key and of the first streamed text.
TIMER = """
window.__enter = null; window.__first = null;
document.addEventListener('keydown', e => {
  if (e.key === 'Enter' && window.__enter === null) window.__enter = performance.now();
}, true);
new MutationObserver(() => {
  if (window.__enter === null || window.__first !== null) return;
  const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
  const last = messages[messages.length - 1];
  if (last && /\\S\\s*▌/.test(last.innerText)) window.__first = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def _first_paint(browser: Browser, command: list[str], env: dict[str, str], url: str) -> Any:
    """Start the server and load the Ask page; return the server and the timings."""
    page = browser.new_page()
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    while not _healthy(url):
        time.sleep(0.02)
    ready = time.perf_counter()
    page.goto(url)
    # The first page anyone sees is the sign-in page, painted before any model loads.
    page.get_by_role("heading", name="Sign in to Docent").wait_for(timeout=60_000)
    painted = time.perf_counter()
    _sign_in(page)
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
    page.close()
    return server, {
        "server_ready_s": round(ready - started, 3),
        "page_load_s": round(painted - ready, 3),
        "first_paint_s": round(painted - started, 3),  # the sign-in page
    }


def _sign_in(page: Page) -> None:
    page.get_by_role("heading", name="Sign in to Docent").wait_for(timeout=60_000)
    page.get_by_label("User", exact=True).fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _ui_first_token(browser: Browser, url: str) -> float:
    """Enter to the first streamed text of the answer, in a fresh session, in seconds."""
    page: Page = browser.new_page()
    page.add_init_script(TIMER)
    page.goto(url)
    _sign_in(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=120_000)
    page.get_by_text("Ask about anything").wait_for(timeout=300_000)
    box.fill(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function("window.__first !== null", timeout=300_000)
    seconds = page.evaluate("(window.__first - window.__enter) / 1000")
    page.get_by_text("Verified against").or_(page.get_by_text("Not found in your")).or_(
        page.get_by_text("Unverified")
    ).first.wait_for(timeout=300_000)
    page.close()
    return round(float(seconds), 3)


def _chain_first_token(docent: Docent, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        answer = docent.ask("default", QUESTION)
        times.append(answer.timings.get("first_token", float("nan")))
    return times


def run(work: Path, repeats: int) -> dict[str, Any]:
    """Measure first paint, and UI and chain time to first token, on one fresh index."""
    share = work / "share"
    share.mkdir()
    docgen.make_pdf(share / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    settings = Settings(data_dir=work / "data", chat_temperature=0.0)
    docent = Docent(settings)
    docent.ingest([share], "default")
    docent.accounts.add(ADMIN, PASSWORD, role="admin")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DOCENT_DATA_DIR=str(settings.data_dir),
        DOCENT_CHAT_TEMPERATURE="0",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    busy_before = busy_cpu_seconds()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        server, paint = _first_paint(browser, streamlit_command("127.0.0.1", port, 50), env, url)
        try:
            _ui_first_token(browser, url)  # warm: models loaded, first prompt evaluated
            ui = [_ui_first_token(browser, url) for _ in range(repeats)]
        finally:
            server.terminate()
            server.wait(timeout=60)
            browser.close()
    _chain_first_token(docent, 1)  # warm, as the UI was
    chain = _chain_first_token(docent, repeats)
    return {
        "question": QUESTION,
        "repeats": repeats,
        **paint,
        "ui_first_token_s": ui,
        "chain_first_token_s": chain,
        "ui_first_token_median_s": round(statistics.median(ui), 3),
        "chain_first_token_median_s": round(statistics.median(chain), 3),
        "ui_minus_chain_s": round(statistics.median(ui) - statistics.median(chain), 3),
        "machine_busy_cpu_s": round(busy_cpu_seconds() - busy_before, 1),
        "targets": {"first_paint_s": 3.0, "ui_minus_chain_s": 0.5},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and save them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="questions timed in each face")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docent-ui-") as scratch:
        result = run(Path(scratch), args.repeats)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ui-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
