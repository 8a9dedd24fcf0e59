"""A removed account's API tokens die with it: a later account of the same name is another
person, and no token made for the first acts as the second."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.auth.tokens import ApiTokens
from models.embedder import Embedder
from tests.http_setup import PASSWORD, api_docent, bearer, client, token_for

pytestmark = pytest.mark.slow


def test_a_removed_users_token_does_not_act_as_a_new_account_of_that_name(
    tmp_path: Path, embedder: Embedder
) -> None:
    docent = api_docent(tmp_path, embedder, "http://127.0.0.1:9")
    admin = docent.accounts.add("root", PASSWORD, role="admin")
    old = token_for(docent, "bob")
    with client(docent) as http:
        assert http.get("/api/v1/collections", headers=bearer(old)).status_code == 200

        docent.remove_user("bob", user=admin)
        docent.accounts.add("bob", PASSWORD, role="admin")  # another person, now an admin

        refused = http.get("/api/v1/collections", headers=bearer(old))
        assert refused.status_code == 401, refused.text
        tokens = ApiTokens(docent.settings.tokens_path()).tokens("bob")
        assert len(tokens) == 1 and tokens[0].revoked_at is not None
        # The removal's audit record names the revoked token.
        records = [json.loads(line) for line in docent.settings.audit_path().open()]
        removal = next(r for r in records if r["event"] == "user_rm")
        assert removal["tokens"] == [tokens[0].id]
        # A token made for the new account works.
        assert http.get("/api/v1/collections", headers=bearer(token_for(docent, "bob"))).is_success


def test_a_token_older_than_its_account_is_refused_even_if_never_revoked(
    tmp_path: Path, embedder: Embedder
) -> None:
    # As a tokens file kept from before removals revoked tokens: the row is still usable.
    docent = api_docent(tmp_path, embedder, "http://127.0.0.1:9")
    tokens = ApiTokens(docent.settings.tokens_path())
    old, _ = tokens.create("carol", "kept", timedelta(days=30))
    docent.accounts.add("carol", PASSWORD)
    with client(docent) as http:
        assert http.get("/api/v1/collections", headers=bearer(old)).status_code == 401
        fresh, _ = tokens.create("carol", "new", timedelta(days=30))
        assert http.get("/api/v1/collections", headers=bearer(fresh)).status_code == 200
