"""A real ``chroma run`` server on loopback, and the token check the compose file puts before it.

Chroma's open-source 1.x server (Rust) has no authentication of its own: the
``CHROMA_SERVER_AUTHN_*`` settings of the 0.x Python server are ignored. The compose file
therefore puts an nginx proxy in front of it that checks ``Authorization: Bearer``;
``TokenProxy`` is the same check, so the tests exercise Docent against a real server
through a real auth edge.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMA = Path(sys.executable).with_name("chroma")
# Headers that describe one hop, not the message; the proxy sets its own.
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator[int]:
    """Run ``chroma run`` on a free loopback port until the block ends; yield the port."""
    port = free_port()
    log = (path.parent / f"{path.name}.log").open("wb")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_heartbeat(port, process, timeout)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for_heartbeat(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until the server answers ``/api/v2/heartbeat``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        with suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError(f"chroma run did not answer on port {port} within {timeout}s")


class TokenProxy:
    """A loopback reverse proxy that lets through only requests bearing the token.

    Refusals carry Chroma's own error body (``AuthorizationError``, status 401), as the
    compose file's nginx does, so the client raises what it would against a real edge.
    """

    def __init__(self, upstream_port: int, token: str) -> None:
        self.upstream_port = upstream_port
        self.token = token
        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TokenProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the tests read results, not access logs."""

            def _forward(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {proxy.token}":
                    body = json.dumps(
                        {"error": "AuthorizationError", "message": "missing or wrong token"}
                    ).encode()
                    self._reply(401, [("Content-Type", "application/json")], body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    upstream.request(self.command, self.path, body=payload, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
                    self._reply(response.status, kept, data)
                finally:
                    upstream.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        return Handler
