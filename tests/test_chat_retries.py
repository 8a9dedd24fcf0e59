"""The OpenAI-compatible backend retries only what may pass on a second try.

A chat server on loopback answers with the status codes a test sets, then with a streamed
completion in the OpenAI shape. A 500 that fails the same way each time is asked once; a
busy 503 or 429 is asked again, as for Ollama (test_chat_backends.py).
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
HI = [HumanMessage("Hi")]


class _Server:
    """Answers each chat request with the next of ``failures``, then with "Hello there."."""

    def __init__(self) -> None:
        self.failures: list[int] = []
        self.asked = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                """Keep the test output clean."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                server.asked += 1
                if server.failures:
                    status = server.failures.pop(0)
                    data = json.dumps({"error": {"message": f"failed with {status}"}}).encode()
                    self._send(status, "application/json", data)
                    return
                self._send(200, "text/event-stream", _completion("Hello there."))

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"


def _completion(text: str) -> bytes:
    chunks = [{"role": "assistant", "content": ""}, {"content": text}]
    lines = [
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        for delta in chunks
    ]
    body = "".join(f"data: {json.dumps(line)}\n\n" for line in lines) + "data: [DONE]\n\n"
    return body.encode()


@pytest.fixture
def server() -> Iterator[_Server]:
    fake = _Server()
    thread = Thread(target=fake.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.http.shutdown()
    fake.http.server_close()


def _backend(server: _Server) -> Any:
    config = ChatConfig(backend="openai", model="m", base_url=server.url, retries=2)
    backend = chat_backend(config)
    backend.backoff_seconds = 0.01
    return backend


def test_a_server_error_that_repeats_is_asked_once(server: _Server) -> None:
    server.failures = [500, 500, 500]

    with pytest.raises(ChatBackendError, match=r"failed \(HTTP 500\)"):
        list(_backend(server).stream(HI))
    assert server.asked == 1


@pytest.mark.parametrize("busy", [503, 429])
def test_a_busy_server_is_asked_again(server: _Server, busy: int) -> None:
    server.failures = [busy, busy]

    assert "".join(_backend(server).stream(HI)) == "Hello there."
    assert server.asked == 3
