"""Every example in the README's "The `docent` command" block runs, as written.

The block is read from README.md, not retyped here. Each line is run with bash in a scratch
folder laid out the way the examples assume (a share with contracts, an inbox with the staff
handbook); only three things are substituted, and they are the README's own placeholders:
the share path `/srv/share/legal` (a folder in the scratch space), `NAME` (a collection
name) and `"..."` (a question). `a | b | c` alternatives each run as a command. A line that
the CLI rejects (an unknown option, a collection name it refuses) fails this test.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.docgen import make_pdf

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SHARE = "/srv/share/legal"
PASSWORD = "correct horse battery staple"
# What a person types where a command asks: the password twice, a question for `chat`.
STDIN = {
    "users add": f"{PASSWORD}\n{PASSWORD}\n",
    "chat": "How many days of annual leave do full-time employees get?\n",
    "collections delete": "y\n",
}

HANDBOOK = [
    ("Annual leave", "Full-time employees receive 25 days of annual leave per calendar year."),
    ("Notice period", "After probation the notice period is one month for either side."),
]
LEASE = [
    (f"Clause {n}", f"The tenant pays the rent for month {n} in advance, by bank transfer, "
     "to the account the landlord names in writing. Late payment carries interest at the "
     "statutory rate from the fifth working day of the month.")
    for n in range(1, 9)
]  # fmt: skip


def readme_examples() -> list[str]:
    """The commands of the README's `docent` block, alternatives expanded."""
    block = README.split("## The `docent` command", 1)[1].split("```bash", 1)[1]
    commands = []
    for line in block.split("```", 1)[0].splitlines():
        command = re.split(r"\s{2,}#", line, maxsplit=1)[0].strip()
        if not command:
            continue
        first, *others = command.split(" | ")
        commands.append(first)
        prefix = " ".join(first.split()[:2])
        commands += [f"{prefix} {other}" for other in others]
    return commands


def test_the_block_is_read_whole() -> None:
    examples = readme_examples()
    assert len(examples) >= 20
    assert "docent collections delete NAME" in examples
    assert all(example.startswith("docent ") for example in examples)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scratch(tmp_path: Path) -> Path:
    """The share the examples name; their relative paths are relative to it."""
    share = tmp_path / "share" / "legal"
    for folder in ("contracts/2019", "inbox"):
        (share / folder).mkdir(parents=True)
    make_pdf(share / "contracts" / "2019" / "lease.pdf", LEASE, title="Lease 2019")
    make_pdf(share / "contracts" / "lease.pdf", LEASE, title="Lease")
    make_pdf(share / "inbox" / "employee-handbook.pdf", HANDBOOK, title="Employee handbook")
    return share


# Commands that serve until stopped: the setting of their port, and the path that says ready.
SERVERS = {
    "docent ui": ("DOCENT_UI_PORT", "/_stcore/health"),
    "docent serve": ("DOCENT_API_PORT", "/healthz"),
}


def _run_server(command: str, env: dict[str, str], cwd: Path) -> None:
    """Start a serving command, wait until it answers its health path, stop it and its children."""
    setting, health = next(v for k, v in SERVERS.items() if command.startswith(k))
    port = _free_port()
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env={**env, setting: str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: `docent ui` starts Streamlit as a child
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, f"`{command}` exited with {process.returncode}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        pytest.fail(f"`{command}` did not serve within 90 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_every_readme_example_runs(tmp_path: Path) -> None:
    share = cwd = _scratch(tmp_path)
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DOCENT_DATA_DIR": str(tmp_path / "data"),
    }
    failures = []
    for example in readme_examples():
        command = example.replace(SHARE, str(share)).replace("NAME", "scratch")
        command = command.replace('"..."', '"How much rent is paid in advance?"')
        if command in SERVERS:
            _run_server(command, env, cwd)
            continue
        stdin = next((text for key, text in STDIN.items() if f"docent {key}" in command), "")
        done = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=env, input=stdin, capture_output=True,
            text=True, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            failures.append(f"{example}\n  exit {done.returncode}: {done.stderr.strip()[-400:]}")
    assert not failures, "README examples that fail:\n" + "\n".join(failures)
    assert (cwd / "audit.jsonl").stat().st_size > 0, "the audit export wrote nothing"
