"""Two CLI answers that said something else: a token of 0 days, the backend's state twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.auth.accounts import Accounts
from app.auth.tokens import ApiTokens
from tests.cli_run import run


def test_a_token_of_zero_days_is_refused_not_made_for_ninety(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    Accounts(data_dir / "users.json").add("alice", "correct horse")

    code, out, err = run(capsys, "tokens", "create", "alice", "--days", "0")

    assert code != 0 and out == "" and "--days" in err and "x>=1" in err
    assert ApiTokens(data_dir / "tokens.json").tokens() == []


def test_models_says_the_openai_backend_s_state_once(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 9 of loopback: the preflight fails at once.
    monkeypatch.setenv("DOCENT_CHAT_BACKEND", "openai")
    monkeypatch.setenv("DOCENT_CHAT_MODEL", "qwen2.5-1.5b-instruct")
    monkeypatch.setenv("DOCENT_CHAT_BASE_URL", "http://127.0.0.1:9/v1")

    code, out, _ = run(capsys, "models")

    assert code == 0
    assert "Configured: backend: openai, model: qwen2.5-1.5b-instruct, where: " in out
    assert out.count("Cannot reach the OpenAI-compatible server") == 1
    assert "  state: Cannot reach the OpenAI-compatible server" in out
