"""A Docent behind the HTTP API for tests: accounts, tokens, and a client per user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app.api import Docent
from app.auth.tokens import ApiTokens
from app.http.server import create_app
from app.settings import Settings
from models.embedder import Embedder

MODEL = "qwen2.5:1.5b"
PASSWORD = "correct horse"


def api_docent(root: Path, embedder: Embedder, chat_url: str, **settings: object) -> Docent:
    """A Docent on a fresh data folder, answering through the (fake) Ollama at ``chat_url``."""
    config = Settings(
        data_dir=root / "data",
        chat_backend="ollama",
        chat_model=MODEL,
        chat_base_url=chat_url,
        **settings,  # type: ignore[arg-type]
    )
    return Docent(config, embedder=embedder)


def token_for(
    docent: Docent, name: str, *, admin: bool = False, groups: tuple[str, ...] = ()
) -> str:
    """A new account ``name`` (if missing) and a fresh API token for it."""
    if name not in {u.name for u in docent.accounts.users()}:
        role = "admin" if admin else "user"
        docent.accounts.add(name, PASSWORD, role=role, groups=groups)
    tokens = ApiTokens(docent.settings.tokens_path())
    return tokens.create(name, "tests", timedelta(days=1))[0]


@contextmanager
def client(docent: Docent) -> Iterator[TestClient]:
    """A TestClient over the real application (errors come back as responses)."""
    with TestClient(create_app(docent), raise_server_exceptions=False) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def sse_events(text: str) -> list[tuple[str, str]]:
    """The (event, data) pairs of a Server-Sent Events body."""
    pairs = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        pairs.append((fields.get("event", "message"), fields.get("data", "")))
    return pairs
