"""The API's door: who may start what, what is read before the token is known, what is logged.

A real Docent (real Chroma, the real embedder) behind the real FastAPI application; the
chat model is the fake Ollama at the HTTP edge. Body-before-token probes speak raw HTTP
to a real uvicorn server, as an attacker would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api import Docent
from models.embedder import Embedder
from tests.fake_ollama import FakeOllama
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
