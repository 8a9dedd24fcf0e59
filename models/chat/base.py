"""The chat interface every backend implements: its config, its errors, ``ChatBackend``.

Backends (``models.chat.llamacpp``, ``.ollama``, ``.openai``) build on this module and
``models.chat.guard``, never on the package itself, whose factory imports them.
"""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, NoReturn

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from models.chat.guard import GuardedChatModel
from models.errors import DocentError
from models.weights import CHAT_SHA256

Backend = Literal["llamacpp", "ollama", "openai"]


@dataclass(frozen=True)
class ChatConfig:
    """How to reach and drive the chat model.

    Attributes:
        backend: ``llamacpp`` (embedded, no server), ``ollama`` or ``openai`` (any
            OpenAI-compatible server).
        model: Model name for ``ollama`` / ``openai``; for ``llamacpp`` a display name.
        gguf_path: GGUF file for ``llamacpp``; None means the packaged SmolLM2.
        gguf_sha256: Pinned sha256 of the GGUF; None accepts any file (a custom model).
        q8_dir: Where the packaged 4-bit model's 8-bit copy is kept (``models.gguf_q8``:
            a CPU reads prompts faster with it); None loads the 4-bit file as it is.
            Custom GGUFs are always loaded as they are.
        runtime_dir: Where the embedded backend remembers which llama.cpp CPU kernels run
            here (``models.llama_runtime``); None probes them at every start.
        base_url: Server URL; Ollama defaults to ``http://127.0.0.1:11434``.
        api_key: Key for an OpenAI-compatible server that wants one.
        context_tokens: Context window given to the model, in its tokens.
        max_answer_tokens: Longest answer the model may write, in its tokens.
        temperature: Sampling temperature.
        threads: CPU threads for ``llamacpp``; None means all cores.
        timeout_seconds: Time to wait for a server before giving up.
        keep_alive: How long Ollama keeps the model loaded after a request.
        retries: Retries on a busy server or a reset connection, with exponential backoff.
        probe_faults: Test hook of the embedded backend's start-up probe: pairs of
            (configuration index, ``sigill`` or ``hang``) that make that probe child really
            die by the signal or never answer. Not a setting.
    """

    backend: Backend = "llamacpp"
    model: str = ""
    gguf_path: Path | None = None
    gguf_sha256: str | None = CHAT_SHA256
    q8_dir: Path | None = None
    runtime_dir: Path | None = None
    base_url: str = ""
    api_key: str = ""
    context_tokens: int = 2048
    max_answer_tokens: int = 384
    temperature: float = 0.1
    threads: int | None = None
    timeout_seconds: float = 120.0
    keep_alive: str = "30m"
    retries: int = 3
    probe_faults: tuple[tuple[int, str], ...] = ()


def setting(field: str) -> str:
    """The environment variable that sets a ``ChatConfig`` field, for hints.

    Raises:
        KeyError: ``field`` is not a ``ChatConfig`` field (a hint naming a wrong setting).
    """
    if field not in {item.name for item in fields(ChatConfig)}:
        raise KeyError(field)
    return f"DOCENT_CHAT_{field.upper()}"


class ChatBackendError(DocentError):
    """The chat model could not be reached, loaded or run."""


class ChatUnreachableError(ChatBackendError):
    """No server answers at the configured URL."""


class ChatModelMissingError(ChatBackendError):
    """The server runs, but does not have the configured model."""


class ChatBusyError(ChatBackendError):
    """The server kept answering "busy" through every retry."""


class ChatTimeoutError(ChatBackendError):
    """The server did not answer within ``timeout_seconds``."""


class ChatMemoryError(ChatBackendError):
    """The server has not enough memory for the model."""


class ChatBackend(ABC):
    """One way of running the chat model, behind the interface the rest of Docent uses.

    Args:
        config: The chat configuration.
        backoff_seconds: First wait before retrying a busy server; doubles each retry.

    Attributes:
        config: The chat configuration.
        name: ``backend:model``, e.g. ``ollama:qwen2.5:1.5b``.
    """

    name: str

    def __init__(self, config: ChatConfig, *, backoff_seconds: float = 0.5) -> None:
        self.config = config
        self.backoff_seconds = backoff_seconds
        self._model: GuardedChatModel | None = None
        self._model_lock = threading.Lock()

    def chat_model(self) -> BaseChatModel:
        """A LangChain chat model (``.invoke`` / ``.stream``) that raises ``DocentError``s."""
        with self._model_lock:
            if self._model is None:
                self._model = GuardedChatModel(
                    inner=self._client_model(),
                    translate=self._translate,
                    retryable=self._retryable,
                    retries=self.config.retries,
                    backoff_seconds=self.backoff_seconds,
                )
            return self._model

    def stream(self, messages: Sequence[BaseMessage]) -> Iterator[str]:
        """Stream the answer to ``messages`` as text pieces.

        Raises:
            DocentError: The backend failed, before or during the answer.
        """
        for chunk in self.chat_model().stream(list(messages)):
            if chunk.text:
                yield str(chunk.text)

    def invoke(self, messages: Sequence[BaseMessage]) -> str:
        """The whole answer to ``messages``.

        Raises:
            DocentError: The backend failed.
        """
        return str(self.chat_model().invoke(list(messages)).text)

    def choose(self, messages: Sequence[BaseMessage], schema: dict[str, Any]) -> str:
        """The answer to ``messages`` as JSON the model can only write within ``schema``.

        The backend constrains the model itself (a llama.cpp grammar, Ollama's ``format``,
        an OpenAI-compatible ``response_format``), so the output names nothing else.

        Raises:
            DocentError: The backend failed, or cannot constrain its output.
        """
        return str(self.chat_model().invoke(list(messages), **self._constrained(schema)).text)

    def _constrained(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The request options that hold the model's output to a JSON schema."""
        raise ChatBackendError(
            f"The chat backend {self.name} cannot hold its output to a schema.",
            hint="set DOCENT_ANSWER_MODE=quotes",
        )

    def count_tokens(self, text: str) -> int:
        """A conservative estimate of ``text``'s length in the model's tokens."""
        # English runs ~4 characters a token in current tokenizers; 3.5 leaves a margin.
        return math.ceil(len(text) / 3.5)

    @abstractmethod
    def preflight(self) -> None:
        """Check that the model can answer: server reachable, model present, weights intact.

        Raises:
            DocentError: What is wrong, with a hint that names the fix.
        """

    @abstractmethod
    def describe(self) -> dict[str, str]:
        """What ``status`` shows: ``backend``, ``model``, ``where`` and ``state``."""

    @abstractmethod
    def _client_model(self) -> BaseChatModel:
        """The backend's own LangChain chat model, before wrapping."""

    @abstractmethod
    def _translate(self, error: Exception) -> DocentError | None:
        """The ``DocentError`` for a client exception; None for one it does not know."""

    def _raise_translated(self, error: Exception) -> NoReturn:
        """Raise the ``DocentError`` for ``error``, or ``error`` itself when there is none."""
        translated = self._translate(error)
        if translated is None:
            raise error
        raise translated from error

    def _retryable(self, error: Exception) -> bool:
        """Whether ``error`` is worth a retry (a busy server, a reset connection)."""
        return False
