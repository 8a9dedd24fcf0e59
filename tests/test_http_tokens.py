"""API tokens: `docent tokens` shows a token once, keeps only its hash, expires and revokes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.auth.accounts import Accounts
from app.auth.tokens import ApiTokens, TokenError
from app.http.errors import ApiError
from app.http.security import RateLimit
from tests.cli_run import run


@pytest.fixture(autouse=True)
def data_dir(data_dir: Path) -> Path:
    Accounts(data_dir / "users.json").add("alice", "correct horse")
    return data_dir


def test_a_token_is_shown_once_and_stored_only_as_a_hash(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    code, out, err = run(capsys, "tokens", "create", "alice", "--name", "portal", "--days", "7")
    secret = out.strip()

    # ``dct_<12 hex id>_<43 urlsafe characters>``: the secret may itself hold "_" or "-".
    shape = re.fullmatch(r"dct_([0-9a-f]{12})_([A-Za-z0-9_-]{43})", secret)
    assert code == 0 and shape is not None and "shown only now" in err
    stored = (data_dir / "tokens.json").read_text()
    assert shape[1] in stored, "the id names the token in the file"
    assert secret not in stored and shape[2] not in stored
    assert oct((data_dir / "tokens.json").stat().st_mode & 0o777) == "0o600"
    token = ApiTokens(data_dir / "tokens.json").verify(secret)
    assert token.user == "alice" and token.name == "portal"
    assert timedelta(days=6) < token.expires_at - datetime.now(UTC) <= timedelta(days=7)
    code, out, _ = run(capsys, "tokens", "list", "--json")
    assert [row["id"] for row in json.loads(out)] == [token.id] and secret not in out

    assert run(capsys, "tokens", "revoke", token.id)[0] == 0
    with pytest.raises(TokenError, match="not valid"):
        ApiTokens(data_dir / "tokens.json").verify(secret)
    assert "revoked" in run(capsys, "tokens", "list")[1]
    events = [json.loads(line)["event"] for line in (data_dir / "audit.jsonl").open()]
    assert events == ["token_create", "token_revoke"]


def test_tokens_for_unknown_users_or_ids_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tokens", "create", "mallory")
    assert code == 1 and "No user `mallory`" in err
    code, _, err = run(capsys, "tokens", "revoke", "000000000000")
    assert code == 1 and "No API token" in err and "docent tokens list" in err


def test_expired_and_forged_tokens_are_refused(tmp_path: Path) -> None:
    tokens = ApiTokens(tmp_path / "tokens.json")
    now = datetime.now(UTC)
    secret, token = tokens.create("alice", "x", timedelta(hours=1), now)

    assert tokens.verify(secret, now + timedelta(minutes=59)) == token
    for forged, when in [
        (secret, now + timedelta(hours=1)),
        (secret, now - timedelta(seconds=1)),
        (secret[:-2] + "AA", now),
        (secret.replace(token.id, "0" * 12), now),
        ("", now),
    ]:
        with pytest.raises(TokenError):
            tokens.verify(forged, when)


def test_the_rate_limit_refills_evenly() -> None:
    moment = [0.0]
    limit = RateLimit(60, clock=lambda: moment[0])
    for _ in range(60):
        limit.take("t")
    with pytest.raises(ApiError) as refused:
        limit.take("t")
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    moment[0] = 1.0
    limit.take("t")
    limit.take("other")
