"""A local HTTP server that speaks Ollama's API, so the real ``ollama`` client code runs.

Ollama cannot run in the test environment; this is the one fake the tests allow, at the
HTTP edge. Shapes follow Ollama's docs/api.md: ``GET /api/tags``, ``POST /api/show``,
``POST /api/chat`` (NDJSON stream over chunked HTTP/1.1, or one JSON object with
``"stream": false``) and ``POST /api/pull``; errors are ``{"error": "..."}`` with the
status codes Ollama uses. ``Behaviour`` makes it slow, busy, short of memory, or hang up.

A chat request's ``format`` (``"json"`` or a JSON schema) holds the answer to it as
Ollama's structured outputs do: a scripted answer the schema allows is sent as it is;
one it does not allow is replaced by the least the schema allows (the first permitted
value, the fewest items), as a grammar forces a model's output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUSY = "server busy, please try again.  maximum pending requests exceeded"
OUT_OF_MEMORY = "model requires more system memory (5.6 GiB) than is available (3.1 GiB)"


@dataclass
class Behaviour:
    """How the fake answers ``/api/chat``; change fields between requests.

    Attributes:
        answer: The assistant's text, streamed a word (with its leading space) at a time.
        delay_seconds: Wait before answering at all (to trip a client timeout).
        busy_times: Answer 503 "server busy" to this many chat requests first.
        out_of_memory: Answer 500 as Ollama does when the model does not fit in RAM.
        drop_after: Hang up after streaming this many chunks, mid-body.
        chunk_seconds: Pause between streamed chunks.
    """

    answer: str = "Paris is the capital of France."
    delay_seconds: float = 0.0
    busy_times: int = 0
    out_of_memory: bool = False
    drop_after: int | None = None
    chunk_seconds: float = 0.0


@dataclass
class FakeModel:
    """A model the fake has "pulled"."""

    name: str
    family: str = "qwen2"
    parameter_size: str = "1.5B"
    context_length: int = 32768
    size: int = 986_061_892
    digest: str = "65ec06548149" + "0" * 52


@dataclass
class Requests:
    """What the fake received: (method, path, JSON body) in order."""

    seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies sent to ``path``."""
        return [body for _, seen_path, body in self.seen if seen_path == path]


