"""The browser tests' UI server and page steps: ``streamlit run`` on loopback, sign in, pages.

The server is started exactly as ``docent ui`` starts it, on a free port, with a fresh data
folder and its first administrator made as ``make run`` makes it on a fresh machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from app.ui.launch import streamlit_command
from tests.chroma_server import free_port
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers its health check; fail with its log if it died."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(errors="replace")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the UI did not start: {log.read_text(errors='replace')}")


@dataclass(frozen=True)
class UiServer:
    """A running UI server.

    Attributes:
        url: Its address.
        password: The password of its first administrator, ``admin``.
        process: The ``streamlit run`` process.
        data: Its data folder.
    """

    url: str
    password: str
    process: subprocess.Popen[bytes]
    data: Path


@contextmanager
def serve_ui(work: Path, **settings: str) -> Iterator[UiServer]:
    """Serve the UI with its data folder under ``work`` (its log is ``server.log`` there).

    Args:
        work: A fresh folder.
        settings: Extra environment for the server, e.g. ``DOCENT_WRITE_BATCH_CHUNKS="4"``.
    """
    port = free_port()
    # In a process of its own: a model loading in a thread of this one (llama.cpp swaps
    # sys.stdout while it loads) would send the printed password elsewhere.
    first = ["users", "add", "admin", "--admin", "--first", "--generate"]
    made = subprocess.run(
        [sys.executable, "-m", "app.cli", *first],
        env=dict(os.environ, DOCENT_DATA_DIR=str(work / "data")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    password = made.stdout.split("Password: ", 1)[1].split()[0]
    env = dict(
        os.environ,
        DOCENT_DATA_DIR=str(work / "data"),
        DOCENT_CHAT_TEMPERATURE="0",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        **settings,
    )
    log = work / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            streamlit_command("127.0.0.1", port, 5), cwd=work, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, log)
        yield UiServer(url, password, server, work / "data")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time a process and its children have used so far (e.g. the parsers it starts)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except (FileNotFoundError, ProcessLookupError):
        return 0.0  # it has just ended
    ticks = sum(int(stat[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(child) for child in children)


def wait_idle(pid: int, within: float, *, quiet: float = 2.0, share: float = 0.1) -> float:
    """Wait until a process (with its children) uses under ``share`` of a core for ``quiet`` s.

    Returns:
        The seconds waited; fails if the process is still busy after ``within`` seconds.
    """
    started = time.monotonic()
    while time.monotonic() - started < within:
        before = cpu_seconds(pid)
        time.sleep(quiet)
        if cpu_seconds(pid) - before < share * quiet:
            return time.monotonic() - started
    raise AssertionError(f"the server was still busy {within:.0f} s later")


def open_page(page: Page, name: str) -> None:
    """Open a page of the sidebar's navigation."""
    page.get_by_test_id("stSidebarNav").get_by_text(name, exact=True).click()


def sign_in(page: Page, password: str, artifacts: Path) -> None:
    """Sign in as ``admin`` on the sign-in page (screenshot ``00-sign-in.png``)."""
    expect(page.get_by_role("heading", name="Sign in to Docent")).to_be_visible(timeout=60_000)
    page.get_by_label("User", exact=True).fill("admin")
    page.get_by_label("Password", exact=True).fill(password)
    page.screenshot(path=artifacts / "00-sign-in.png")
    page.get_by_role("button", name="Sign in").click()


def docent_cli(data: Path, *argv: str, stdin: str = "") -> str:
    """Run ``docent`` on the data folder ``data``; fail with its output if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        env=dict(os.environ, DOCENT_DATA_DIR=str(data)),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A page in a fresh headless Chromium, closed afterwards (skips without Chromium)."""
    with sync_playwright() as playwright:
        require_chromium()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()
