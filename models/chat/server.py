"""What the two server backends (Ollama, OpenAI-compatible) share: the server's URL, the
outcome of the last preflight, and the errors of a connection that breaks off."""

from __future__ import annotations

from abc import abstractmethod

import httpx

from models.chat.base import ChatBackend, ChatConfig
from models.errors import DocentError

# A connection that breaks (a server restarting, a proxy hanging up) surfaces as one of these.
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, ConnectionResetError)


class ServerBackend(ChatBackend):
    """A chat model behind an HTTP server, named ``<kind>:<model>``.

    Attributes:
        model_name: The model the server is asked for.
        base_url: The server's URL, without a trailing slash.
    """

    kind: str
    default_url: str
    default_model = ""

    def __init__(self, config: ChatConfig, *, backoff_seconds: float = 0.5) -> None:
        super().__init__(config, backoff_seconds=backoff_seconds)
        self.model_name = config.model or self.default_model
        self.base_url = (config.base_url or self.default_url).rstrip("/")
        self.name = f"{self.kind}:{self.model_name}"
        self._state = "not checked"

    def preflight(self) -> None:
        """Check the server and the model (``_check``), remembering the outcome for status.

        Raises:
            DocentError: What is wrong, with a hint that names the fix.
        """
        try:
            self._check()
        except DocentError as error:
            self._state = error.message
            raise
        self._state = "ready"

    def describe(self) -> dict[str, str]:
        """Backend, model, server URL and the outcome of the last preflight."""
        return {
            "backend": self.kind,
            "model": self.model_name,
            "where": self.base_url,
            "state": self._state,
        }

    @abstractmethod
    def _check(self) -> None:
        """Ask the server whether it answers and has the model; raise ``DocentError`` if not."""
