"""A scripted chat backend, registered through the real ``models.chat.chat_backend`` factory.

As simonw/llm's tests register ``MockModel`` through the real plugin hook, the
``scripted_chat`` fixture (tests/conftest.py) registers ``ScriptedBackend`` under the
backend name ``scripted``: a ``Docent`` whose settings name it (``scripted_settings``)
gets it from ``Docent.chat`` like any backend, wrapped in the real ``GuardedChatModel``
(error translation, loop guard). Its replies are queued with ``Script.enqueue``, and
every prompt it is sent is kept, so a test of the answer chain's logic (refusal,
citations, summaries) runs in milliseconds and can tell whether the model was called.
The end-to-end tests still run the packaged SmolLM2.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from app.settings import Settings
from models.chat import ChatBackend, ChatConfig
from models.errors import DocentError

NAME = "scripted"


class Script:
    """The replies a scripted model will give, in order, and the prompts it was sent."""

    def __init__(self) -> None:
        self.replies: deque[str] = deque()
        self.prompts: list[list[BaseMessage]] = []

    def enqueue(self, *replies: str) -> None:
        """Queue replies, one for each call of the model to come."""
        self.replies.extend(replies)

    def reply(self, messages: list[BaseMessage]) -> str:
        """The next reply, recording the prompt; a call with none queued fails the test."""
        self.prompts.append(messages)
        if not self.replies:
            raise AssertionError(f"the model was called with no reply scripted: {messages}")
        return self.replies.popleft()


class ScriptedModel(GenericFakeChatModel):
    """LangChain's fake chat model (it streams a reply a word at a time), fed by a script."""

    script: Script
    messages: Iterator[str] = iter(())  # unused: replies come from the script

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = AIMessage(content=self.script.reply(messages))
        return ChatResult(generations=[ChatGeneration(message=reply)])


class ScriptedBackend(ChatBackend):
    """The backend ``chat_backend`` builds for ``backend="scripted"`` while registered."""

    def __init__(self, config: ChatConfig, script: Script) -> None:
        super().__init__(config, backoff_seconds=0.0)
        self.script = script
        self.name = f"{NAME}:{config.model or 'test'}"

    def preflight(self) -> None:
        """Always ready: there is nothing to load."""

    def describe(self) -> dict[str, str]:
        return {"backend": NAME, "model": self.config.model, "where": "tests", "state": "ready"}

    def _client_model(self) -> BaseChatModel:
        return ScriptedModel(script=self.script)

    def _translate(self, error: Exception) -> DocentError | None:
        return None


def scripted_settings(settings: Settings) -> Settings:
    """The same settings with the scripted backend as the chat model.

    ``model_copy`` does not validate, so the name ``scripted``, which no user can set,
    reaches ``chat_config()`` and the factory as it stands.
    """
    return settings.model_copy(update={"chat_backend": NAME})
