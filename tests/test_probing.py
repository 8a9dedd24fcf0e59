"""A user without a grant cannot tell an existing collection from a missing one: every
operation answers both with the same error class, words, hint and HTTP status."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.api import Docent
from app.auth.accounts import User
from app.http.errors import status_of
from models.errors import DocentError
from tests.http_setup import bearer, client, token_for

ALICE = User("alice", "user", ())

OPERATIONS: dict[str, Callable[[Docent, str], Any]] = {
    "documents": lambda d, c: d.documents(c, user=ALICE),
    "ask": lambda d, c: d.ask(c, "How many days of leave?", user=ALICE),
    "summarize": lambda d, c: d.summarize(c, "leave.md", user=ALICE),
    "original": lambda d, c: d.document_file(c, "leave.md", user=ALICE),
    "upload": lambda d, c: d.check_upload(c, user=ALICE),
    "ingest": lambda d, c: d.ingest([], c, user=ALICE),
}


@pytest.fixture
def library(tmp_path: Path, docent: Docent) -> Docent:
    share = tmp_path / "share"
    share.mkdir()
    (share / "leave.md").write_text("# Leave\n\nLeave is 25 days a year.\n", encoding="utf-8")
    docent.ingest([share], "lib")
    docent.grants.grant("alice", "other")
    return docent


def _refusal(docent: Docent, operation: str, collection: str) -> tuple[str, str, str, int]:
    with pytest.raises(DocentError) as caught:
        OPERATIONS[operation](docent, collection)
    error = caught.value
    words = error.message.replace(collection, "NAME")
    return type(error).__name__, words, error.hint.replace(collection, "NAME"), status_of(error)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_ungranted_collection_answers_like_a_missing_one(
    library: Docent, operation: str
) -> None:
    assert _refusal(library, operation, "lib") == _refusal(library, operation, "nope")


def test_the_http_api_answers_both_alike(library: Docent) -> None:
    token = bearer(token_for(library, "alice"))
    with client(library) as http:
        for path in ("/documents", "/documents/leave.md/original"):
            seen = [
                http.get(f"/api/v1/collections/{c}{path}", headers=token) for c in ("lib", "nope")
            ]
            assert seen[0].status_code == seen[1].status_code == 404, path
            bodies = [r.text.replace(c, "NAME") for r, c in zip(seen, ("lib", "nope"), strict=True)]
            assert bodies[0] == bodies[1], path
        asks = [
            http.post(f"/api/v1/collections/{c}/ask", json={"question": "leave?"}, headers=token)
            for c in ("lib", "nope")
        ]
        assert asks[0].json()["error"] == asks[1].json()["error"] | {
            "message": "Collection `lib` does not exist."
        }
