"""Chat backends: one small interface over embedded llama.cpp, Ollama and OpenAI-compatible servers.

Every backend hands out a LangChain chat model wrapped in ``GuardedChatModel``, which turns
the client libraries' exceptions into ``DocentError``s with a hint that names the fix (also
when they are raised in the middle of a stream), retries a busy server before the first
token, and stops a small model that has fallen into a loop.
"""

from __future__ import annotations

import math
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, NoReturn

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

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
            prompts read about 1.9x faster on a CPU); None loads the 4-bit file as it is.
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


class LoopGuard:
    """Spots a small model stuck in a loop, from the text it has streamed so far.

    A loop is the same segment of at least ``min_chars`` characters (with at least half of
    them letters, so rows of a numeric table do not count) written ``repeats`` times in a
    row at the end of the text. Digit runs compare equal, so ``7. Wash hands`` followed by
    ``8. Wash hands`` is a loop too: numbered repetition is how small models usually loop.

    Args:
        min_chars: Shortest segment that counts.
        repeats: How many copies in a row make a loop.
        max_chars: Longest segment looked for.
    """

    def __init__(self, min_chars: int = 12, repeats: int = 3, max_chars: int = 300) -> None:
        self.min_chars = min_chars
        self.repeats = repeats
        self.max_chars = max_chars
        self._tail = ""

    def feed(self, text: str) -> bool:
        """Add the next piece of streamed text; True once the text ends in a loop."""
        # Only the last few segments matter; slack covers digit runs that collapse.
        self._tail = (self._tail + text)[-(self.repeats + 1) * self.max_chars :]
        return self._looping(re.sub(r"\d+", "#", self._tail))

    def _looping(self, text: str) -> bool:
        end = len(text)
        for size in range(self.min_chars, min(self.max_chars, end // self.repeats) + 1):
            # One character comparison rules out almost every size, cheaply.
            if text[end - size - 1] != text[-1]:
                continue
            segment = text[-size:]
            copies = (text[end - size * (k + 1) : end - size * k] for k in range(1, self.repeats))
            if all(copy == segment for copy in copies) and self._counts(segment):
                return True
        return False

    def _counts(self, segment: str) -> bool:
        # A segment made of a shorter repeated unit ("-----") is left to max_answer_tokens.
        primitive = (segment + segment).find(segment, 1) == len(segment)
        letters = sum(char.isalpha() for char in segment)
        return primitive and letters * 2 >= len(segment)


class GuardedChatModel(BaseChatModel):
    """A backend's LangChain chat model that fails with ``DocentError``s and stops loops.

    Streams from ``inner``; an exception before the first chunk is retried when
    ``retryable`` says so (waiting ``backoff_seconds`` × 2^attempt), any other is turned
    into a ``DocentError`` by ``translate`` (None leaves it as it is).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    translate: Callable[[Exception], DocentError | None]
    retryable: Callable[[Exception], bool]
    retries: int = 0
    backoff_seconds: float = 0.5

    @property
    def _llm_type(self) -> str:
        return f"docent-{self.inner._llm_type}"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Through the stream, so that the loop guard also cuts short a non-streamed answer.
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # BaseChatModel.stream reports each chunk to the callbacks; run_manager is not used.
        attempt = 0
        while True:
            started = False
            try:
                for chunk in self._guarded(messages, stop, **kwargs):
                    started = True
                    yield chunk
                return
            except DocentError:
                raise
            except Exception as error:
                # Once tokens went out a retry would repeat them: only a clean start is retried.
                if started or attempt >= self.retries or not self.retryable(error):
                    translated = self.translate(error)
                    if translated is None:
                        raise
                    raise translated from error
            time.sleep(self.backoff_seconds * 2**attempt)
            attempt += 1

    def _guarded(
        self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        guard = LoopGuard()
        chunks = self.inner.stream(messages, stop=stop, **kwargs)
        try:
            for message in chunks:
                yield ChatGenerationChunk(message=message)
                if guard.feed(message.text):
                    stopped = AIMessageChunk(content="", response_metadata={"docent_stop": "loop"})
                    yield ChatGenerationChunk(message=stopped)
                    return
        finally:
            # Closing the client's stream stops the generation (llama.cpp) or hangs up (HTTP).
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


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


BackendFactory = Callable[[ChatConfig], ChatBackend]
# Backends added by name besides the three built in (the tests' scripted one).
_REGISTERED: dict[str, BackendFactory] = {}


def register_backend(name: str, build: BackendFactory) -> Callable[[], None]:
    """Make ``chat_backend`` build ``build(config)`` for ``config.backend == name``.

    Returns:
        The undo: it removes the registration.
    """
    _REGISTERED[name] = build

    def undo() -> None:
        _REGISTERED.pop(name, None)

    return undo


def chat_backend(config: ChatConfig) -> ChatBackend:
    """Build the chat backend that ``config`` names; nothing is loaded or contacted yet.

    Raises:
        ChatBackendError: The backend's client library is not installed.
    """
    registered = _REGISTERED.get(config.backend)
    if registered is not None:
        return registered(config)
    match config.backend:
        case "llamacpp":
            # llama_cpp itself is imported when the model loads, after OMP settings are made.
            from models.chat_llamacpp import LlamaCppBackend

            return LlamaCppBackend(config)
        case "ollama":
            try:
                from models.chat_ollama import OllamaBackend
            except ImportError as error:
                raise _missing("ollama", "langchain-ollama ollama", error) from error
            return OllamaBackend(config)
        case "openai":
            try:
                from models.chat_openai import OpenAIBackend
            except ImportError as error:
                raise _missing("openai", "langchain-openai", error) from error
            return OpenAIBackend(config)


def _missing(backend: str, packages: str, error: ImportError) -> ChatBackendError:
    return ChatBackendError(
        f"The {backend} chat backend needs `{error.name}`, which is not installed.",
        hint=f"pip install {packages}",
    )
