"""A summary's progress, each step once: one line redrawn on a terminal, a line a step in a
log, an event a step in the HTTP API.

While the model writes, ``rag.summarize`` repeats the step's report every half second (the
UI's Stop takes effect there). The fake Ollama here writes each reply in about 1.5 s, so
every step is reported two or three times over; the faces must show it once.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import Docent
from app.cli import main
from app.cli.progress import SummaryProgress
from app.progress_steps import Steps
from models.embedder import Embedder
from tests import docgen
from tests.fake_ollama import FakeModel, FakeOllama
from tests.http_setup import MODEL, api_docent, bearer, client, sse_events, token_for

# Ten words streamed 0.15 s apart: each reply outlasts two half-second beats.
ANSWER = "Every employee receives 27 days of annual leave per year."
CHUNK_SECONDS = 0.15
# A step line as printed, e.g. "[2/4] part 1 of 3: Working hours (p. 1)".
STEP_LINE = re.compile(r"\[\d+/\d+\] \S.*")
# The terminal controls a progress display writes: CSI sequences, carriage return, newline.
CONTROL = re.compile(r"\x1b\[([?\d;]*)([A-Za-z])|\r|\n")
REPEATED = [
    (1, 2, "reading part 1 of 1 (pp. 1-3)"),
    (1, 2, "reading part 1 of 1 (pp. 1-3)"),
    (1, 2, "reading part 1 of 1 (pp. 1-3)"),
    (2, 2, "combining 1 notes"),
    (2, 2, "combining 1 notes"),
]


class Screen:
    """The rows a terminal shows after some output, and the most progress rows it ever showed."""

    def __init__(self) -> None:
        self.rows = [""]
        self.row = self.col = 0
        self.most_steps = 0

    def feed(self, text: str) -> None:
        """Show ``text``: its characters, and the cursor moves and erasures rich uses."""
        start = 0
        for control in CONTROL.finditer(text):
            self._write(text[start : control.start()])
            start = control.end()
            self._apply(control)
            self.most_steps = max(self.most_steps, len(self.steps()))
        self._write(text[start:])
        self.most_steps = max(self.most_steps, len(self.steps()))

    def steps(self) -> list[str]:
        """The rows that show a summary step."""
        return [row for row in self.rows if STEP_LINE.search(row)]

    def _write(self, text: str) -> None:
        line = self.rows[self.row].ljust(self.col)
        self.rows[self.row] = line[: self.col] + text + line[self.col + len(text) :]
        self.col += len(text)

    def _apply(self, control: re.Match[str]) -> None:
        token, count = control.group(0), control.group(1) or ""
        if token == "\r":
            self.col = 0
        elif token == "\n":
            self.row += 1
            self.rows += [""] * (self.row + 1 - len(self.rows))
        elif control.group(2) == "A":
            self.row = max(0, self.row - int(count or 1))
        elif control.group(2) == "K":
            line = self.rows[self.row]
            self.rows[self.row] = "" if count == "2" else line[: self.col]
        # Colours and showing or hiding the cursor change no character on the screen.


class TerminalStream(io.StringIO):
    """Text written to what claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def test_steps_pass_each_step_on_once() -> None:
    reported: list[tuple[int, int, str]] = []
    steps = Steps(lambda done, total, step: reported.append((done, total, step)))
    for report in REPEATED:
        steps(*report)
    assert reported == [REPEATED[0], REPEATED[3]]


def test_off_a_terminal_each_step_is_a_line_once() -> None:
    stream = io.StringIO()
    with SummaryProgress(stream) as shown:
        progress = Steps(shown.step)
        for report in REPEATED:
            progress(*report)
    assert stream.getvalue().splitlines() == [
        "[1/2] reading part 1 of 1 (pp. 1-3)",
        "[2/2] combining 1 notes",
    ]


