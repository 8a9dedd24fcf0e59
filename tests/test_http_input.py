"""Bad input through HTTP: a clear 4xx with the message and hint, nothing stored, still up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import Docent
from models.embedder import Embedder
from tests.fake_ollama import FakeModel, FakeOllama
from tests.http_setup import MODEL, api_docent, bearer, client, token_for


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        yield server


@pytest.fixture
def served(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> Iterator[tuple[Docent, TestClient, dict[str, str]]]:
    docent = api_docent(
        tmp_path, embedder, fake.url, upload_max_mb=1, api_max_body_kb=16, api_rate_per_minute=1000
    )
    with client(docent) as http:
        yield docent, http, bearer(token_for(docent, "root", admin=True))


def _stored(docent: Docent) -> list[str]:
    uploads = docent.settings.data_dir / "uploads"
    files = [str(p) for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    return files + [info.name for info in docent.index.collections()]


def _error(response: object, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["message"] and error["hint"]
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    return dict(error)


@pytest.mark.slow
def test_malformed_json_and_wrong_types_get_422_with_what_is_wrong(
    served: tuple[Docent, TestClient, dict[str, str]],
) -> None:
    docent, http, admin = served
    url = "/api/v1/collections/legal/ask"
    headers = admin | {"Content-Type": "application/json"}

    broken = _error(http.post(url, content=b'{"question": "x', headers=headers), 422)
    typed = _error(http.post(url, json={"question": 42}, headers=admin), 422)
    extra = _error(http.post(url, json={"question": "x", "sudo": True}, headers=admin), 422)
    empty = _error(http.post(url, json={"question": ""}, headers=admin), 422)
    chat = _error(http.post("/v1/chat/completions", json={"model": 1}, headers=admin), 422)
    no_user = {"model": "docent:legal", "messages": [{"role": "system", "content": "hi"}]}
    alone = _error(http.post("/v1/chat/completions", json=no_user, headers=admin), 400)

    assert "JSON" in broken["message"] or "json" in broken["message"]
    assert "question" in typed["message"] and "sudo" in extra["message"]
    assert "question" in empty["message"] and "model" in chat["message"]
    assert alone["message"] == "The conversation has no user message."
    assert _stored(docent) == []


@pytest.mark.slow
def test_huge_bodies_are_refused_before_they_are_read(
    served: tuple[Docent, TestClient, dict[str, str]],
) -> None:
    docent, http, admin = served
    big = {"question": "x" * 40_000}

    declared = _error(http.post("/api/v1/collections/legal/ask", json=big, headers=admin), 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    streamed = http.post(
        "/api/v1/collections/legal/ask",
        content=chunks(),
        headers=admin | {"Content-Type": "application/json"},
    )
    upload = [("files", ("big.txt", b"a" * (2 * 1024 * 1024), "text/plain"))]
    too_big = http.post("/api/v1/collections/legal/documents", files=upload, headers=admin)

    assert "larger than the limit of 16 KB" in declared["message"]
    assert _error(streamed, 413)["hint"] == "send a smaller request"
    assert _error(too_big, 413)["message"].endswith("limit of 1088 KB.")
    assert _stored(docent) == []
    assert http.get("/healthz").status_code == 200


@pytest.mark.slow
def test_path_tricks_in_document_names_stay_inside_the_upload_folder(
    served: tuple[Docent, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    docent, http, admin = served
    files = [
        ("files", ("../../escape.md", b"# Escape\n\nOut of bounds.\n", "text/markdown")),
        ("files", ("..", b"nothing", "text/plain")),
        ("files", ("run.exe", b"MZ", "application/octet-stream")),
    ]

    started = http.post("/api/v1/collections/legal/documents", files=files, headers=admin)

    assert started.status_code == 202
    refused = {r["name"]: r["reason"] for r in started.json()["refused"]}
    assert refused == {
        "..": "the file name has no usable characters",
        "run.exe": "unsupported file type .exe",
    }
    folder = docent.settings.data_dir / "uploads" / "legal"
    assert not list(tmp_path.rglob("escape.md")) or all(
        p.parent == folder for p in tmp_path.rglob("escape.md")
    )
    for trick in ("../../../etc/passwd", "..%2F..%2Fusers.json", "%00.md"):
        fetched = http.get(f"/api/v1/collections/legal/documents/{trick}/original", headers=admin)
        assert fetched.status_code in {404, 400}
        assert "users" not in fetched.text or "error" in fetched.json()
    bad_name = _error(http.get("/api/v1/collections/No..Name/documents", headers=admin), 400)
    assert "not a valid collection name" in bad_name["message"]
    assert _error(http.get("/api/v1/nowhere", headers=admin), 404)["message"] == "No such route."
    assert http.get("/healthz").status_code == 200
