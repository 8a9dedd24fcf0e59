"""The API's door: who may start what, what is read before the token is known, what is logged.

A real Docent (real Chroma, the real embedder) behind the real FastAPI application; the
chat model is the fake Ollama at the HTTP edge. Body-before-token probes speak raw HTTP
to a real uvicorn server, as an attacker would.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import Docent
from models.embedder import Embedder
from tests.fake_ollama import FakeOllama
from tests.http_server import running
from tests.http_setup import api_docent, bearer, client, token_for

pytestmark = pytest.mark.slow


@pytest.fixture
def served(
    tmp_path: Path, embedder: Embedder, answering_ollama: FakeOllama, corpus: Path
) -> Iterator[tuple[Docent, TestClient]]:
    docent = api_docent(
        tmp_path, embedder, answering_ollama.url, api_rate_per_minute=1000, sync_folder=corpus
    )
    with client(docent) as http:
        yield docent, http


def test_only_administrators_start_a_sync_and_a_refused_one_starts_no_job(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    admin = bearer(token_for(docent, "root", admin=True))
    assert http.post("/api/v1/collections/legal/sync", headers=admin).status_code == 202
    tokens = {name: bearer(token_for(docent, name)) for name in ("writer", "reader", "stranger")}
    docent.grant("writer", "legal", write=True)
    docent.grant("reader", "legal")

    for name, token in tokens.items():
        refused = http.post("/api/v1/collections/legal/sync", headers=token)
        assert refused.status_code == 403, (name, refused.text)
        assert "docent grant" in refused.json()["error"]["hint"]
        assert http.get("/api/v1/jobs", headers=token).json() == []
    denied = [r for r in docent.audit.export() if r["event"] == "denied"]
    assert {(r["user"], r["action"]) for r in denied} == {
        ("writer", "sync"),
        ("reader", "sync"),
        ("stranger", "sync"),
    }


# Each probe: a request line and headers that announce a body the client never sends.
UNREAD = {
    "upload, no token": (
        "POST /api/v1/collections/legal/documents",
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n",
    ),
    "upload, forged token": (
        "POST /api/v1/collections/legal/documents",
        "Authorization: Bearer dct_0123456789ab_" + "A" * 43 + "\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n",
    ),
    "upload, chunked, not a bearer": (
        "POST /api/v1/collections/legal/documents",
        "Authorization: Basic cm9vdDp4\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        "Transfer-Encoding: chunked\r\n",
    ),
    "ask, no token": (
        "POST /api/v1/collections/legal/ask",
        "Content-Type: application/json\r\nContent-Length: 200000\r\n",
    ),
    "chat, malformed token, chunked": (
        "POST /v1/chat/completions",
        "Authorization: Bearer nonsense\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n",
    ),
}


@pytest.mark.parametrize("probe", list(UNREAD))
def test_a_request_without_a_valid_token_is_refused_before_its_body_is_read(
    tmp_path: Path, embedder: Embedder, answering_ollama: FakeOllama, probe: str
) -> None:
    docent = api_docent(tmp_path, embedder, answering_ollama.url)
    target, headers = UNREAD[probe]
    with running(docent) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(f"{target} HTTP/1.1\r\nHost: docent\r\n{headers}\r\n".encode())
            raw.sendall(b"5\r\n--x\r\n" if "chunked" in headers else b"--x\r\n")
            try:
                answer = raw.recv(4096).decode("latin-1")
            except TimeoutError:
                pytest.fail(f"{probe}: the server waited for the body instead of refusing")
    assert answer.startswith("HTTP/1.1 401"), answer
    assert "WWW-Authenticate: Bearer" in answer.replace("www-authenticate", "WWW-Authenticate")
