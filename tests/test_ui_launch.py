"""``docent ui`` as a service manager runs it: a plain ``kill`` stops the server it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chroma_server import free_port
from tests.ui_server import wait_healthy

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    """The processes ``pid`` started that are still running."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie left for its parent to reap counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_plain_kill_of_docent_ui_stops_the_server_it_started(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port = free_port()
    log = tmp_path / "ui.log"
    env = dict(os.environ, DOCENT_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    with log.open("wb") as out:
        docent = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "ui", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )
    servers: list[int] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", docent, log)
        servers = children(docent.pid)
        assert servers, "docent ui runs the Streamlit server as a process of its own"

        docent.send_signal(stop)  # to docent alone, as `kill PID` or systemd sends it

        assert docent.wait(timeout=20) is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (listening(port) or any(map(alive, servers))):
            time.sleep(0.2)
        assert not listening(port), log.read_text(errors="replace")
        assert not any(map(alive, servers)), "the Streamlit server outlived docent ui"
    finally:  # nothing left running when the test fails
        for pid in [docent.pid, *servers]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        docent.wait()
