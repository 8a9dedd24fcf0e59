"""Reading a collection and adding to it are separate grants, in every face.

The grant CLI, the Python API and the HTTP API run against a real data folder and a real
Chroma; the chat model behind the HTTP API is the fake Ollama at the HTTP edge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from app.api import Docent
from app.auth.access import AccessError, Grant, Grants
from app.auth.accounts import User
from app.auth.state import write_private_json
from app.cli import cli
from models.embedder import Embedder
from tests.fake_ollama import FakeModel, FakeOllama
from tests.http_setup import MODEL, api_docent, bearer, client, token_for

REFUSAL = "You may not add documents labelled ward to `ward`."


def test_a_grant_reads_only_unless_given_with_write(tmp_path: Path) -> None:
    grants = Grants(tmp_path / "grants.json")
    grants.grant("alice", "ward")
    grants.grant("@nurses", "ward", write=True)
    alice, nurse = User("alice"), User("bob", "user", ("nurses",))

    assert grants.allowed(alice, "ward") == ("ward",)
    assert grants.allowed(alice, "ward", write=True) == ()
    assert grants.allowed(nurse, "ward", write=True) == ("ward",)
    assert grants.allowed(User("root", "admin"), "ward", write=True) is None
    assert grants.readers("ward", ["ward"]) == ["@nurses", "alice"]
    # Granting the same label again replaces the grant: write is taken away, read stays.
    grants.grant("@nurses", "ward")
    assert grants.allowed(nurse, "ward", write=True) == ()
    assert grants.allowed(nurse, "ward") == ("ward",)
    assert len(grants.all()) == 2


def test_grants_from_before_the_split_keep_read_and_write(tmp_path: Path) -> None:
    path = tmp_path / "grants.json"
    write_private_json(path, {"version": 1, "grants": [["alice", "ward", "ward"]]})
    grants = Grants(path)

    assert grants.all() == [Grant("alice", "ward", "ward", write=True)]
    grants.grant("bob", "ward")  # saving writes version 2, and keeps alice's right to add
    assert json.loads(path.read_text())["version"] == 2
    assert grants.allowed(User("alice"), "ward", write=True) == ("ward",)
    assert grants.allowed(User("bob"), "ward", write=True) == ()


@pytest.mark.slow
def test_the_api_refuses_a_reader_and_lets_a_writer_add(docent: Docent, tmp_path: Path) -> None:
    docent.accounts.add("alice", "correct horse")
    docent.accounts.add("bob", "correct horse")
    docent.grant("alice", "ward")
    docent.grant("bob", "ward", write=True)
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "rota.md").write_text("# Rota\n\nThe night shift starts at nine.\n")
    alice, bob = User("alice"), User("bob")

    assert not docent.may_add("ward", user=alice)
    assert docent.may_add("ward", user=bob)
    with pytest.raises(AccessError, match="may not add") as refused:
        docent.check_upload("ward", user=alice)
    assert refused.value.message == REFUSAL
    with pytest.raises(AccessError, match="may not add"):
        docent.ingest([tmp_path / "files"], "ward", user=alice)
    assert docent.ingest([tmp_path / "files"], "ward", user=bob).exit_code == 0
    assert [d.source for d in docent.documents("ward", user=alice)] == ["rota.md"]
    assert docent.readers("ward") == ["alice", "bob"]
    granted = [r for r in docent.audit.export() if r["event"] == "grant"]
    assert [(r["principal"], r["write"]) for r in granted] == [("alice", False), ("bob", True)]


def test_the_cli_grants_read_only_by_default_and_write_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    made = runner.invoke(cli, ["users", "add", "alice", "--password-stdin"], input="pw pw pw 1\n")
    reads = runner.invoke(cli, ["grant", "alice", "ward"])
    writes = runner.invoke(cli, ["grant", "@nurses", "ward", "--write"])
    listed = runner.invoke(cli, ["grants"])
    as_json = runner.invoke(cli, ["grants", "--json"])

    assert made.exit_code == reads.exit_code == writes.exit_code == 0, reads.output
    assert "to read label `ward`" in reads.output
    assert "to read and add to label `ward`" in writes.output
    lines = {line.split()[0]: line.split()[-1] for line in listed.output.splitlines()[1:]}
    assert lines == {"@nurses": "add", "alice": "read"}
    assert {(g["principal"], g["write"]) for g in json.loads(as_json.output)} == {
        ("alice", False),
        ("@nurses", True),
    }


@pytest.fixture
def served(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Docent, TestClient]]:
    with FakeOllama([FakeModel(MODEL)]) as fake:
        docent = api_docent(tmp_path, embedder, fake.url, api_rate_per_minute=1000)
        with client(docent) as http:
            yield docent, http


@pytest.mark.slow
def test_the_http_api_refuses_an_upload_from_a_reader(
    served: tuple[Docent, TestClient],
) -> None:
    docent, http = served
    reader = bearer(token_for(docent, "alice"))
    writer = bearer(token_for(docent, "bob"))
    docent.grant("alice", "ward")
    docent.grant("bob", "ward", write=True)
    rota = b"# Rota\n\nThe night shift starts at nine.\n"
    files = [("files", ("rota.md", rota, "text/markdown"))]

    refused = http.post("/api/v1/collections/ward/documents", files=files, headers=reader)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"] == REFUSAL
    assert not (docent.settings.data_dir / "uploads" / "ward").exists()
    started = http.post("/api/v1/collections/ward/documents", files=files, headers=writer)
    assert started.status_code == 202, started.text


@pytest.mark.slow
def test_the_library_page_offers_upload_to_writers_and_says_who_will_see(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_ui_pages import account, page

    monkeypatch.setenv("DOCENT_COLLECTION", "ward")
    account("alice", "user")
    account("bob", "user")
    Grants(data_dir / "grants.json").grant("alice", "ward")
    Grants(data_dir / "grants.json").grant("@nurses", "ward", write=True)
    Grants(data_dir / "grants.json").grant("bob", "ward", write=True)

    reader = page("library", "alice", "user").run()
    writer = page("library", "bob", "user").run()

    assert not reader.exception and not writer.exception
    assert not reader.get("file_uploader")
    assert not any(b.label.startswith("Add to") for b in reader.button)
    assert any("ask your administrator" in c.value for c in reader.caption)
    assert writer.get("file_uploader")
    seen = "Files added to ward are seen by everyone in nurses, alice, bob and the administrators."
    assert seen in [c.value.replace("\\", "") for c in writer.caption]
