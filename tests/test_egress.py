"""No command sends a DNS query or connects off the machine, seen from the kernel's side.

The Python-level guard of ``test_offline`` cannot see a lookup made by native code (an
onnxruntime telemetry client resolved ``mobile.events.data.microsoft.com`` from C++), so
these tests run each command under ``strace`` in a fresh data folder, inside a network
namespace with only loopback (nothing can leave while the test looks), and fail on any
``connect``/``sendto``/``sendmsg`` to a non-loopback address or to port 53 anywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TRACED = "connect,sendto,sendmsg,sendmmsg"
_INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_INET6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
# Long enough for a library's delayed upload: onnxruntime's fired ~9 s after its import.
LINGER = 15.0


def _require_strace() -> None:
    if shutil.which("strace") is None:
        pytest.skip(
            "needs the Debian package strace to watch for DNS queries from native code: "
            "run `apt-get install strace`"
        )


def egress(trace: Path) -> list[str]:
    """The traced calls that reach for the network: DNS anywhere, or a non-loopback peer."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        address = _INET.search(line) or _INET6.search(line)
        if address is None:
            continue
        port, host = int(address.group(1)), address.group(2)
        loopback = host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")
        if port == 53 or not loopback:
            found.append(line.strip())
    return found


def _traced(command: list[str], trace: Path) -> list[str]:
    # A user and network namespace with only loopback, and strace following every child.
    return [
        "unshare", "--user", "--map-root-user", "--net",
        "strace", "-f", "-qq", "-e", f"trace={TRACED}", "-o", str(trace), *command,
    ]  # fmt: skip


def _env(tmp_path: Path) -> dict[str, str]:
    env = os.environ | {
        "PYTHONPATH": str(Path.cwd()),
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
        "DOCENT_CHAT_MAX_ANSWER_TOKENS": "32",
        "DOCENT_CHAT_TEMPERATURE": "0",
    }
    for name in ("HF_HUB_OFFLINE", "ORT_DISABLE_TELEMETRY"):
        env.pop(name, None)  # Docent must set what it needs itself
    return env


def test_the_trace_catches_a_dns_query_from_native_code(tmp_path: Path) -> None:
    _require_strace()
    trace = tmp_path / "trace"
    probe = (
        "import socket\ntry: socket.getaddrinfo('docent-egress.invalid', 80)\nexcept OSError: pass"
    )
    subprocess.run(_traced([sys.executable, "-c", probe], trace), check=True, timeout=60)
    assert egress(trace), trace.read_text()


# The command, then its process kept alive a while: onnxruntime's telemetry looked its host
# up about nine seconds after it loaded, later than a quick command lasts.
LINGERING = f"""
import sys, time
sys.argv = ["docent", *sys.argv[1:]]
from app.cli import main
try:
    code = main()
finally:
    time.sleep({LINGER})
sys.exit(code)
"""


def _run(command: list[str], env: dict[str, str], trace: Path, linger: bool = False) -> None:
    started = time.monotonic()
    cli = [sys.executable, *(("-c", LINGERING) if linger else ("-m", "app.cli")), *command]
    done = subprocess.run(_traced(cli, trace), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 2), f"{command}: {done.stderr[-2000:]}"
    if linger:
        assert time.monotonic() - started > LINGER, f"{command} ended too soon to show a lookup"


# Run inside the namespace, under the trace: bring loopback up, start a server, wait until
# it answers, ask once (the API) or open the page (the UI), stay a while, stop it.
DRIVER = """
import fcntl, os, signal, socket, struct, subprocess, sys, time
import httpx

what, port, token = sys.argv[1:4]
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(probe, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
fcntl.ioctl(probe, 0x8914, struct.pack("16sH", b"lo", flags | 1))  # SIOCSIFFLAGS: lo up
# Its own group: `docent ui` starts Streamlit as a child, which must stop with it.
server = subprocess.Popen(
    [sys.executable, "-m", "app.cli", what, "--port", port], start_new_session=True
)
url = f"http://127.0.0.1:{port}"
health = url + ("/healthz" if what == "serve" else "/_stcore/health")
for _ in range(240):
    try:
        if httpx.get(health).status_code == 200:
            break
    except httpx.HTTPError:
        time.sleep(0.5)
if what == "serve":
    question = {"question": "How many days of annual leave?"}
    bearer = {"Authorization": f"Bearer {token}"}
    ask = url + "/api/v1/collections/egress/ask"
    status = httpx.post(ask, json=question, headers=bearer, timeout=300).status_code
else:
    status = httpx.get(url + "/").status_code
time.sleep(float(sys.argv[4]))
os.killpg(server.pid, signal.SIGTERM)
server.wait(60)
print(status)
"""


def _serve(what: str, env: dict[str, str], trace: Path, token: str) -> None:
    """Start `docent serve` or `docent ui` under the trace, use it, keep it up a while."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    driver = [sys.executable, "-c", DRIVER, what, port, token, str(LINGER)]
    done = subprocess.run(
        _traced(driver, trace), env=env, capture_output=True, text=True, timeout=900
    )
    assert done.stdout.strip().splitlines()[-1:] == ["200"], done.stdout + done.stderr[-2000:]


@pytest.mark.timeout(1800)
def test_no_command_sends_a_dns_query_or_leaves_loopback(tmp_path: Path, corpus: Path) -> None:
    _require_strace()
    env = _env(tmp_path)
    model = env | {"DOCENT_ANSWER_MODE": "model"}
    question = "How many days of annual leave does every employee receive?"
    summary = ["summarize", "handbook.pdf", "-c", "egress", "--length", "short"]
    commands: dict[str, tuple[list[str], dict[str, str], bool]] = {
        "ingest": (["ingest", str(corpus), "-c", "egress"], env, False),
        "ask": (["ask", question, "-c", "egress"], env, False),
        "ask (model)": (["ask", question, "-c", "egress"], model, True),
        "summarize": (summary, model, True),
        "status": (["status"], env, False),
        "doctor": (["doctor"], env, False),
    }  # fmt: skip
    attempts: dict[str, list[str]] = {}
    for name, (command, command_env, linger) in commands.items():
        trace = tmp_path / f"{name}.trace"
        _run(command, command_env, trace, linger)
        attempts[name] = egress(trace)
    secret = _api_token(env)
    for server in ("serve", "ui"):
        _serve(server, env, tmp_path / f"{server}.trace", secret)
        attempts[server] = egress(tmp_path / f"{server}.trace")
    print({name: len(found) for name, found in attempts.items()})
    assert attempts == {name: [] for name in attempts}


def _api_token(env: dict[str, str]) -> str:
    """An administrator and an API token for the serve run."""
    cli = [sys.executable, "-m", "app.cli"]
    add = [*cli, "users", "add", "egress-admin", "--admin", "--password-stdin"]
    subprocess.run(add, env=env, input="a long egress password\n", text=True, check=True)
    made = subprocess.run(
        [*cli, "tokens", "create", "egress-admin"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.split()[0]
