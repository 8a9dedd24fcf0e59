"""Client/server mode against a real ``chroma run`` on loopback, behind the token check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import Docent
from app.cli import main
from app.settings import Settings
from models.embedder import Embedder
from models.errors import DocentError
from rag.connect import IndexUnreachableError
from rag.lock import IndexLockedError
from tests.chroma_server import TokenProxy, chroma_server, free_port

pytestmark = pytest.mark.slow

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def proxy_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One Chroma server for the module, reached through the token-checking proxy."""
    path = tmp_path_factory.mktemp("chroma") / "db"
    with chroma_server(path) as port, TokenProxy(port, TOKEN) as proxy:
        yield proxy.port


def served(tmp_path: Path, embedder: Embedder, port: int, token: str = TOKEN) -> Docent:
    settings = Settings(
        data_dir=tmp_path / "data",
        index_host="127.0.0.1",
        index_port=port,
        index_token=token,
        chat_temperature=0.0,
    )
    return Docent(settings, embedder=embedder)


def test_ingest_resync_and_prune_against_the_server(
    tmp_path: Path, embedder: Embedder, proxy_port: int, corpus: Path
) -> None:
    docent = served(tmp_path, embedder, proxy_port)

    first = docent.ingest([corpus], "sync")
    again = docent.ingest([corpus], "sync")
    (corpus / "plain.txt").unlink()
    pruned = docent.ingest([corpus], "sync", prune=True)

    assert first.counts()["added"] == 5 and first.exit_code == 0
    assert again.counts()["unchanged"] == 5 and again.chunks_embedded == 0
    assert pruned.pruned == ["plain.txt"]
    assert sorted(r.source for r in docent.documents("sync")) == [
        "faq.html",
        "handbook.pdf",
        "notes.md",
        "policies/security.docx",
    ]
    local = tmp_path / "data" / f"index-127.0.0.1-{proxy_port}"
    assert (local / "lexical" / "sync.sqlite3").is_file(), "BM25 lives in the app's data dir"
    assert "Chroma server http://127.0.0.1:" in docent.status().index

    docent.remove_document("sync", "notes.md")
    assert "notes.md" not in {r.source for r in docent.documents("sync")}
    docent.delete_collection("sync")
    assert "sync" not in {info.name for info in docent.collections()}
    assert not (local / "lexical" / "sync.sqlite3").exists()


def test_writers_sharing_a_data_dir_share_one_lock(
    tmp_path: Path, embedder: Embedder, proxy_port: int, corpus: Path
) -> None:
    app, ingest = (served(tmp_path, embedder, proxy_port) for _ in range(2))

    with app.index.writer_lock(), pytest.raises(IndexLockedError):
        ingest.ingest([corpus], "locked")


def test_bm25_is_rebuilt_from_the_server_for_a_new_app_data_dir(
    tmp_path: Path, embedder: Embedder, proxy_port: int, corpus: Path
) -> None:
    writer = served(tmp_path / "a", embedder, proxy_port)
    writer.ingest([corpus], "rebuild")
    reader = served(tmp_path / "b", embedder, proxy_port)

    collection = reader.index.collection("rebuild")
    fixed = collection.sync_lexical()

    assert fixed == collection.count_chunks() > 0
    assert collection.lexical.count() == collection.count_chunks()
    assert collection.sync_lexical() == 0


def test_ask_and_summarize_against_the_server(
    tmp_path: Path, embedder: Embedder, proxy_port: int, corpus: Path
) -> None:
    docent = served(tmp_path, embedder, proxy_port)
    docent.ingest([corpus], "answers")

    answer = docent.ask("answers", "How many days of annual leave does every employee receive?")
    summary = docent.summarize("answers", "handbook.pdf", length="short")

    assert answer.status == "answered", answer
    assert "27" in answer.text
    assert ("handbook.pdf", 2) in {(c.source, c.page) for c in answer.citations}
    # The packaged model: the summary quotes the document's parts, no model asked.
    assert "(p. 2)" in summary.text and summary.mode == "quotes" and summary.sections


def test_wrong_token_is_a_clear_error_naming_the_setting(
    tmp_path: Path, embedder: Embedder, proxy_port: int
) -> None:
    for token in ("wrong", ""):
        docent = served(tmp_path, embedder, proxy_port, token=token)
        with pytest.raises(IndexUnreachableError) as caught:
            docent.collections()
        assert "refused Docent's token" in caught.value.message
        assert "DOCENT_INDEX_TOKEN" in (caught.value.hint or "")


def test_server_down_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    docent = served(tmp_path, embedder, free_port())

    with pytest.raises(DocentError) as caught:
        docent.collections()

    assert isinstance(caught.value, IndexUnreachableError)
    assert "Cannot reach the Chroma server at http://127.0.0.1:" in caught.value.message
    assert "index_port" in (caught.value.hint or "")


def test_cli_reports_a_refused_token_with_the_fix(
    tmp_path: Path,
    proxy_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "INDEX_HOST": "127.0.0.1",
        "INDEX_PORT": str(proxy_port),
        "INDEX_TOKEN": "wrong",
    }.items():
        monkeypatch.setenv(f"DOCENT_{name}", value)

    code = main(["collections", "list"])

    err = capsys.readouterr().err
    assert code == 1
    assert "refused Docent's token" in err and "Fix: set DOCENT_INDEX_TOKEN" in err
