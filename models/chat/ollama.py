"""The Ollama chat backend: ``langchain_ollama.ChatOllama`` over Ollama's HTTP API.

Preflight asks the server what it has (``GET /api/tags``) and how long a context the model
takes (``POST /api/show``); answers stream from ``POST /api/chat`` as NDJSON. The ``ollama``
client raises its own exceptions and bare ``httpx`` ones mid-stream; ``_translate`` turns
each into an error whose hint says what to run or which setting to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import ollama
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_ollama import ChatOllama

from models.catalog import DEFAULT_OLLAMA_MODEL, smaller_than
from models.chat.base import (
    ChatBackendError,
    ChatBusyError,
    ChatConfig,
    ChatMemoryError,
    ChatModelMissingError,
    ChatTimeoutError,
    ChatUnreachableError,
    setting,
)
from models.chat.server import BROKEN, ServerBackend
from models.errors import DocentError

DEFAULT_URL = "http://127.0.0.1:11434"


class OllamaBackend(ServerBackend):
    """A model served by Ollama (``ollama serve`` or the ``ollama/ollama`` container)."""

    kind = "ollama"
    default_url = DEFAULT_URL
    default_model = DEFAULT_OLLAMA_MODEL

    def __init__(self, config: ChatConfig, *, backoff_seconds: float = 0.5) -> None:
        super().__init__(config, backoff_seconds=backoff_seconds)
        self.model_context: int | None = None

    def preflight(self) -> None:
        """Check that Ollama answers, has the model, and that the context setting fits it.

        Raises:
            ChatUnreachableError: Nothing answers at the URL.
            ChatModelMissingError: The model is not pulled.
            ChatBackendError: ``context_tokens`` exceeds what the model was trained for.
        """
        super().preflight()

    def describe(self) -> dict[str, str]:
        """Backend, model, server URL and the outcome of the last preflight."""
        facts = super().describe()
        if self.model_context is not None:
            facts["state"] += f" (model context {self.model_context} tokens)"
        return facts

    def _check(self) -> None:
        client = ollama.Client(host=self.base_url, timeout=self.config.timeout_seconds)
        try:
            pulled = [entry.model for entry in client.list().models if entry.model]
            if not any(_same_model(name, self.model_name) for name in pulled):
                raise self._missing()
            self.model_context = _context_length(client.show(self.model_name).modelinfo or {})
        except DocentError:
            raise
        except Exception as error:
            self._raise_translated(error)
        finally:
            client.close()
        if self.model_context and self.config.context_tokens > self.model_context:
            raise ChatBackendError(
                f"`{self.model_name}` reads at most {self.model_context} tokens, but "
                f"{setting('context_tokens')} is {self.config.context_tokens}.",
                hint=f"set {setting('context_tokens')}={self.model_context} or lower",
            )

    def _client_model(self) -> BaseChatModel:
        return ChatOllama(
            model=self.model_name,
            base_url=self.base_url,
            keep_alive=self.config.keep_alive,
            # Ollama's own default window is small and it silently cuts a longer prompt.
            num_ctx=self.config.context_tokens,
            num_predict=self.config.max_answer_tokens,
            temperature=self.config.temperature,
            client_kwargs={"timeout": self.config.timeout_seconds},
        )

    def _constrained(self, schema: dict[str, Any]) -> dict[str, Any]:
        # Ollama's structured outputs: ``format`` takes a JSON schema.
        return {"format": schema}

    def _retryable(self, error: Exception) -> bool:
        busy = isinstance(error, ollama.ResponseError) and error.status_code == 503
        return busy or isinstance(error, BROKEN)

    def _translate(self, error: Exception) -> DocentError | None:
        if isinstance(error, ollama.ResponseError):
            return self._response_error(error)
        if isinstance(error, httpx.TimeoutException):
            return ChatTimeoutError(
                f"Ollama at {self.base_url} did not answer within "
                f"{self.config.timeout_seconds:g} s.",
                hint=f"raise {setting('timeout_seconds')}, or use a smaller model",
            )
        if isinstance(error, BROKEN):
            return ChatBackendError(
                f"The connection to Ollama at {self.base_url} broke off before the answer "
                "was complete.",
                hint="check that Ollama is still running (`ollama ps`) and ask again",
            )
        # The client raises a bare ConnectionError for a refused connection, except while
        # opening a stream, where httpx's own ConnectError comes through.
        if isinstance(error, ConnectionError | httpx.ConnectError):
            return ChatUnreachableError(
                f"Cannot reach Ollama at {self.base_url}.",
                hint=f"start it with `ollama serve`, or set {setting('base_url')}",
            )
        return None

    def _response_error(self, error: ollama.ResponseError) -> ChatBackendError:
        text = str(error.error)
        lowered = text.lower()
        if "not found" in lowered and self.model_name in text:
            return self._missing()
        if error.status_code == 404:
            return ChatUnreachableError(
                f"No Ollama API at {self.base_url} ({text}).",
                hint=f"check {setting('base_url')}: Ollama listens on port 11434, without /v1",
            )
        if "memory" in lowered:
            lighter = smaller_than(self.model_name)
            return ChatMemoryError(
                f"Ollama has not enough memory for `{self.model_name}`: {text}.",
                hint=f"use a smaller model (see `docent models`), e.g. `ollama pull "
                f"{lighter.tag}` and {setting('model')}={lighter.tag}",
            )
        if error.status_code == 503:
            return ChatBusyError(
                f"Ollama at {self.base_url} is busy ({text}); it still was after "
                f"{self.config.retries} retries.",
                hint="ask again in a moment, or raise OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE "
                "on the Ollama server",
            )
        status = f"HTTP {error.status_code}" if error.status_code > 0 else "during the answer"
        return ChatBackendError(
            f"Ollama failed on `{self.model_name}` ({status}): {text}.",
            hint="see the Ollama server log (`docker compose logs ollama` or "
            "`journalctl -u ollama`)",
        )

    def _missing(self) -> ChatModelMissingError:
        return ChatModelMissingError(
            f"Model `{self.model_name}` not found in Ollama at {self.base_url}.",
            hint=f"ollama pull {self.model_name}",
        )


def _same_model(pulled: str, wanted: str) -> bool:
    """Whether two Ollama names are the same model (``x`` is ``x:latest``)."""
    return pulled.removesuffix(":latest") == wanted.removesuffix(":latest")


def _context_length(model_info: Mapping[str, Any]) -> int | None:
    """The trained context from ``/api/show``'s ``model_info`` (``<arch>.context_length``)."""
    for key, value in model_info.items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None
