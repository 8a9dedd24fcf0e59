"""Access control through HTTP: no response, streamed or not, holds what its user may not read.

One small library per module (real Chroma, the real embedder); hypothesis varies the
users' groups, the grants and the questions, and every face of the API is asked: the
REST listings, ask (JSON and SSE), summaries, originals, and the OpenAI-compatible
models and chat completions (whole and streamed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api import Docent
from models.embedder import Embedder
from tests.access_library import (
    LABELS,
    QUESTIONS,
    documents,
    fresh_grants,
    grant_rows,
    ingest_library,
)
from tests.fake_ollama import FakeOllama
from tests.http_setup import api_docent, bearer, client, token_for

DOCUMENTS = documents("The directors approved buying Nordwind Logistik GmbH for 48 million euros.")
# Phrases only this document holds.
PHRASES = {
    "canteen.md": ["14:00", "canteen.md"],
    "merger.md": ["Logistik", "48 million", "merger.md"],
    "salaries.md": ["85,000", "salaries.md"],
    "bonus.md": ["1.2 million", "bonus.md"],
}


@pytest.fixture(scope="module")
def library(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, answering_ollama: FakeOllama
) -> Iterator[tuple[Docent, TestClient, dict[str, str]]]:
    root = tmp_path_factory.mktemp("http-access")
    docent = api_docent(root, embedder, answering_ollama.url, api_rate_per_minute=100000)
    ingest_library(docent, root, DOCUMENTS)
    tokens = {name: token_for(docent, name) for name in ("alice", "bob")}
    with client(docent) as http:
        yield docent, http, tokens


def _responses(http: TestClient, token: str, question: str) -> list[str]:
    """Every face of the API asked as ``token``: the bodies, question echoes removed."""
    auth = bearer(token)
    asked = {"question": question}
    chat = {"model": "docent:lib", "messages": [{"role": "user", "content": question}]}
    asks = [
        http.get("/v1/models", headers=auth),
        http.get("/api/v1/collections", headers=auth),
        http.get("/api/v1/status", headers=auth),
        http.get("/api/v1/collections/lib/documents", headers=auth),
        http.post("/api/v1/collections/lib/ask", json=asked, headers=auth),
        http.post("/api/v1/collections/lib/ask", json=asked | {"stream": True}, headers=auth),
        http.post("/v1/chat/completions", json=chat, headers=auth),
        http.post("/v1/chat/completions", json=chat | {"stream": True}, headers=auth),
    ]
    # What a request names itself comes back in its answer or error: not a leak. The GETs
    # name no question: nothing is taken out of them (a generated question such as `"`
    # would otherwise cut their JSON apart).
    echoes = [question, json.dumps(question)[1:-1]]
    bodies = [(response, echoes if i >= 4 else []) for i, response in enumerate(asks)]
    for source in DOCUMENTS:
        summary = {"source": source, "length": "short", "stream": True}
        summarized = http.post("/api/v1/collections/lib/summarize", json=summary, headers=auth)
        original = http.get(f"/api/v1/collections/lib/documents/{source}/original", headers=auth)
        bodies += [(summarized, [f"`{source}`"]), (original, [f"`{source}`"])]
    texts = []
    for response, echoes in bodies:
        assert response.status_code < 500, response.text
        text = response.text
        for echo in echoes:
            text = text.replace(echo, "")
        texts.append(text)
    return texts


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(grant_rows, max_size=6),
    name=st.sampled_from(["alice", "bob"]),
    groups=st.lists(st.sampled_from(["g1", "g2"]), unique=True),
    question=st.sampled_from(QUESTIONS) | st.text(min_size=1, max_size=40),
)
def test_no_response_holds_text_or_a_source_the_user_may_not_read(
    library: tuple[Docent, TestClient, dict[str, str]],
    rows: list[tuple[str, str, str]],
    name: str,
    groups: list[str],
    question: str,
) -> None:
    docent, http, tokens = library
    fresh_grants(docent, rows)
    docent.accounts.edit(name, groups=tuple(groups))
    holders = {name, *(f"@{g}" for g in groups)}
    granted = {label for p, c, label in rows if c == "lib" and p in holders}
    forbidden = [
        phrase
        for source, labels in LABELS.items()
        if not labels & granted
        for phrase in PHRASES[source]
    ]

    texts = _responses(http, tokens[name], question)

    for text in texts:
        for phrase in forbidden:
            assert phrase not in text
    listed = json.loads(texts[3]) if texts[3].startswith("[") else []
    readable = {s for s, labels in LABELS.items() if labels & granted}
    assert {d["source"] for d in listed} == (
        readable if any(c == "lib" and p in holders for p, c, _ in rows) else set()
    )


@pytest.mark.slow
def test_a_collection_without_a_grant_looks_as_if_it_did_not_exist(
    library: tuple[Docent, TestClient, dict[str, str]],
) -> None:
    docent, http, tokens = library
    fresh_grants(docent).grant("alice", "other")
    auth = bearer(tokens["alice"])

    missing = http.post("/api/v1/collections/lib/ask", json={"question": "euros"}, headers=auth)
    unknown = http.post("/api/v1/collections/nope/ask", json={"question": "euros"}, headers=auth)
    chat = {"model": "docent:lib", "messages": [{"role": "user", "content": "euros"}]}

    assert missing.status_code == unknown.status_code == 404
    assert missing.json()["error"]["message"] == "Collection `lib` does not exist."
    assert http.post("/v1/chat/completions", json=chat, headers=auth).status_code == 404
    models = http.get("/v1/models", headers=auth).json()["data"]
    assert [m["id"] for m in models] == ["docent:other"]
    denied = [r for r in docent.audit.export() if r["event"] == "denied"]
    assert denied[-1]["user"] == "alice" and denied[-1]["collection"] == "lib"


@pytest.mark.slow
def test_a_user_cannot_upload_with_labels_they_do_not_hold_and_nothing_is_written(
    library: tuple[Docent, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    docent, http, tokens = library
    fresh_grants(docent).grant("bob", "lib", "hr")
    files = [("files", ("note.md", b"# Note\n\nA note.\n", "text/markdown"))]

    refused = http.post(
        "/api/v1/collections/lib/documents", files=files, headers=bearer(tokens["bob"])
    )

    assert refused.status_code == 403
    assert "may not add documents labelled lib" in refused.json()["error"]["message"]
    assert not (docent.settings.data_dir / "uploads" / "lib").exists()
