"""The guard every backend's chat model runs behind: errors translated, busy servers
retried before the first token, a small model's loop stopped."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from models.errors import DocentError


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


class StreamedChatModel(BaseChatModel):
    """A LangChain chat model whose every answer, streamed or not, comes from ``_stream``."""

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))


class GuardedChatModel(StreamedChatModel):
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

    # Streamed also when invoked, so that the loop guard cuts short a non-streamed answer.
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
