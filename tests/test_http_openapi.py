"""The OpenAPI document says what the server does, and errors tell clients nothing internal.

The document declares the Bearer scheme, the error responses with their body, the event
streams, the binary downloads and the collection-name rule; ``schemathesis run --checks
all`` against a running server finds nothing (bounded examples). A 405 names the allowed
methods; a lock error tells the client the index is busy, and the server log the rest.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from tests.http_server import running
from tests.http_setup import bearer, client, token_for
from tests.scripted_chat import Script, scripted_settings

pytestmark = pytest.mark.slow
ERRORS = {"400", "401", "403", "404", "413", "422", "429", "503"}


@pytest.fixture
def docent(tmp_path: Path, embedder: Embedder, scripted_chat: Script) -> Docent:
    # No route here should reach the model: the empty script fails the test if one does.
    # Bodies up to the schema's bounds pass the size guard (413 has its own test).
    settings = Settings(
        data_dir=tmp_path / "data", api_rate_per_minute=100_000, api_max_body_kb=8192
    )
    return Docent(scripted_settings(settings), embedder=embedder)


@pytest.fixture
def http(docent: Docent) -> Iterator[TestClient]:
    with client(docent) as served:
        served.headers.update(bearer(token_for(docent, "root", admin=True)))
        yield served


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_the_document_says_what_the_server_does(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    error = {"$ref": "#/components/schemas/ErrorBody"}

    assert schemes == {
        "Bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["Bearer"]["description"],
        }
    }
    for path, method, operation in _operations(spec):
        where = f"{method} {path}"
        assert operation["security"] == [{"Bearer": []}], where
        responses = operation["responses"]
        assert set(responses) >= ERRORS, where
        for status in ERRORS:
            assert responses[status]["content"] == {"application/json": {"schema": error}}, where
        assert "HTTPValidationError" not in str(responses), where
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "name":
                assert parameter["schema"]["pattern"] == "^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$"
    assert spec["paths"]["/api/v1/jobs"]["get"]["responses"]["429"]["headers"]["Retry-After"]
    assert spec["paths"]["/api/v1/collections"]["post"]["responses"]["409"]


def test_streams_and_files_are_declared_as_they_are_sent(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    document = "/api/v1/collections/{name}/documents/{source}"

    def ok(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"]["200"]["content"])

    assert ok("/api/v1/collections/{name}/ask", "post") == {"application/json", "text/event-stream"}
    assert ok("/api/v1/collections/{name}/summarize", "post") >= {"text/event-stream"}
    assert ok("/v1/chat/completions", "post") == {"application/json", "text/event-stream"}
    assert ok("/api/v1/jobs/{job_id}/events", "get") == {"text/event-stream"}
    assert ok(f"{document}/original", "get") == {"application/octet-stream"}
    assert ok(f"{document}/pages/{{page}}", "get") == {"application/pdf"}


def test_a_wrong_method_is_a_405_naming_the_methods_of_the_path(http: TestClient) -> None:
    collections = http.request("PUT", "/api/v1/collections")
    original = http.request("POST", "/api/v1/collections/legal/documents/a/b.pdf/original")

    assert collections.status_code == 405 and collections.headers["Allow"] == "GET, POST"
    assert collections.json()["error"]["code"] == 405
    # A document's name may hold slashes, yet `.../original` is the original's path.
    assert original.status_code == 405 and original.headers["Allow"] == "GET"


def test_an_upload_with_nothing_to_add_is_a_400_with_each_reason(http: TestClient) -> None:
    http.post("/api/v1/collections", json={"name": "legal"})
    files = [("files", ("run.exe", b"MZ", "application/octet-stream"))]

    refused = http.post("/api/v1/collections/legal/documents", files=files)

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "`run.exe`: unsupported file type .exe" in error["message"] and ".pdf" in error["hint"]
    assert http.get("/api/v1/jobs").json() == []


def test_a_lock_error_tells_the_client_no_path_or_process_id(
    http: TestClient, docent: Docent, caplog: pytest.LogCaptureFixture
) -> None:
    index = str(docent.settings.index_config().path)
    with caplog.at_level(logging.WARNING, "docent.http"), docent.index.writer_lock():
        refused = http.post("/api/v1/collections", json={"name": "legal"})

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["message"] == "The index is busy: another task is writing to it."
    assert index not in refused.text and "PID" not in refused.text
    assert str(os.getpid()) not in error["message"] + error["hint"]
    assert index in caplog.text and f"PID {os.getpid()}" in caplog.text


# A file's type is its name's extension, which a multipart schema cannot say: a schema-valid
# upload of files none of which can be added is a 400 that names each file's reason.
UPLOADS = """
[[operations]]
include-path = "/api/v1/collections/{name}/documents"
include-method = "POST"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2XX", "400", "401", "403", "404", "409", "429"]
"""


def test_schemathesis_finds_nothing_against_a_running_server(
    docent: Docent, tmp_path: Path
) -> None:
    pytest.importorskip("schemathesis", reason="in the dev extra: pip install -e '.[dev]'")
    token = token_for(docent, "root", admin=True)
    runner = Path(sys.executable).parent / "schemathesis"
    config = tmp_path / "schemathesis.toml"
    config.write_text(UPLOADS)
    with running(docent) as url:
        command = [str(runner), "--config-file", str(config), "run", f"{url}/openapi.json"]
        command += ["--checks", "all", "--no-color"]
        bounded = ["--max-examples", "5", "--seed", "1", "--phases", "examples,coverage,fuzzing"]
        run = subprocess.run(
            [*command, *bounded, "-H", f"Authorization: Bearer {token}"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,  # its cache folder goes there, not into the checkout
        )

    report = run.stdout
    failures = report[report.find("FAILURES") :] if "FAILURES" in report else report[-3000:]
    assert run.returncode == 0, failures[:6000]
    assert "generated" in report and " passed" in report[-1500:], report[-1500:]
