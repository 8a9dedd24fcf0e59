"""The OpenAI-compatible chat backend: vLLM, the llama.cpp server, LM Studio, on premises.

``langchain_openai.ChatOpenAI`` does the talking. Its ``openai`` client would retry every
5xx, also a 500 that fails the same way each time, so it does not retry: ``GuardedChatModel``
retries what may pass on a second try (a busy server's 429 or 503, a connection reset
before the first token), as for Ollama. ``choose`` holds the output to a schema with
``response_format: json_schema``; a server that takes a schema only as ``json_object``
(llama-cpp-python's) is asked once more in that form, and so from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from models.chat.base import (
    ChatBackendError,
    ChatBusyError,
    ChatModelMissingError,
    ChatTimeoutError,
    ChatUnreachableError,
    setting,
)
from models.chat.server import BROKEN, ServerBackend
from models.errors import DocentError

DEFAULT_URL = "http://127.0.0.1:8000/v1"


class OpenAIBackend(ServerBackend):
    """A model behind an OpenAI-compatible ``/v1`` API on the local network."""

    kind = "openai"
    default_url = DEFAULT_URL
    # Whether this server takes a schema only as `json_object` (learned on the first refusal).
    _json_object_only = False

    def preflight(self) -> None:
        """Check that the server answers ``GET /models`` and lists the model.

        Raises:
            ChatUnreachableError: Nothing answers at the URL.
            ChatModelMissingError: The server does not list the model.
        """
        super().preflight()

    def _check(self) -> None:
        served = self._served_models()
        if self.model_name not in served:
            raise self._missing(served)

    def _served_models(self) -> list[str]:
        # No retries: a preflight should say at once that nothing answers.
        client = openai.OpenAI(
            base_url=self.base_url,
            api_key=self.config.api_key or "not-needed",
            timeout=self.config.timeout_seconds,
            max_retries=0,
        )
        try:
            return [model.id for model in client.models.list()]
        except openai.OpenAIError as error:
            self._raise_translated(error)
        finally:
            client.close()

    def _client_model(self) -> BaseChatModel:
        return ChatOpenAI(
            model=self.model_name,
            base_url=self.base_url,
            api_key=SecretStr(self.config.api_key or "not-needed"),
            timeout=self.config.timeout_seconds,
            max_retries=0,
            streaming=True,
            temperature=self.config.temperature,
            max_completion_tokens=self.config.max_answer_tokens,
            # The llama.cpp server ignores max_completion_tokens and reads only max_tokens.
            extra_body={"max_tokens": self.config.max_answer_tokens},
        )

    def choose(self, messages: Sequence[BaseMessage], schema: dict[str, Any]) -> str:
        """The answer held to ``schema``: as ``json_schema``, or as ``json_object`` with
        the schema for a server that takes only that (llama-cpp-python's), remembered once
        it refused the first form.

        Raises:
            DocentError: The backend failed, or refused both forms.
        """
        try:
            return super().choose(messages, schema)
        except ChatBackendError as error:
            if self._json_object_only or not _form_refused(error):
                raise
        self._json_object_only = True
        return super().choose(messages, schema)

    def _constrained(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._json_object_only:
            return {"response_format": {"type": "json_object", "schema": schema}}
        choice = {"name": "choice", "schema": schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": choice}}

    def _retryable(self, error: Exception) -> bool:
        if isinstance(error, openai.APIStatusError):
            return error.status_code in (429, 503)
        return _broken(error)

    def _translate(self, error: Exception) -> DocentError | None:
        if isinstance(error, openai.APITimeoutError | httpx.TimeoutException):
            return ChatTimeoutError(
                f"The chat server at {self.base_url} did not answer within "
                f"{self.config.timeout_seconds:g} s.",
                hint=f"raise {setting('timeout_seconds')}, or use a smaller model",
            )
        if _broken(error):
            return ChatBackendError(
                f"The connection to {self.base_url} broke off before the answer was complete.",
                hint="check that the chat server is still running and ask again",
            )
        if isinstance(error, openai.APIConnectionError | httpx.ConnectError):
            return ChatUnreachableError(
                f"Cannot reach the OpenAI-compatible server at {self.base_url}.",
                hint="start it (e.g. `python -m models.llama_server --model FILE.gguf` or "
                f"`vllm serve MODEL`), or set {setting('base_url')}",
            )
        if isinstance(error, openai.APIStatusError):
            return self._status_error(error)
        return None

    def _status_error(self, error: openai.APIStatusError) -> ChatBackendError:
        if isinstance(error, openai.NotFoundError):
            return self._missing([])
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return ChatBackendError(
                f"The chat server at {self.base_url} refused the API key.",
                hint=f"set {setting('api_key')}",
            )
        if error.status_code in (429, 503):
            return ChatBusyError(
                f"The chat server at {self.base_url} is busy (HTTP {error.status_code}); it "
                f"still was after {self.config.retries} retries.",
                hint="ask again in a moment",
            )
        return ChatBackendError(
            f"The chat server at {self.base_url} failed (HTTP {error.status_code}): "
            f"{error.message}",
            hint="see the chat server's log",
        )

    def _missing(self, served: list[str]) -> ChatModelMissingError:
        listed = ", ".join(f"`{name}`" for name in served) or f"GET {self.base_url}/models"
        return ChatModelMissingError(
            f"Model `{self.model_name}` not found on the chat server at {self.base_url}.",
            hint=f"set {setting('model')} to one it serves: {listed}",
        )


def _form_refused(error: ChatBackendError) -> bool:
    """Whether the server refused the ``json_schema`` form of ``response_format``.

    llama-cpp-python's server answers it with a 500 whose message lists the types it
    takes ("Input should be 'text' or 'json_object'").
    """
    cause = error.__cause__
    if not isinstance(cause, openai.APIStatusError) or cause.status_code in (429, 503):
        return False
    return "json_object" in str(cause)


def _broken(error: Exception) -> bool:
    """Whether the connection broke off (the ``openai`` client wraps the httpx error)."""
    if isinstance(error, openai.APIConnectionError):
        return isinstance(error.__cause__, BROKEN)
    return isinstance(error, BROKEN)
