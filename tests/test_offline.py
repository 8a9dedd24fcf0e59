"""No code path reaches the network: ingest, ask and summarize run in a namespace with no
network at all, under a guard that records any attempt to connect or resolve a
non-loopback address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GUARD = """
import os, socket

_log = os.environ["DOCENT_EGRESS_LOG"]
_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")

def _record(what):
    with open(_log, "a") as handle:
        handle.write(f"{what}\\n")

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo

def _remote(self, address):
    internet = self.family in (socket.AF_INET, socket.AF_INET6)
    return internet and not str(address[0]).startswith(_LOCAL)

def connect(self, address):
    if _remote(self, address):
        _record(f"connect {address}")
    return _connect(self, address)

def connect_ex(self, address):
    if _remote(self, address):
        _record(f"connect {address}")
    return _connect_ex(self, address)

def getaddrinfo(host, *args, **kwargs):
    if host and not str(host).startswith(_LOCAL):
        _record(f"resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
"""


@pytest.fixture
def guarded_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "egress.log"
    log.touch()
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(guard), str(Path.cwd())]),
        "DOCENT_EGRESS_LOG": str(log),
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("HF_HUB_OFFLINE", None)  # Docent must set what it needs itself
    return env, log


def _no_network(command: list[str]) -> list[str]:
    # A user and network namespace with no interfaces but loopback.
    return ["unshare", "--user", "--map-root-user", "--net", *command]


@pytest.mark.slow
def test_guard_catches_an_outbound_connection(guarded_env: tuple[dict[str, str], Path]) -> None:
    env, log = guarded_env
    probe = "import socket; socket.socket().connect_ex(('192.0.2.1', 9))"
    subprocess.run(_no_network([sys.executable, "-c", probe]), env=env, check=True)
    assert "192.0.2.1" in log.read_text()


@pytest.mark.slow
def test_ingest_ask_and_summarize_work_with_no_network_and_try_none(
    guarded_env: tuple[dict[str, str], Path], corpus: Path
) -> None:
    env, log = guarded_env
    for backend in ("torch", "onnx-int8"):
        result = subprocess.run(
            _no_network([sys.executable, "-m", "app.cli", "ingest", str(corpus), "-c", backend]),
            env=env | {"DOCENT_EMBEDDER_BACKEND": backend},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        assert "5 added" in result.stdout
    status = subprocess.run(
        _no_network([sys.executable, "-m", "app.cli", "status"]), env=env, capture_output=True
    )
    assert status.returncode == 0
    # Answers and summaries with the embedded model: everything is on this machine.
    question = "How many days of annual leave does every employee receive?"
    model_env = env | {"DOCENT_CHAT_MAX_ANSWER_TOKENS": "64", "DOCENT_CHAT_TEMPERATURE": "0"}
    for command, shown in (
        (["ask", question, "-c", "torch"], "handbook.pdf"),
        (["summarize", "handbook.pdf", "-c", "torch", "--length", "short"], "Summary of"),
    ):
        result = subprocess.run(
            _no_network([sys.executable, "-m", "app.cli", *command]),
            env=model_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        assert shown in result.stdout, result.stdout
    assert log.read_text() == ""
