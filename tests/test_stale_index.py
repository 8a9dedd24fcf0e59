"""A running server keeps answering when another process writes to its collection.

The nightly re-sync runs as its own `docent ingest` beside a running `docent serve`. An
embedded Chroma client keeps a collection's vector index in memory, so until the server
reopened it, every question in that collection failed with a 500 ("Error finding id"):
the BM25 index, a file both processes read, named chunks the server's client did not
know. Here the ingest is a real second process, and the server is the real application.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.embedder import Embedder
from tests.http_setup import api_docent, bearer, client, token_for

pytestmark = pytest.mark.slow


def ask(http: object, token: str, question: str) -> dict[str, object]:
    reply = http.post(  # type: ignore[attr-defined]
        "/api/v1/collections/staff/ask", json={"question": question}, headers=bearer(token)
    )
    assert reply.status_code == 200, reply.text
    data: dict[str, object] = reply.json()
    return data


def test_the_server_answers_from_what_another_process_ingested(
    tmp_path: Path, embedder: Embedder
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "parking.md").write_text(
        "# Parking\n\nThe staff car park opens at 06:30 every weekday.\n", encoding="utf-8"
    )
    docent = api_docent(tmp_path, embedder, "http://127.0.0.1:9", api_rate_per_minute=1000)
    assert docent.ingest([share], "staff").exit_code == 0
    token = token_for(docent, "root", admin=True)
    with client(docent) as http:
        assert "06:30" in str(ask(http, token, "When does the car park open?")["text"])

        (share / "bicycles.md").write_text(
            "# Bicycles\n\nRacks for bicycles are behind building C, next to the loading bay.\n",
            encoding="utf-8",
        )
        env = os.environ | {"DOCENT_DATA_DIR": str(docent.settings.data_dir)}
        ingest = [sys.executable, "-m", "app.cli", "ingest", str(share), "-c", "staff"]
        done = subprocess.run(ingest, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr

        racks = ask(http, token, "Where are the bicycle racks?")
        assert "building C" in str(racks["text"]), racks
        # What was there before is still answered, by the same server.
        assert "06:30" in str(ask(http, token, "When does the car park open?")["text"])
