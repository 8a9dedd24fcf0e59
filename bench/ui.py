"""Browser UI latency: first paint, Enter to the answer, reloads and the conversation list.

Run by ``python -m bench.ui`` (never a timed test). One run, one machine:

* The handbook PDF of the tests is ingested into a fresh data folder, and the
  administrator gets 500 saved conversations, the latest of them 20 turns long (real
  answers of the chain), before the server starts.
* Headless Chromium (Debian's, started before the clock) loads the page while
  ``streamlit run`` starts, exactly as ``docent ui`` starts it. First paint: from starting
  the server to the sign-in page's heading being visible (the models still load then).
* Enter to first text and to the final answer, measured inside the page: from the Enter
  key to the first text of the answer, and to its trust line (the answer complete), with
  warm models, in a fresh browser session for each repeat. The chain's own times for the
  same question (``Answer.timings``: first text or first token, total) in this process,
  on the same index, in the same run.
* Reload to usable with the 20-turn conversation open: from ``page.reload()`` to all 40
  messages shown and the chat box enabled.
* The conversation list with 500 saved: from clicking Ask (coming from the Library page)
  to the list's entries shown in the sidebar; and the list read alone (``Docent``).

Targets (issues 4 and 16): first paint <= 3 s; UI first text within 0.5 s of the
chain's; the list of 500 conversations open in under 1 s.
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
from app.auth.accounts import User
from app.conversations import SavedTurn
from app.settings import Settings
from app.ui.launch import streamlit_command
from bench.measure import busy_cpu_seconds
from tests import docgen
from tests.chroma_server import free_port
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

RESULTS = Path(__file__).parent / "results"
QUESTION = "How many days of annual leave does every employee receive?"
TURNS = [
    "How many days of annual leave does every employee receive?",
    "What are the core hours?",
    "How long do staff work a week?",
    "What is the notice period after probation?",
    "And during probation?",
]
SAVED, LONG_TURNS, SHOWN = 500, 20, 20
# The reloaded page is usable: every message of the conversation shown, the box open.
USABLE = """count => {
  const box = document.querySelector('[data-testid="stChatInputTextArea"]');
  const shown = document.querySelectorAll('[data-testid="stChatMessage"]').length;
  return shown === count && box !== null && !box.disabled;
}"""
# A throwaway administrator of the benchmark's own temporary data folder.
ADMIN, PASSWORD = "admin", secrets.token_urlsafe(12)
# Times, in the page's clock, of the Enter key, the answer's first text and its end (the
# trust line under a finished answer).
TIMER = """
window.__enter = null; window.__first = null; window.__final = null;
document.addEventListener('keydown', e => {
  if (e.key === 'Enter' && window.__enter === null) window.__enter = performance.now();
}, true);
new MutationObserver(() => {
  if (window.__enter === null || window.__final !== null) return;
  const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
  const last = messages[messages.length - 1];
  if (!last) return;
  const text = last.innerText;
  const done = /Verified|Not found in your|Unverified|in all|Quoted from your/.test(text);
  const first = /\\S\\s*▌/.test(text) || done;
  if (window.__first === null && first) window.__first = performance.now();
  if (done) window.__final = performance.now();
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


def _ui_answer(browser: Browser, url: str) -> tuple[float, float]:
    """Enter to the answer's first text and to its end, in a fresh session, in seconds."""
    page: Page = browser.new_page()
    page.add_init_script(TIMER)
    page.goto(url)
    _sign_in(page)
    page.get_by_role("button", name="New conversation").click(timeout=300_000)
    box = page.get_by_test_id("stChatInputTextArea")
    page.get_by_text("Ask about anything").wait_for(timeout=300_000)
    box.fill(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function("window.__final !== null", timeout=300_000)
    first, final = page.evaluate(
        "[(window.__first - window.__enter) / 1000, (window.__final - window.__enter) / 1000]"
    )
    page.close()
    return round(float(first), 3), round(float(final), 3)


def _chain_answer(docent: Docent, repeats: int) -> list[tuple[float, float]]:
    times = []
    for _ in range(repeats):
        timings = docent.ask("default", QUESTION).timings
        first = timings.get("first_token", timings.get("first_text", float("nan")))
        times.append((round(first, 3), round(timings.get("total", float("nan")), 3)))
    return times


def _seed(docent: Docent) -> str:
    """500 saved conversations of the administrator's, the latest one of 20 real turns."""
    admin = User(ADMIN, "admin")
    answered = docent.ask("default", TURNS[0])
    for n in range(SAVED - 1):
        turn = SavedTurn(f"Question {n} about the handbook", "done", answered)
        docent.conversations.save("default", [turn], user=admin)
    turns: list[SavedTurn] = []
    history: list[Any] = []
    from rag.condense import Turn

    for n in range(LONG_TURNS):
        question = TURNS[n % len(TURNS)]
        answer = docent.ask("default", question, history)
        history.append(Turn(answer.question, answer.query, answer.text))
        turns.append(SavedTurn(question, "done", answer))
    saved = docent.conversations.save("default", turns, user=admin)
    assert saved is not None
    return saved


def _reload_to_usable(browser: Browser, url: str, conversation: str, repeats: int) -> list[float]:
    """From a reload to the 20-turn conversation's 40 messages shown and the box enabled."""
    page = browser.new_page()
    page.goto(url)
    _sign_in(page)
    page.get_by_role("button", name="New conversation").wait_for(timeout=120_000)
    while not any(c["name"] == "docent_session" for c in page.context.cookies()):
        time.sleep(0.1)  # the page trades its sign-in for the cookie just after it
    page.goto(f"{url}/?conversation={conversation}")  # the cookie keeps the sign-in
    page.get_by_test_id("stChatMessage").nth(2 * LONG_TURNS - 1).wait_for(timeout=120_000)
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        page.reload()
        page.wait_for_function(USABLE, arg=2 * LONG_TURNS, timeout=120_000)
        times.append(round(time.perf_counter() - started, 3))
    page.close()
    return times[1:]  # the first reload warms the page's assets


def _list_opens(browser: Browser, url: str, repeats: int) -> list[float]:
    """From clicking Ask (on the Library page) to the sidebar's list of saved conversations."""
    page = browser.new_page()
    page.goto(url)
    _sign_in(page)
    page.get_by_role("button", name="New conversation").wait_for(timeout=120_000)
    # Drawn under the list's entries: once it shows, so do they.
    listed = page.get_by_test_id("stSidebar").get_by_text(f"The latest {SHOWN} are shown")
    times = []
    for _ in range(repeats + 1):
        page.get_by_test_id("stSidebarNav").get_by_text("Library", exact=True).click()
        page.get_by_role("heading", name="Library").wait_for(timeout=120_000)
        started = time.perf_counter()
        page.get_by_test_id("stSidebarNav").get_by_text("Ask", exact=True).click()
        listed.wait_for(timeout=120_000)
        times.append(round(time.perf_counter() - started, 3))
    page.close()
    return times[1:]


def _list_read(docent: Docent, repeats: int) -> dict[str, float]:
    admin = User(ADMIN, "admin")
    shown, every = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        docent.conversations.list(user=admin, limit=SHOWN + 1)
        shown.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert len(docent.conversations.list(user=admin)) >= SAVED  # + those asked above
        every.append(time.perf_counter() - started)
    return {
        "list_read_shown_s": round(statistics.median(shown), 4),
        "list_read_all_s": round(statistics.median(every), 4),
    }


def _browse(url: str, command: list[str], env: dict[str, str], saved: str, repeats: int) -> Any:
    """Every figure measured in the browser, with the server started by it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        server, paint = _first_paint(browser, command, env, url)
        try:
            _ui_answer(browser, url)  # warm: models loaded, first prompt evaluated
            answers = [_ui_answer(browser, url) for _ in range(repeats)]
            reloads = _reload_to_usable(browser, url, saved, repeats)
            lists = _list_opens(browser, url, repeats)
        finally:
            server.terminate()
            server.wait(timeout=60)
            browser.close()
    return paint, answers, reloads, lists


def run(work: Path, repeats: int, mode: str) -> dict[str, Any]:
    """Measure every figure on one fresh index, the UI's and the chain's in one run."""
    share = work / "share"
    share.mkdir()
    docgen.make_pdf(share / "handbook.pdf", pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    settings = Settings(data_dir=work / "data", chat_temperature=0.0, answer_mode=mode)
    docent = Docent(settings)
    docent.ingest([share], "default")
    docent.accounts.add(ADMIN, PASSWORD, role="admin")
    saved = _seed(docent)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        DOCENT_DATA_DIR=str(settings.data_dir),
        DOCENT_CHAT_TEMPERATURE="0",
        DOCENT_ANSWER_MODE=mode,
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    busy_before = busy_cpu_seconds()
    command = streamlit_command("127.0.0.1", port, 50)
    paint, ui, reloads, lists = _browse(url, command, env, saved, repeats)
    _chain_answer(docent, 1)  # warm, as the UI was
    chain = _chain_answer(docent, repeats)

    def median(values: list[tuple[float, float]], at: int) -> float:
        return round(statistics.median(v[at] for v in values), 3)

    return {
        "question": QUESTION,
        "answer_mode": mode,
        "repeats": repeats,
        **paint,
        "ui_first_text_final_s": ui,
        "chain_first_text_final_s": chain,
        "ui_first_text_median_s": median(ui, 0),
        "chain_first_text_median_s": median(chain, 0),
        "ui_final_median_s": median(ui, 1),
        "chain_final_median_s": median(chain, 1),
        "ui_minus_chain_first_text_s": round(median(ui, 0) - median(chain, 0), 3),
        "ui_minus_chain_final_s": round(median(ui, 1) - median(chain, 1), 3),
        "reload_to_usable_20_turns_s": reloads,
        "reload_to_usable_median_s": round(statistics.median(reloads), 3),
        "list_of_500_opens_s": lists,
        "list_of_500_opens_median_s": round(statistics.median(lists), 3),
        **_list_read(docent, repeats),
        "machine_busy_cpu_s": round(busy_cpu_seconds() - busy_before, 1),
        "targets": {"first_paint_s": 3.0, "ui_minus_chain_s": 0.5, "list_of_500_opens_s": 1.0},
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and save them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5, help="times each figure is taken")
    parser.add_argument(
        "--answer-mode", choices=["quotes", "model"], default="quotes", help="who answers"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docent-ui-") as scratch:
        result = run(Path(scratch), args.repeats, args.answer_mode)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ui-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