def test_on_a_terminal_one_line_is_redrawn_and_cleared_at_the_end() -> None:
    stream = TerminalStream()
    heading = (3, 3, "part 1 of 1: [/] Notes [b]")  # a document's heading, not markup
    with SummaryProgress(stream) as shown:
        progress = Steps(shown.step)
        for report in [*REPEATED, heading]:
            progress(*report)
    screen = Screen()
    screen.feed(stream.getvalue())
    assert "[3/3] part 1 of 1: [/] Notes [b]" in stream.getvalue()
    assert screen.most_steps == 1
    assert screen.steps() == []


@pytest.fixture(scope="module")
def slow_model() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        server.behaviour.answer = ANSWER
        server.behaviour.chunk_seconds = CHUNK_SECONDS
        yield server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summary-progress")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCENT_DATA_DIR", str(root / "data"))
        assert main(["ingest", str(docgen.handbook_share(root)), "-c", "staff"]) == 0
    return root / "data"


def _cli_env(data_dir: Path, model: FakeOllama) -> dict[str, str]:
    return {
        "DOCENT_DATA_DIR": str(data_dir),
        "DOCENT_CHAT_BACKEND": "ollama",
        "DOCENT_CHAT_MODEL": MODEL,
        "DOCENT_CHAT_BASE_URL": model.url,
    }


@pytest.mark.slow
def test_the_cli_off_a_terminal_prints_each_step_once(
    data_dir: Path,
    slow_model: FakeOllama,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in _cli_env(data_dir, slow_model).items():
        monkeypatch.setenv(name, value)

    code = main(["summarize", "handbook.pdf", "-c", "staff", "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["source"] == "handbook.pdf"
    steps = [line for line in err.splitlines() if STEP_LINE.fullmatch(line)]
    assert steps[0].startswith("[1/"), err
    assert len(steps) >= 2 and len(set(steps)) == len(steps), err


@pytest.mark.slow
def test_the_cli_on_a_terminal_redraws_one_line_and_leaves_none(
    data_dir: Path, slow_model: FakeOllama
) -> None:
    terminal, stderr = pty.openpty()
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = os.environ | _cli_env(data_dir, slow_model) | {"TERM": "xterm-256color"}
    with subprocess.Popen(
        [sys.executable, "-m", "app.cli", "summarize", "handbook.pdf", "-c", "staff", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    ) as run:
        os.close(stderr)
        shown = b""
        # The terminal reads end (EIO) once the command has exited and closed its side.
        while True:
            try:
                piece = os.read(terminal, 65536)
            except OSError:
                break
            if not piece:
                break
            shown += piece
        os.close(terminal)
        out = run.stdout.read() if run.stdout else b""
        assert run.wait(timeout=600) == 0, shown.decode(errors="replace")

    assert json.loads(out)["source"] == "handbook.pdf"
    text = shown.decode(errors="replace")
    screen = Screen()
    screen.feed(text)
    # A step was on the screen, and never two rows of steps at once.
    assert screen.most_steps == 1, text
    assert screen.steps() == [], text


@pytest.mark.slow
def test_the_http_stream_sends_each_step_once(
    tmp_path: Path, embedder: Embedder, slow_model: FakeOllama
) -> None:
    docent: Docent = api_docent(tmp_path, embedder, slow_model.url, api_rate_per_minute=1000)
    docent.ingest([docgen.handbook_share(tmp_path)], "staff")
    admin = bearer(token_for(docent, "root", admin=True))
    body = {"source": "handbook.pdf", "length": "short", "stream": True}

    with client(docent) as http:
        events = sse_events(
            http.post("/api/v1/collections/staff/summarize", json=body, headers=admin).text
        )

    progress = [json.loads(data) for name, data in events if name == "progress"]
    steps = [(p["done"], p["total"], p["step"]) for p in progress]
    assert len(steps) >= 2 and len(set(steps)) == len(steps), steps
    assert steps[0][0] == 1, steps
    assert events[-1][0] == "summary"
