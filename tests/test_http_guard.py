"""The API's door: who may start what, what is read before the token is known, what is logged.

A real Docent (real Chroma, the real embedder) behind the real FastAPI application; the
chat model is the fake Ollama at the HTTP edge. Body-before-token probes speak raw HTTP
to a real uvicorn server, as an attacker would.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import Docent
from app.auth.audit import AuditLog
from app.http.security import RefusalLog
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


def test_bad_tokens_in_a_loop_write_two_audit_records_not_one_each(
    tmp_path: Path, embedder: Embedder, answering_ollama: FakeOllama
) -> None:
    docent = api_docent(tmp_path, embedder, answering_ollama.url)
    good = bearer(token_for(docent, "root", admin=True))
    forged = ["", "Bearer", "Bearer dct_0123456789ab_" + "B" * 43, "Basic cm9vdDp4", "Bearer x"]
    with client(docent) as http:
        for attempt in range(300):
            headers = {"Authorization": forged[attempt % len(forged)]}
            assert http.get("/api/v1/collections", headers=headers).status_code == 401
            if attempt == 150:
                assert http.get("/api/v1/collections", headers=good).status_code == 200
    # The server has stopped: the folded count is written.

    records = [r for r in docent.audit.export() if r["event"] == "api"]
    refused = [r for r in records if r["status"] == 401]
    assert len(refused) == 2, refused
    assert "repeated" not in refused[0] and refused[1]["repeated"] == 299
    assert {r["client"] for r in refused} == {"testclient"}
    assert [r["user"] for r in records if r["status"] == 200] == ["root"]


def test_refusals_are_folded_per_client_and_window(tmp_path: Path) -> None:
    moment = [0.0]
    audit = AuditLog(tmp_path / "audit.jsonl")
    log = RefusalLog(audit, window=60.0, clock=lambda: moment[0])
    request = {"method": "GET", "path": "/v1/models", "token": ""}
    for second in range(0, 150):
        moment[0] = float(second)
        log.flush()
        log.refused("10.0.0.7", "anonymous", 401, request)
        log.refused("10.0.0.8", "anonymous", 401, request)
    log.refused("10.0.0.7", "alice", 429, request)
    log.flush(everything=True)

    records = [r for r in audit.export() if r["event"] == "api"]
    by_client = [(r["client"], r["user"], r["status"], r.get("repeated")) for r in records]
    assert by_client.count(("10.0.0.7", "anonymous", 401, None)) == 3  # one per window
    assert [c[3] for c in by_client if c[:3] == ("10.0.0.8", "anonymous", 401) and c[3]] == [
        59,
        59,
        29,
    ]
    assert ("10.0.0.7", "alice", 429, None) in by_client
    assert len(records) == 13


# A valid body of every route that reads JSON; each string in it is made not Unicode in turn.
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/collections": {"name": "minutes"},
    "/api/v1/collections/{name}/ask": {
        "question": "How many days of leave?",
        "history": [{"question": "Who approves leave?", "answer": "The manager."}],
        "labels": ["legal"],
    },
    "/api/v1/collections/{name}/summarize": {"source": "handbook.md", "focus": "leave"},
    "/v1/chat/completions": {
        "model": "docent:legal",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": [{"type": "text", "text": "How many days of leave?"}]},
        ],
        "user": "portal",
    },
}


def _strings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, str):
        yield path
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items if isinstance(value, dict | list) else ():
        yield from _strings(item, (*path, key))


def _with(value: Any, path: tuple[Any, ...], text: str) -> Any:
    if not path:
        return text
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _with(value[path[0]], path[1:], text)
    return copy


def test_text_that_is_not_unicode_is_a_400_naming_the_field_on_every_json_route(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    admin = bearer(token_for(docent, "root", admin=True)) | {"Content-Type": "application/json"}
    schema = http.get("/openapi.json").json()["paths"]
    reading_json = {
        path
        for path, operations in schema.items()
        for spec in operations.values()
        if "application/json" in spec.get("requestBody", {}).get("content", {})
    }
    assert reading_json == set(BODIES), "every route that reads JSON is probed"

    for template, valid in BODIES.items():
        url = template.replace("{name}", "legal")
        variants = [
            _with(valid, path, text)
            for path in _strings(valid)
            for text in ("\ud800" + "x", "x" + "\udfff", "\udbff\udbff")
        ]
        variants.append(valid | {"\ud83d": 1})
        for variant in variants:
            # json.dumps writes each surrogate as an escape, as a client's JSON would.
            sent = http.post(url, content=json.dumps(variant).encode(), headers=admin)
            assert sent.status_code == 400, (url, variant, sent.text)
            error = sent.json()["error"]
            assert "lone surrogate" in error["message"] and "UTF-8" in error["hint"]
    paired = {"question": "Is \ud83d\ude00 leave?"}  # a pair is one character: fine
    answered = http.post(
        "/api/v1/collections/legal/ask", content=json.dumps(paired).encode(), headers=admin
    )
    assert answered.status_code != 400 and answered.status_code < 500
    quoted = http.get("/api/v1/collections/legal/documents/%ED%A0%80.md/original", headers=admin)
    assert 400 <= quoted.status_code < 500
