"""Every streaming face sends only checked text, and says why the model's text was replaced.

A model that writes a sentence the checker rejects (the scripted backend, or the fake Ollama
for the CLI) must not reach a reader who only appends what arrives: the REST ``delta``
events, the OpenAI-compatible stream read by the real ``openai`` client and the CLI's
output hold the quotes and not the sentence. A chat server lost mid-answer ends the
stream with an error after the quotes; the kind of fallback is in every record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openai import APIError, OpenAI

from app.cli import main
from app.settings import Settings
from models.embedder import Embedder
from tests import docgen
from tests.fake_ollama import FakeModel, FakeOllama
from tests.http_setup import MODEL, api_docent, bearer, client, sse_events, token_for
from tests.indexed import indexed
from tests.scripted_chat import Script, scripted_settings

pytestmark = pytest.mark.slow
QUESTION = "How many days of annual leave does every employee receive?"
UNCHECKED = "Every employee receives 45 days of annual leave per year [1]."
TORN = "The handbook grants twenty-seven days of leave [1]."


@pytest.fixture
def scripted(tmp_path: Path, embedder: Embedder, scripted_chat: Script) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", answer_mode="model")
    docent = indexed(scripted_settings(settings), embedder, docgen.handbook_share(tmp_path))
    scripted_chat.enqueue(UNCHECKED)
    with client(docent) as http:
        http.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield http


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        yield server


@contextmanager
def _served(root: Path, embedder: Embedder, fake: FakeOllama, mode: str) -> Iterator[TestClient]:
    docent = api_docent(root, embedder, fake.url, answer_mode=mode, chat_retries=2)
    assert docent.ingest([docgen.handbook_share(root)], "docs").exit_code == 0
    with client(docent) as http:
        http.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield http


def _sse(http: TestClient) -> list[tuple[str, Any]]:
    body = {"question": QUESTION, "stream": True}
    response = http.post("/api/v1/collections/docs/ask", json=body)
    assert response.status_code == 200, response.text
    return [(name, json.loads(data)) for name, data in sse_events(response.text)]


def _openai(http: TestClient) -> OpenAI:
    token = http.headers["Authorization"].removeprefix("Bearer ")
    return OpenAI(base_url="http://testserver/v1", api_key=token, http_client=http, max_retries=0)


def _streamed(http: TestClient) -> tuple[str, list[Any], Exception | None]:
    """The content an OpenAI client appends, the chunks, and the error the stream ended with."""
    chunks: list[Any] = []
    messages = [{"role": "user", "content": QUESTION}]
    try:
        for chunk in _openai(http).chat.completions.create(
            model="docent:docs",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        ):
            chunks.append(chunk)
    except APIError as error:
        return _content(chunks), chunks, error
    return _content(chunks), chunks, None


def _content(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_rest_deltas_hold_the_quotes_not_the_rejected_sentence(scripted: TestClient) -> None:
    events = _sse(scripted)

    assert [name for name, _ in events] == ["delta", "answer"]
    deltas = "".join(data["text"] for name, data in events if name == "delta")
    assert "45 days" not in deltas and "27 days" in deltas
    record = events[-1][1]
    assert record["status"] == "answered" and record["made_by"] == "quotes"
    assert record["fallback_kind"] == "unverified" and "45 days" not in record["text"]


def test_openai_stream_holds_the_quotes_not_the_rejected_sentence(scripted: TestClient) -> None:
    content, chunks, error = _streamed(scripted)

    assert error is None
    assert "45 days" not in content
    assert "27 days" in content and "\n\nSources:\n[1] handbook.pdf, page 2:" in content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["docent"]["fallback_kind"] == "unverified"


def test_the_cli_prints_the_quotes_not_the_rejected_sentence(
    tmp_path: Path,
    embedder: Embedder,
    fake: FakeOllama,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    indexed(Settings(data_dir=data), embedder, docgen.handbook_share(tmp_path))
    fake.behaviour.answer = UNCHECKED
    for name, value in {
        "DATA_DIR": str(data),
        "CHAT_BACKEND": "ollama",
        "CHAT_MODEL": MODEL,
        "CHAT_BASE_URL": fake.url,
        "ANSWER_MODE": "model",
    }.items():
        monkeypatch.setenv(f"DOCENT_{name}", value)

    assert main(["ask", QUESTION, "-c", "docs"]) == 0
    out = capsys.readouterr().out
    assert "45 days" not in out and "27 days" in out
    assert "The model's answer is not shown: none of the model's sentences held" in out

    assert main(["ask", QUESTION, "-c", "docs", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["fallback_kind"] == "unverified" and record["fallback"]


def test_a_chat_server_lost_mid_answer_ends_each_stream_with_an_error_after_the_quotes(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> None:
    fake.behaviour.answer, fake.behaviour.drop_after = TORN, 2
    asked = len(fake.requests.bodies("/api/chat"))
    try:
        with _served(tmp_path, embedder, fake, "model") as http:
            events = _sse(http)
            content, chunks, error = _streamed(http)
    finally:
        fake.behaviour.drop_after = None

    # REST: the quotes, the record saying why, then the error.
    assert [name for name, _ in events] == ["delta", "answer", "error"]
    assert "27 days" in events[0][1]["text"] and "The handbook" not in events[0][1]["text"]
    record = events[1][1]
    assert record["fallback_kind"] == "failed" and record["status"] == "answered"
    assert record["made_by"] == "quotes" and "The handbook" not in record["text"]
    assert record["raw"].startswith("The"), "the model had begun when it was lost"
    assert "chat model failed" in events[2][1]["error"]["message"]
    # OpenAI: the quotes with their sources, then an error the openai client raises.
    assert "27 days" in content and "Sources:" in content and "The handbook" not in content
    assert (chunks[-1].model_extra or {})["docent"]["fallback_kind"] == "failed"
    assert error is not None and "chat model failed" in str(error)
    # A connection lost after tokens came is not retried: one request per question.
    assert len(fake.requests.bodies("/api/chat")) - asked == 2


def test_a_choose_that_fails_says_so_and_a_500_is_not_retried(
    tmp_path: Path, embedder: Embedder, fake: FakeOllama
) -> None:
    fake.behaviour.out_of_memory = True
    asked = len(fake.requests.bodies("/api/chat"))
    try:
        with _served(tmp_path, embedder, fake, "choose") as http:
            answered = http.post("/api/v1/collections/docs/ask", json={"question": QUESTION})
            events = _sse(http)
    finally:
        fake.behaviour.out_of_memory = False

    record = answered.json()
    assert record["fallback_kind"] == "failed" and record["fallback"].startswith("the model failed")
    assert "27 days" in record["text"]
    assert [name for name, _ in events] == ["delta", "answer", "error"]
    # The out-of-memory 500 fails the same way each time: asked once per question.
    assert len(fake.requests.bodies("/api/chat")) - asked == 2


def test_a_question_without_words_is_a_400_on_both_faces(scripted: TestClient) -> None:
    rest = scripted.post("/api/v1/collections/docs/ask", json={"question": " \n ", "stream": True})
    body = {"model": "docent:docs", "messages": [{"role": "user", "content": "  "}]}
    openai = scripted.post("/v1/chat/completions", json=body)

    assert rest.status_code == openai.status_code == 400, (rest.text, openai.text)


def test_usage_counts_what_the_model_read_and_wrote(
    scripted: TestClient, scripted_chat: Script
) -> None:
    reply = _openai(scripted).chat.completions.create(
        model="docent:docs",
        messages=[{"role": "user", "content": QUESTION}],  # type: ignore[list-item]
    )

    # The scripted backend counts as remote backends do (ChatBackend.count_tokens).
    def count(text: str) -> int:
        return math.ceil(len(text) / 3.5)

    [read] = scripted_chat.prompts
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == sum(count(str(m.content)) for m in read)
    assert reply.usage.completion_tokens == count(UNCHECKED)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
