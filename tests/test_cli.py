"""The `docent` CLI: messages, JSON output and exit codes (0 ok, 1 usage/fatal, 2 files failed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.api import Docent
from app.settings import Settings
from app.uploads import Upload, upload_folder
from models.embedder import Embedder
from rag.lock import WriterLock
from tests import docgen
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("data_dir")


@pytest.mark.slow
def test_ingest_reports_and_is_incremental(
    capsys: pytest.CaptureFixture[str], corpus: Path
) -> None:
    code, out, err = run(capsys, "ingest", str(corpus), "--collection", "docs")
    assert code == 0
    assert "5 files: 5 added, 0 updated, 0 unchanged, 0 skipped, 0 failed" in out
    assert "[5/5]" in err

    code, out, _ = run(capsys, "ingest", str(corpus), "-c", "docs", "--json")
    report = json.loads(out)
    assert code == 0
    assert (report["unchanged"], report["chunks_embedded"]) == (5, 0)


@pytest.mark.slow
def test_failed_files_exit_2_with_file_and_reason(
    capsys: pytest.CaptureFixture[str], corpus: Path
) -> None:
    docgen.make_encrypted_pdf(corpus / "locked.pdf")
    code, out, _ = run(capsys, "ingest", str(corpus), "-c", "docs")
    assert code == 2
    assert "Failed:\n  locked.pdf: the PDF is encrypted" in out
    assert "5 added" in out


@pytest.mark.slow
def test_dry_run_and_prune(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    code, out, _ = run(capsys, "ingest", str(corpus), "-c", "docs", "--dry-run")
    assert code == 0 and "5 would be added" in out
    assert "No collections yet" in run(capsys, "collections", "list")[1]

    run(capsys, "ingest", str(corpus), "-c", "docs")
    (corpus / "plain.txt").unlink()
    out = run(capsys, "ingest", str(corpus), "-c", "docs")[1]
    assert "run again with --prune to remove):\n  plain.txt" in out
    out = run(capsys, "ingest", str(corpus), "-c", "docs", "--prune")[1]
    assert "Removed (files gone):\n  plain.txt" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ingest", "missing-folder", "-c", "docs"], "missing-folder does not exist"),
        (["ingest", ".", "-c", "Bad Name!"], "not a valid collection name"),
        (["ingest"], "Missing argument 'PATHS...'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["docs", "list", "-c", "nowhere"], "Collection `nowhere` does not exist"),
        (["collections", "delete", "nowhere", "--yes"], "Collection `nowhere` does not exist"),
    ],
)
def test_usage_and_fatal_errors_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1
    assert message in out + err


def test_errors_name_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "docs", "list", "-c", "nowhere")
    assert code == 1
    assert "Fix: create it with `docent collections create nowhere`" in err


def test_invalid_setting_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_CHUNK_TOKENS", "999")
    code, _, err = run(capsys, "status")
    assert code == 1
    assert "Invalid settings: chunk_tokens" in err


def test_locked_index_is_refused(
    capsys: pytest.CaptureFixture[str], corpus: Path, data_dir: Path
) -> None:
    with WriterLock(data_dir / "index"):
        code, _, err = run(capsys, "ingest", str(corpus), "-c", "docs")
    assert code == 1
    assert "is locked by PID" in err


@pytest.mark.slow
def test_index_locked_by_another_process_names_its_pid(
    capsys: pytest.CaptureFixture[str], corpus: Path, data_dir: Path
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from rag.lock import WriterLock\n"
            f"WriterLock(Path({str(data_dir / 'index')!r})).acquire()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        code, _, err = run(capsys, "ingest", str(corpus), "-c", "docs")
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert f"is locked by PID {holder.pid}, which is writing to it." in err
    assert "wait for that process to finish, or stop it" in err
    assert run(capsys, "ingest", str(corpus), "-c", "docs")[0] == 0, "the lock died with it"


@pytest.mark.slow
def test_collections_and_documents(capsys: pytest.CaptureFixture[str], corpus: Path) -> None:
    assert run(capsys, "collections", "create", "legal")[0] == 0
    assert run(capsys, "collections", "create", "legal")[0] == 1
    run(capsys, "ingest", str(corpus), "-c", "legal")

    listing = run(capsys, "collections", "list")[1]
    assert "legal" in listing and "all-MiniLM-L6-v2" in listing
    docs = json.loads(run(capsys, "docs", "list", "-c", "legal", "--json")[1])
    assert sorted(d["source"] for d in docs)[0] == "faq.html"
    assert "Staff Handbook" in run(capsys, "docs", "list", "-c", "legal")[1]

    assert run(capsys, "docs", "rm", "faq.html", "-c", "legal")[0] == 0
    assert run(capsys, "docs", "rm", "faq.html", "-c", "legal")[0] == 1
    status = json.loads(run(capsys, "status", "--json")[1])
    assert status["collections"][0]["documents"] == 4
    assert status["embedder_weights"].startswith("verified")

    assert run(capsys, "collections", "delete", "legal", "--yes")[0] == 0
    assert json.loads(run(capsys, "collections", "list", "--json")[1]) == []


@pytest.mark.slow
def test_docs_rm_deletes_our_upload_copy_and_never_the_file_of_a_share(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, embedder: Embedder
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "leave.md").write_text("# Leave\n\nLeave is 25 days a year on the share.\n")
    run(capsys, "ingest", str(share), "-c", "legal")
    docent = Docent(Settings.load(), embedder=embedder)
    upload = Upload("leave.md", b"# Leave\n\nLeave is 27 days a year, as uploaded.\n")
    docent.ingest_uploads(docent.save_uploads("legal", [upload]), "legal")
    # Named like the share's document, the upload is kept under a marked name of its own.
    [copy] = upload_folder(docent.settings.data_dir, "legal").glob("leave-*.md")
    assert len(docent.documents("legal")) == 2

    code, out, _ = run(capsys, "docs", "rm", "leave.md", "-c", "legal")

    assert code == 0 and out == "Removed 1 document(s) `leave.md` from `legal`.\n"
    assert copy.exists() and (share / "leave.md").read_text().endswith("on the share.\n")
    code, out, _ = run(capsys, "docs", "rm", copy.name, "-c", "legal")
    assert code == 0 and not copy.exists()
    assert docent.documents("legal") == []


@pytest.mark.slow
def test_console_script_exit_codes(tmp_path: Path, data_dir: Path) -> None:
    command = [sys.executable, "-m", "app.cli"]
    assert subprocess.run([*command, "--help"], capture_output=True).returncode == 0
    missing = subprocess.run(
        [*command, "ingest", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr


@pytest.mark.slow
def test_a_run_whose_only_parsed_file_fails_exits_2_not_aborted(
    tmp_path: Path, data_dir: Path
) -> None:
    # Nothing to embed, but the model starts loading for the file parsed: the process
    # must end with the run's exit code, not abort while that load is under way.
    share = tmp_path / "share"
    share.mkdir()
    (share / "notes.txt").write_text("The archive opens at nine on weekdays.\n")
    (share / "broken.pdf").write_text("this was never a PDF\n")
    command = [sys.executable, "-m", "app.cli", "ingest", str(share), "-c", "docs"]
    codes = [subprocess.run(command, capture_output=True, text=True) for _ in range(3)]
    assert [done.returncode for done in codes] == [2, 2, 2], codes[-1].stderr[-2000:]
    assert "broken.pdf: this .pdf file is not a PDF" in codes[-1].stdout


@pytest.mark.slow
def test_reingest_of_unchanged_files_imports_neither_chroma_nor_parsers_nor_models(
    capsys: pytest.CaptureFixture[str], corpus: Path
) -> None:
    # Start-up is most of an unchanged re-ingest: it must not import what it does not run.
    assert run(capsys, "ingest", str(corpus), "-c", "docs")[0] == 0
    probe = (
        "import sys\n"
        "from app.cli import main\n"
        f"code = main(['ingest', {str(corpus)!r}, '-c', 'docs', '--json'])\n"
        "heavy = ('chromadb', 'pypdf', 'docx', 'bs4', 'llama_cpp', 'torch', 'onnxruntime',\n"
        "         'rag.answer', 'rag.summarize', 'models.chat', 'langchain_core.prompts')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert json.loads(shown.stdout)["unchanged"] == 5, shown.stdout + shown.stderr
    assert shown.stderr.strip().endswith("0 []"), shown.stderr
