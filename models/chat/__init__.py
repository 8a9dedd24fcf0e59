"""Chat backends: one small interface over embedded llama.cpp, Ollama and OpenAI-compatible servers.

Every backend hands out a LangChain chat model wrapped in ``GuardedChatModel``, which turns
the client libraries' exceptions into ``DocentError``s with a hint that names the fix (also
when they are raised in the middle of a stream), retries a busy server before the first
token, and stops a small model that has fallen into a loop.

The interface lives in ``models.chat.base`` and the guard in ``models.chat.guard``; this
package exports both and holds the factory, ``chat_backend()``, which imports a backend
(``models.chat.llamacpp``, ``.ollama``, ``.openai``) only when it is asked for. The
backends import ``base`` and ``guard``, never this package, so no import runs in a loop.
"""

from __future__ import annotations

from collections.abc import Callable

from models.chat.base import (
    Backend,
    ChatBackend,
    ChatBackendError,
    ChatBusyError,
    ChatConfig,
    ChatMemoryError,
    ChatModelMissingError,
    ChatTimeoutError,
    ChatUnreachableError,
    setting,
)
from models.chat.guard import GuardedChatModel, LoopGuard

__all__ = [
    "Backend",
    "BackendFactory",
    "ChatBackend",
    "ChatBackendError",
    "ChatBusyError",
    "ChatConfig",
    "ChatMemoryError",
    "ChatModelMissingError",
    "ChatTimeoutError",
    "ChatUnreachableError",
    "GuardedChatModel",
    "LoopGuard",
    "chat_backend",
    "register_backend",
    "setting",
]

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
            from models.chat.llamacpp import LlamaCppBackend

            return LlamaCppBackend(config)
        case "ollama":
            try:
                from models.chat.ollama import OllamaBackend
            except ImportError as error:
                raise _missing("ollama", "langchain-ollama ollama", error) from error
            return OllamaBackend(config)
        case "openai":
            try:
                from models.chat.openai import OpenAIBackend
            except ImportError as error:
                raise _missing("openai", "langchain-openai", error) from error
            return OpenAIBackend(config)


def _missing(backend: str, packages: str, error: ImportError) -> ChatBackendError:
    return ChatBackendError(
        f"The {backend} chat backend needs `{error.name}`, which is not installed.",
        hint=f"pip install {packages}",
    )
