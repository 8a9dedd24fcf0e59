"""Faults: the chat backend dies mid-answer, the disk fills during ingest, the Chroma
server restarts mid-ingest. A dying model leaves the quotes as the answer; the others give
a clear error, the index stays consistent, and running the same thing again completes."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from app.api import Docent, IndexWriteError
from app.settings import Settings
from ingest.report import FileOutcome
from models.embedder import Embedder
from rag.answer import Answer
from tests.chroma_server import CHROMA, free_port, wait_for_heartbeat
from tests.fake_ollama import Behaviour, FakeModel, FakeOllama

MODEL = "qwen2.5:1.5b"
QUESTION = "How many days of annual leave does every employee receive?"
ANSWER = "Every employee receives 27 days of annual leave per year [1]."


def add_notes(folder: Path, count: int) -> None:
    """``count`` text files of a few chunks each, to make an ingest take several steps."""
    for n in range(count):
        lines = (
            f"Rule {n}.{k}: the ward ledger entry {n * 100 + k} is signed by the nurse in charge."
            for k in range(40)
        )
        (folder / f"note-{n:02d}.txt").write_text(" ".join(lines) + "\n")


def chunk_ids(docent: Docent, collection: str = "docs") -> set[str]:
    return set(docent.index.collection(collection).chroma.get(include=[])["ids"])


@pytest.mark.slow
def test_chat_backend_dying_mid_answer_falls_back_to_the_quotes(
    settings: Settings, embedder: Embedder, corpus: Path
) -> None:
    with FakeOllama([FakeModel(MODEL)]) as server:
        served = settings.model_copy(
            update={
                "chat_backend": "ollama",
                "chat_model": MODEL,
                "chat_base_url": server.url,
                "answer_mode": "model",
            }
        )
        docent = Docent(served, embedder=embedder)
        docent.ingest([corpus], "docs")
        server.behaviour = Behaviour(answer=ANSWER, drop_after=4)

        parts = list(docent.stream_answer("docs", QUESTION))
        server.behaviour = Behaviour(answer=ANSWER)
        again = docent.ask("docs", QUESTION)

    # The broken-off text is not the answer: the ranked quotes are, and they say why.
    final = parts[-1]
    assert isinstance(final, Answer) and final.made_by == "quotes"
    assert "broke off" in final.fallback, final.fallback
    assert "27 days" not in "".join(p for p in parts[:-1] if isinstance(p, str))
    assert "27 days" in final.text and final.sentences
    assert again.status == "answered" and again.made_by == "model" and "27 days" in again.text


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _cli(args: list[str], data: Path, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    # The real CLI in its own process: a file-size limit fails its writes as a full disk
    # does (EFBIG instead of ENOSPC; Python ignores SIGXFSZ), with no root or tmpfs needed.
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=os.environ | {"DOCENT_DATA_DIR": str(data)},
        preexec_fn=None if limit is None else (lambda: _limit_file_size(limit)),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_full_disk_during_ingest_is_a_clear_error_and_a_rerun_completes(
    docent: Docent, corpus: Path, tmp_path: Path
) -> None:
    data = tmp_path / "cli-data"
    first = _cli(["ingest", str(corpus), "-c", "docs"], data)
    assert first.returncode == 0, first.stderr
    largest = max(f.stat().st_size for f in (data / "index").rglob("*") if f.is_file())
    add_notes(corpus, 10)

    full = _cli(["ingest", str(corpus), "-c", "docs"], data, limit=largest + 32 * 1024)
    rerun = _cli(["ingest", str(corpus), "-c", "docs"], data)

    assert full.returncode == 1, full.stdout + full.stderr
    assert "Error: Writing to the index" in full.stderr
    assert "Fix: free space" in full.stderr and "Traceback" not in full.stderr
    assert rerun.returncode == 0, rerun.stderr
    written = Docent(docent.settings.model_copy(update={"data_dir": data}), docent.embedder)
    docent.ingest([corpus], "docs")
    assert chunk_ids(written) == chunk_ids(docent), "the same chunks as one clean run"
    assert not [r for r in written.documents("docs") if r.pending or r.stale]


def start_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """``chroma run`` on a fixed port, so that a restart is found where the first one was."""
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    wait_for_heartbeat(port, process, 60)
    return process


class _KillServerAfter:
    """An ingest progress listener that kills the server after ``writes`` chunk writes."""

    def __init__(self, server: subprocess.Popen[bytes], writes: int) -> None:
        self.server = server
        self.writes = writes

    def start(self, files: int) -> None:
        """Nothing to do when the run starts."""

    def file_done(self, outcome: FileOutcome) -> None:
        """Nothing to do per file."""

    def chunks_done(self, count: int) -> None:
        self.writes -= 1
        if self.writes == 0:
            self.server.kill()
            self.server.wait()


@pytest.mark.slow
def test_chroma_server_restart_mid_ingest_is_a_clear_error_and_a_rerun_completes(
    docent: Docent, corpus: Path, tmp_path: Path
) -> None:
    add_notes(corpus, 6)
    port = free_port()
    servers = [start_chroma(tmp_path / "chroma", port)]
    try:
        # Writes of two chunks: however the files group into windows, the third write comes.
        update = {
            "data_dir": tmp_path / "served",
            "index_host": "127.0.0.1",
            "index_port": port,
            "write_batch_chunks": 2,
        }
        served = Docent(docent.settings.model_copy(update=update), docent.embedder)
        with pytest.raises(IndexWriteError, match="Writing to the index") as caught:
            served.ingest([corpus], "docs", progress=_KillServerAfter(servers[0], 3))
        servers.append(start_chroma(tmp_path / "chroma", port))
        rerun = served.ingest([corpus], "docs")
        stored = chunk_ids(served)
        records = served.documents("docs")
    finally:
        for server in servers:
            server.kill()
            server.wait()

    assert "Chroma server is up" in caught.value.hint
    # At most the files of the window being written were half-done.
    assert rerun.exit_code == 0 and rerun.recovered <= len(rerun.files)
    docent.ingest([corpus], "docs")
    assert stored == chunk_ids(docent), "the same chunks as one clean run"
    assert not [r for r in records if r.pending or r.stale]