def tokens(text: str) -> list[str]:
    """Split text the way the fake streams it: words with their leading whitespace."""
    return re.findall(r"\s*\S+", text)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class FakeOllama:
    """Start with ``with FakeOllama([FakeModel("qwen2.5:1.5b")]) as server: server.url``."""

    def __init__(
        self, models: list[FakeModel] | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.models = {model.name: model for model in models or []}
        self.behaviour = Behaviour()
        self.requests = Requests()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, as ``OLLAMA_HOST`` / ``base_url`` take it."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def find(self, name: str) -> FakeModel | None:
        """The pulled model called ``name`` (``x`` means ``x:latest``)."""
        wanted = name if ":" in name else f"{name}:latest"
        return self.models.get(wanted) or self.models.get(name)

    def take_busy(self) -> bool:
        """Whether this chat request is one of the ``busy_times`` to refuse."""
        with self._lock:
            if self.behaviour.busy_times > 0:
                self.behaviour.busy_times -= 1
                return True
            return False


def _handler_for(server: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(_OllamaHandler):
        fake = server

    return Handler


class _OllamaHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 for chunked streaming, as Ollama's Go server does.
    protocol_version = "HTTP/1.1"
    fake: FakeOllama

    def log_message(self, *args: Any) -> None:
        """Keep the test output clean."""

    def do_GET(self) -> None:
        self.fake.requests.seen.append(("GET", self.path, {}))
        if self.path == "/api/tags":
            self._json(200, {"models": [_tag(model) for model in self.fake.models.values()]})
        elif self.path == "/api/version":
            self._json(200, {"version": "0.6.5"})
        elif self.path == "/":
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.fake.requests.seen.append(("POST", self.path, body))
        routes = {"/api/show": self._show, "/api/chat": self._chat, "/api/pull": self._pull}
        route = routes.get(self.path)
        if route is None:
            self._send(404, b"404 page not found", "text/plain")
            return
        # The client may hang up first (a timeout, a stopped stream): nothing left to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(body)

    def _show(self, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name", "")
        model = self.fake.find(name)
        if model is None:
            self._json(404, {"error": f"model '{name}' not found"})
            return
        arch = model.family
        self._json(
            200,
            {
                "modelfile": f'# Modelfile generated by "ollama show"\nFROM {model.name}\n',
                "parameters": 'stop "<|im_start|>"\nstop "<|im_end|>"',
                "template": "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n"
                "{{ end }}<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n",
                "details": _details(model),
                "model_info": {
                    "general.architecture": arch,
                    "general.parameter_count": 1_543_714_304,
                    f"{arch}.context_length": model.context_length,
                    f"{arch}.embedding_length": 1536,
                    "tokenizer.ggml.model": "gpt2",
                },
                "capabilities": ["completion", "tools"],
                "modified_at": _now(),
            },
        )

    def _chat(self, body: dict[str, Any]) -> None:
        behaviour = self.fake.behaviour
        if body.get("format"):
            behaviour = Behaviour(
                **{**behaviour.__dict__, "answer": _held(behaviour.answer, body["format"])}
            )
        time.sleep(behaviour.delay_seconds)
        name = body.get("model", "")
        model = self.fake.find(name)
        if model is None:
            self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
        elif self.fake.take_busy():
            self._json(503, {"error": BUSY})
        elif behaviour.out_of_memory:
            self._json(500, {"error": OUT_OF_MEMORY})
        elif body.get("stream", True):
            self._stream_chat(model, behaviour)
        else:
            final = _final(model, behaviour.answer)
            final["message"] = {"role": "assistant", "content": behaviour.answer}
            self._json(200, final)

    def _stream_chat(self, model: FakeModel, behaviour: Behaviour) -> None:
        self._start_stream()
        for count, piece in enumerate(tokens(behaviour.answer)):
            if behaviour.drop_after is not None and count >= behaviour.drop_after:
                self._hang_up()
                return
            message = {"role": "assistant", "content": piece}
            self._chunk(
                {"model": model.name, "created_at": _now(), "message": message, "done": False}
            )
            time.sleep(behaviour.chunk_seconds)
        self._chunk(_final(model, behaviour.answer))
        self._end_stream()

    def _pull(self, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name", "")
        model = FakeModel(name if ":" in name else f"{name}:latest")
        self._start_stream()
        self._chunk({"status": "pulling manifest"})
        for completed in (0, model.size // 2, model.size):
            status = f"pulling {model.digest[:12]}"
            self._chunk(
                {
                    "status": status,
                    "digest": f"sha256:{model.digest}",
                    "total": model.size,
                    "completed": completed,
                }
            )
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            self._chunk({"status": status})
        self._end_stream()
        self.fake.models[model.name] = model

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, payload: dict[str, Any]) -> None:
        line = json.dumps(payload).encode() + b"\n"
        self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _hang_up(self) -> None:
        # No terminating chunk: the client sees the body cut short, as when Ollama crashes.
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


def _details(model: FakeModel) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": model.family,
        "families": [model.family],
        "parameter_size": model.parameter_size,
        "quantization_level": "Q4_K_M",
    }


def _tag(model: FakeModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "model": model.name,
        "modified_at": _now(),
        "size": model.size,
        "digest": model.digest,
        "details": _details(model),
    }


def _final(model: FakeModel, answer: str) -> dict[str, Any]:
    count = len(tokens(answer))
    return {
        "model": model.name,
        "created_at": _now(),
        "message": {"role": "assistant", "content": ""},
        "done_reason": "stop",
        "done": True,
        "total_duration": 4_883_583_458,
        "load_duration": 1_334_875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342_546_000,
        "eval_count": count,
        "eval_duration": count * 20_000_000,
    }


def _held(answer: str, schema: str | dict[str, Any]) -> str:
    """The answer as a model held to ``schema`` could write it."""
    import jsonschema  # here, not at the top: the install test's container has no jsonschema

    try:
        value = json.loads(answer)
    except ValueError:
        value = None
    if schema == "json":
        return answer if value is not None else "{}"
    assert isinstance(schema, dict)
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError:
        return json.dumps(_least(schema))
    return answer


def _least(schema: dict[str, Any]) -> Any:
    """The smallest instance of the schema's subset Ollama's grammars cover."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: _least(properties[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [_least(schema.get("items", {}))] * schema.get("minItems", 0)
    return {"string": "", "integer": schema.get("minimum", 0), "number": 0, "boolean": False}.get(
        str(kind)
    )


def main() -> None:
    """Serve until killed: the Ollama stand-in of the install test's stack (in a container).

    Only the standard library, so it runs in any Python image:
    ``python fake_ollama.py --host 0.0.0.0 --port 11434 --model qwen2.5:1.5b``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--model", action="append", default=[], help="a pulled model's name")
    args = parser.parse_args()
    with FakeOllama([FakeModel(name) for name in args.model], args.host, args.port) as server:
        print(f"fake Ollama on {server.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
