"""`choose` against a server that takes a schema only as ``json_object`` (llama.cpp's).

llama-cpp-python's OpenAI-compatible server refuses ``response_format: json_schema`` with
a 500 listing the types it takes, and holds the output to ``{"type": "json_object",
"schema": ...}``. The backend asks once more in that form and keeps asking so; a failure
that says nothing of the form is raised as it was, after one request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from models.chat import ChatBackendError, ChatConfig, chat_backend

pytestmark = pytest.mark.slow
PICK = [HumanMessage("Pick the sentences that answer.")]
SCHEMA = {"type": "object", "properties": {"sentences": {"type": "array"}}}
REFUSAL = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]"
)


class _LlamaServer:
    """Answers like llama-cpp-python's server: ``json_object`` only; or fails with ``failure``."""

    def __init__(self) -> None:
        self.formats: list[dict[str, Any]] = []
        self.failure = ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Keep the test output clean."""

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                form = body.get("response_format", {})
                server.formats.append(form)
                if server.failure or form.get("type") != "json_object":
                    message = server.failure or REFUSAL
                    error = {"error": {"message": message, "type": "internal_server_error"}}
                    self._send(500, "application/json", json.dumps(error).encode())
                    return
                self._send(200, "text/event-stream", _streamed('{"sentences": [1, 3]}'))

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"


def _streamed(text: str) -> bytes:
    line = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    return f"data: {json.dumps(line)}\n\ndata: [DONE]\n\n".encode()


@pytest.fixture
def server() -> Iterator[_LlamaServer]:
    fake = _LlamaServer()
    thread = Thread(target=fake.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.http.shutdown()
    fake.http.server_close()


def _backend(server: _LlamaServer) -> Any:
    return chat_backend(ChatConfig(backend="openai", model="m", base_url=server.url, retries=2))


def test_choose_asks_again_as_json_object_and_remembers(server: _LlamaServer) -> None:
    backend = _backend(server)

    first = backend.choose(PICK, SCHEMA)
    second = backend.choose(PICK, SCHEMA)

    assert json.loads(first) == json.loads(second) == {"sentences": [1, 3]}
    kinds = [form["type"] for form in server.formats]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert server.formats[1]["schema"] == SCHEMA == server.formats[0]["json_schema"]["schema"]


def test_a_failure_that_is_not_the_form_is_raised_after_one_request(
    server: _LlamaServer,
) -> None:
    server.failure = "the model ran out of memory"
    backend = _backend(server)

    with pytest.raises(ChatBackendError, match="out of memory"):
        backend.choose(PICK, SCHEMA)
    assert [form["type"] for form in server.formats] == ["json_schema"]
