"""Where the index lives, and reaching a Chroma server (chromadb imported on connection)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import DocentError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


class IndexUnreachableError(DocentError):
    """The Chroma server does not answer, or refuses Docent's token."""


@dataclass(frozen=True)
class IndexConfig:
    """Where the index lives.

    Attributes:
        path: Folder of the embedded Chroma store; with a server, the local folder that
            holds the BM25 index and the writer lock of that server's collections (every
            Docent process writing to the server must share it).
        host: Chroma server host; empty means the embedded store in ``path``.
        port: Chroma server port.
        token: Sent as ``Authorization: Bearer``; checked by the proxy in front of Chroma.
        ssl: Whether the server speaks HTTPS.
    """

    path: Path = Path("data/index")
    host: str = ""
    port: int = 8000
    token: str = ""
    ssl: bool = False

    @property
    def url(self) -> str:
        """The server's URL (empty for the embedded store)."""
        if not self.host:
            return ""
        return f"{'https' if self.ssl else 'http'}://{self.host}:{self.port}"


def connect_server(config: IndexConfig) -> ClientAPI:
    """Open an ``HttpClient`` on the configured Chroma server and check that it answers.

    Raises:
        IndexUnreachableError: Nothing answers, or the server refuses the token.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import AuthorizationError

    headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
    try:
        # The client asks the server for its tenant here, so a dead server or a wrong
        # token fails now, with our message, rather than on the first query.
        return chromadb.HttpClient(
            host=config.host,
            port=config.port,
            ssl=config.ssl,
            headers=headers,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except AuthorizationError:
        raise IndexUnreachableError(
            f"The Chroma server at {config.url} refused Docent's token.",
            hint="set DOCENT_INDEX_TOKEN (the `index_token` setting) to the token the "
            "server's auth proxy expects (with docker compose: the one in .env)",
        ) from None
    except Exception as error:  # httpx and Chroma raise several kinds for a dead server
        raise IndexUnreachableError(
            f"Cannot reach the Chroma server at {config.url}: {error}",
            hint="start it (`docker compose up -d chroma chroma-auth`) or fix the "
            "`index_host`, `index_port` and `index_ssl` settings",
        ) from None
