"""`docent doctor` against healthy and broken deployments, with real components."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from app.cli import main
from app.doctor import Check, check_chat, check_disk, check_embedder, check_index, run_checks
from app.settings import Settings
from models.weights import EMBEDDER_WEIGHTS_FILE, packaged_embedder_dir
from tests.chroma_server import TokenProxy, chroma_server, free_port
from tests.fake_ollama import FakeModel, FakeOllama

TOKEN = "doctor-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A real Chroma server and the token proxy before it: (chroma port, proxy port)."""
    path = tmp_path_factory.mktemp("chroma") / "db"
    with chroma_server(path) as port, TokenProxy(port, TOKEN) as proxy:
        yield port, proxy.port


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.mark.slow
@pytest.mark.usefixtures("data_dir")
def test_healthy_embedded_setup_passes_every_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--json"])

    checks = json.loads(capsys.readouterr().out)
    assert code == 0, checks
    assert [c["name"] for c in checks] == ["index", "embedder", "chat", "cpu", "disk"]
    assert all(c["ok"] and not c["fix"] for c in checks)
    assert "sha256 matches" in checks[1]["detail"] and "llamacpp" in checks[2]["detail"]
    assert "kernels" in checks[2]["detail"], "the probe's choice is shown"
    assert "vector features" in checks[3]["detail"] and "in use: " in checks[3]["detail"]


@pytest.mark.slow
def test_healthy_server_takes_a_scratch_write_and_leaves_nothing(
    tmp_path: Path, server: tuple[int, int]
) -> None:
    chroma_port, proxy_port = server
    settings = Settings(
        data_dir=tmp_path / "data",
        index_host="127.0.0.1",
        index_port=proxy_port,
        index_token=TOKEN,
    )

    check = check_index(settings.index_config())

    assert check.ok, check
    assert "accepted a scratch write" in check.detail
    direct = chromadb.HttpClient(
        port=chroma_port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    assert direct.list_collections() == []


@pytest.mark.slow
def test_wrong_token_fails_the_index_check_with_the_setting_to_fix(
    tmp_path: Path, server: tuple[int, int]
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", index_host="127.0.0.1", index_port=server[1], index_token="x"
    )

    check = check_index(settings.index_config())

    assert not check.ok
    assert "refused Docent's token" in check.detail and "DOCENT_INDEX_TOKEN" in check.fix


@pytest.mark.slow
@pytest.mark.usefixtures("data_dir")
def test_server_down_fails_the_index_check_and_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCENT_INDEX_HOST", "127.0.0.1")
    monkeypatch.setenv("DOCENT_INDEX_PORT", str(free_port()))
    monkeypatch.setenv("DOCENT_CHAT_BACKEND", "ollama")
    monkeypatch.setenv("DOCENT_CHAT_BASE_URL", f"http://127.0.0.1:{free_port()}")

    code = main(["doctor"])

    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL index: Cannot reach the Chroma server at http://127.0.0.1:" in out
    assert "Fix: start it (`docker compose up -d chroma chroma-auth`)" in out
    assert "FAIL chat:" in out and "ok   embedder:" in out
    assert out.rstrip().endswith("2 problem(s) found.")


@pytest.mark.slow
def test_missing_ollama_model_names_the_pull(tmp_path: Path) -> None:
    with FakeOllama([FakeModel("llama3.2:1b")]) as ollama:
        settings = Settings(
            data_dir=tmp_path,
            chat_backend="ollama",
            chat_model="qwen2.5:1.5b",
            chat_base_url=ollama.url,
        )
        missing = check_chat(settings)
        present = check_chat(settings.model_copy(update={"chat_model": "llama3.2:1b"}))

    assert not missing.ok
    assert "qwen2.5:1.5b" in missing.detail and "ollama pull qwen2.5:1.5b" in missing.fix
    assert present.ok and "llama3.2:1b" in present.detail


@pytest.mark.slow
def test_altered_embedder_weights_fail_the_hash_check(tmp_path: Path) -> None:
    copy = tmp_path / "embedder"
    shutil.copytree(packaged_embedder_dir(), copy)
    weights = copy / EMBEDDER_WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))

    check = check_embedder(Settings(data_dir=tmp_path, embedder_dir=copy))

    assert not check.ok
    assert "do not match the pinned sha256" in check.detail
    assert "reinstall" in check.fix


def test_unwritable_index_and_full_disk_are_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")

    index = check_index(Settings(data_dir=tmp_path, index_dir=blocker / "index").index_config())
    disk = check_disk(tmp_path / "data" / "later", min_free_bytes=1 << 62)

    assert not index.ok and "Cannot write to" in index.detail and "write access" in index.fix
    assert not disk.ok and "free space" in disk.fix and str(tmp_path) in disk.detail


@pytest.mark.slow
def test_run_checks_covers_every_component(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        chat_backend="openai",
        chat_model="m",
        chat_base_url=f"http://127.0.0.1:{free_port()}/v1",
    )

    checks = by_name(run_checks(settings, min_free_bytes=0))

    assert set(checks) == {"index", "embedder", "chat", "disk"}, "no cpu check for a server"
    assert checks["index"].ok and checks["embedder"].ok and checks["disk"].ok
    assert not checks["chat"].ok and checks["chat"].fix
