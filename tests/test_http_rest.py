"""REST flows through HTTP: upload, ask, delete; ingest jobs streamed and cancelled; tokens.

A real Docent (real Chroma, the real embedder) behind the real FastAPI application,
driven by FastAPI's TestClient; the chat model is the fake Ollama at the HTTP edge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answer_record import AnswerRecord
from app.api import Docent
from app.auth.tokens import ApiTokens
from models.embedder import Embedder
from tests import docgen
from tests.fake_ollama import FakeModel, FakeOllama
from tests.http_setup import MODEL, api_docent, bearer, client, sse_events, token_for

ANSWER = "Every employee receives 27 days of annual leave per year [1]."


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        server.behaviour.answer = ANSWER
        yield server


@pytest.fixture
def served(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> Iterator[tuple[Docent, TestClient]]:
    docent = api_docent(tmp_path, embedder, fake.url, api_rate_per_minute=1000)
    with client(docent) as http:
        yield docent, http


def _handbook(tmp_path: Path) -> bytes:
    path = tmp_path / "handbook.pdf"
    docgen.make_pdf(path, pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    return path.read_bytes()


def _finish(http: TestClient, token: str, job_id: str) -> dict[str, object]:
    events = sse_events(http.get(f"/api/v1/jobs/{job_id}/events", headers=bearer(token)).text)
    assert events[-1][0] in {"done", "failed", "cancelled"}
    return dict(json.loads(events[-1][1]))


@pytest.mark.slow
def test_upload_then_ask_then_delete(served: tuple[Docent, TestClient], tmp_path: Path) -> None:
    docent, http = served
    admin = bearer(token_for(docent, "root", admin=True))
    files = [("files", ("handbook.pdf", _handbook(tmp_path), "application/pdf"))]

    started = http.post("/api/v1/collections/legal/documents", files=files, headers=admin)
    assert started.status_code == 202, started.text
    done = _finish(http, token_for(docent, "root"), started.json()["id"])
    assert done["state"] == "done"
    report = http.get(f"/api/v1/jobs/{started.json()['id']}/report", headers=admin).json()
    assert [(f["source"], f["status"]) for f in report["files"]] == [("handbook.pdf", "added")]

    listed = http.get("/api/v1/collections/legal/documents", headers=admin).json()
    assert [d["source"] for d in listed] == ["handbook.pdf"]
    assert "root" not in listed[0]  # no server paths
    asked = http.post(
        "/api/v1/collections/legal/ask",
        json={"question": "How many days of annual leave?"},
        headers=admin,
    )
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert answer["status"] == "answered"
    cited = answer["citations"][0]
    assert (cited["source"], cited["page"], cited["status"]) == ("handbook.pdf", 2, "quoted")
    assert "27 days" in cited["quote"] and cited["span"][0] < cited["span"][1]
    assert AnswerRecord.model_validate(answer).units[0].citation.page == 2

    page = http.get("/api/v1/collections/legal/documents/handbook.pdf/pages/2", headers=admin)
    assert page.status_code == 200 and page.content.startswith(b"%PDF")
    original = http.get("/api/v1/collections/legal/documents/handbook.pdf/original", headers=admin)
    assert original.content == _handbook(tmp_path)

    gone = http.delete("/api/v1/collections/legal/documents/handbook.pdf", headers=admin)
    assert gone.status_code == 200
    assert http.get("/api/v1/collections/legal/documents", headers=admin).json() == []
    assert not list((docent.settings.data_dir / "uploads" / "legal").iterdir())
    again = http.delete("/api/v1/collections/legal/documents/handbook.pdf", headers=admin)
    assert again.status_code == 404
    assert again.json()["error"]["hint"] == "see `docent docs list --collection legal`"


@pytest.mark.slow
def test_ask_streams_deltas_then_the_answer(
    served: tuple[Docent, TestClient], corpus: Path
) -> None:
    docent, http = served
    docent.ingest([corpus], "legal")
    admin = bearer(token_for(docent, "root", admin=True))
    body = {"question": "How many days of annual leave?", "stream": True}

    response = http.post("/api/v1/collections/legal/ask", json=body, headers=admin)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    deltas = "".join(json.loads(data)["text"] for name, data in events if name == "delta")
    assert "27 days" in deltas
    assert events[-1][0] == "answer"
    final = json.loads(events[-1][1])
    assert {c["source"] for c in final["citations"]} == {"handbook.pdf"}


@pytest.mark.slow
def test_summarize_streams_progress(served: tuple[Docent, TestClient], corpus: Path) -> None:
    docent, http = served
    docent.ingest([corpus], "legal")
    admin = bearer(token_for(docent, "root", admin=True))
    body = {"source": "handbook.pdf", "length": "short", "stream": True}

    events = sse_events(
        http.post("/api/v1/collections/legal/summarize", json=body, headers=admin).text
    )

    assert any(name == "progress" for name, _ in events)
    assert events[-1][0] == "summary" and json.loads(events[-1][1])["source"] == "handbook.pdf"
    plain = http.post(
        "/api/v1/collections/legal/summarize", json=body | {"stream": False}, headers=admin
    )
    assert plain.json()["source"] == "handbook.pdf"


@pytest.mark.slow
def test_a_sync_job_streams_to_the_end_and_a_cancelled_one_leaves_nothing_half_done(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama, corpus: Path
) -> None:
    docent = api_docent(tmp_path, embedder, fake.url, sync_folder=corpus)
    admin = token_for(docent, "root", admin=True)
    with client(docent) as http:
        started = http.post("/api/v1/collections/legal/sync", headers=bearer(admin))
        assert started.status_code == 202
        events = sse_events(
            http.get(f"/api/v1/jobs/{started.json()['id']}/events", headers=bearer(admin)).text
        )
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-1] == "done"
        assert names.count("file") == json.loads(events[0][1])["files"] == 5

        (corpus / "extra.md").write_text("# Extra\n\nA new note about the fire drill.\n")
        job = docent_job = http.post("/api/v1/collections/legal/sync", headers=bearer(admin))
        cancelled = http.post(f"/api/v1/jobs/{job.json()['id']}/cancel", headers=bearer(admin))
        assert cancelled.status_code == 202
        end = _finish(http, admin, docent_job.json()["id"])
        assert end["state"] in {"cancelled", "done"}
        records = docent.index.collection("legal").records()
        assert all(not (r.pending or r.stale) for r in records)
        other = http.get(
            f"/api/v1/jobs/{job.json()['id']}", headers=bearer(token_for(docent, "eve"))
        )
        assert other.status_code == 404  # someone else's job is not revealed


@pytest.mark.slow
def test_cancel_stops_a_long_ingest_at_its_next_step(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> None:
    share = tmp_path / "many"
    share.mkdir()
    for number in range(40):
        (share / f"note-{number:02}.md").write_text(f"# Note {number}\n\nItem {number} text.\n")
    docent = api_docent(tmp_path, embedder, fake.url, sync_folder=share)
    admin = token_for(docent, "root", admin=True)
    with client(docent) as http:
        job = http.post("/api/v1/collections/notes/sync", headers=bearer(admin)).json()
        http.post(f"/api/v1/jobs/{job['id']}/cancel", headers=bearer(admin))
        end = _finish(http, admin, job["id"])
    assert end["state"] == "cancelled"
    stored = {r.source for r in docent.index.collection("notes").records() if r.doc_id}
    assert len(stored) < 40
    assert all(not (r.pending or r.stale) for r in docent.index.collection("notes").records())


@pytest.mark.slow
def test_revoked_expired_missing_and_forged_tokens_get_401(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    good = token_for(docent, "alice")
    tokens = ApiTokens(docent.settings.tokens_path())
    old = tokens.create("alice", "old", timedelta(days=1), datetime.now(UTC) - timedelta(days=2))[0]
    revoked = token_for(docent, "alice")
    tokens.revoke(revoked.split("_")[1])

    assert http.get("/api/v1/collections", headers=bearer(good)).status_code == 200
    for headers in (
        bearer(old),
        bearer(revoked),
        {},
        bearer(good[:-1] + "x"),
        {"Authorization": good},
    ):
        response = http.get("/api/v1/collections", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "docent tokens create" in response.json()["error"]["hint"]
    docent.accounts.remove("alice")
    assert http.get("/v1/models", headers=bearer(good)).status_code == 401
    audited = [r for r in docent.audit.export() if r["event"] == "api"]
    assert audited[0]["user"] == "alice" and audited[0]["status"] == 200
    assert {r["user"] for r in audited[1:]} == {"anonymous"}


@pytest.mark.slow
def test_the_rate_limit_answers_429_with_retry_after(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> None:
    docent = api_docent(tmp_path, embedder, fake.url, api_rate_per_minute=3)
    alice, bob = token_for(docent, "alice"), token_for(docent, "bob")
    with client(docent) as http:
        codes = [
            http.get("/api/v1/collections", headers=bearer(alice)).status_code for _ in range(4)
        ]
        limited = http.get("/api/v1/collections", headers=bearer(alice))
        assert codes == [200, 200, 200, 429] and limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert http.get("/api/v1/collections", headers=bearer(bob)).status_code == 200


@pytest.mark.slow
def test_probes_docs_and_schema_need_no_token_and_name_no_outside_address(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"index": True, "model": True}
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz"):
        text = http.get(path).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert "/v1/chat/completions" in http.get("/docs").text
    # No ReDoc page; without a token no route, existing or not, is told apart.
    assert http.get("/redoc").status_code == 401
    redoc = http.get("/redoc", headers=bearer(token_for(docent, "alice")))
    assert redoc.status_code == 404


@pytest.mark.slow
def test_the_schema_shows_the_answer_record(served: tuple[Docent, TestClient]) -> None:
    _, http = served
    schema = http.get("/openapi.json").json()

    ask = schema["paths"]["/api/v1/collections/{name}/ask"]["post"]["responses"]["200"]
    assert ask["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AnswerRecord"
    }
    record = schema["components"]["schemas"]["AnswerRecord"]
    assert {"units", "lead", "citations", "status", "fallback"} <= set(record["properties"])
    assert all(field.get("description") for field in record["properties"].values())
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]
    assert "Completion" in json.dumps(chat) and "DocentField" in schema["components"]["schemas"]


@pytest.mark.slow
def test_collections_are_managed_by_administrators_only(served: tuple[Docent, TestClient]) -> None:
    docent, http = served
    admin, alice = bearer(token_for(docent, "root", admin=True)), bearer(token_for(docent, "alice"))

    assert (
        http.post("/api/v1/collections", json={"name": "hr-files"}, headers=admin).status_code
        == 201
    )
    again = http.post("/api/v1/collections", json={"name": "hr-files"}, headers=admin)
    assert again.status_code == 409 and "already exists" in again.json()["error"]["message"]
    refused = http.post("/api/v1/collections", json={"name": "mine"}, headers=alice)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "Only an administrator may create collections."
    assert http.get("/api/v1/collections", headers=alice).json() == []
    assert [c["name"] for c in http.get("/api/v1/collections", headers=admin).json()] == [
        "hr-files"
    ]
    assert http.delete("/api/v1/collections/hr-files", headers=alice).status_code == 403
    assert http.delete("/api/v1/collections/hr-files", headers=admin).status_code == 200
