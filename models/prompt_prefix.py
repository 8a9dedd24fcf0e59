"""Keep the system prompt's KV cache between generations of the embedded model.

On a CPU the first token waits for the model to read the whole prompt, and every answer
starts with the same instructions. The system message (with the chat template's header of
the next turn) is read once, on its own, and its keys and values stay in the KV cache: the
next prompt with the same system message reads only what follows it.

The prefix is always read alone and the rest always starts right after it, whether the
prefix was just read or kept from before, so a prompt is computed the same way every
time and a greedy answer does not depend on what was asked before (llama.cpp's own
prefix reuse splits the prompt wherever the previous one happened to differ, which
changes the numerics enough to change answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

# Two renderings of the prompt that differ only in the user's text: what they share up to
# there is the system message and the template's header of the user's turn.
_PROBES = ("\x01", "\x02")


class PromptPrefix:
    """The cached system-prompt prefix of one ``Llama`` (its KV cache holds it)."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.hits = 0
        self._formatter: Jinja2ChatFormatter | None = None
        self._formatter_for: int | None = None

    def start(self, llama: Llama, messages: Sequence[dict[str, Any]]) -> None:
        """Make ``llama`` ready to read ``messages``: its prefix in the cache, nothing else.

        Without a system message or a chat template in the GGUF, the cache is cleared.
        """
        prefix = self._prefix_tokens(llama, messages)
        cached = self.tokens
        kept = llama.n_tokens >= len(cached) and list(llama.input_ids[: len(cached)]) == cached
        if prefix and prefix == cached and kept:
            # ``generate`` drops the cache after ``n_tokens`` and reads the rest.
            llama.n_tokens = len(cached)
            self.hits += 1
            return
        llama.reset()
        self.tokens = []
        if prefix:
            llama.eval(prefix)
            self.tokens = prefix

    def _prefix_tokens(self, llama: Llama, messages: Sequence[dict[str, Any]]) -> list[int]:
        if len(messages) < 2 or messages[0].get("role") != "system":
            return []
        formatter = self._formatter_of(llama)
        if formatter is None:
            return []
        probes = [
            formatter(messages=cast(Any, [*messages[:-1], {**messages[-1], "content": probe}]))
            for probe in _PROBES
        ]
        first, second = probes[0].prompt, probes[1].prompt
        shared = 0
        while shared < min(len(first), len(second)) and first[shared] == second[shared]:
            shared += 1
        add_bos = not probes[0].added_special
        prompt = formatter(messages=cast(Any, list(messages)))
        whole = llama.tokenize(prompt.prompt.encode("utf-8"), add_bos=add_bos, special=True)
        head = llama.tokenize(first[:shared].encode("utf-8"), add_bos=add_bos, special=True)
        # Tokens at the seam may merge differently with what follows: keep only those
        # the whole prompt has too, and leave at least one token to read.
        same = 0
        while same < min(len(head), len(whole) - 1) and head[same] == whole[same]:
            same += 1
        return list(whole[:same])

    def _formatter_of(self, llama: Llama) -> Jinja2ChatFormatter | None:
        """The GGUF's chat template, as llama-cpp-python builds it for chat completions."""
        if self._formatter_for != id(llama):
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llama.metadata.get("tokenizer.chat_template")
            self._formatter_for = id(llama)
            self._formatter = None
            if template and llama.chat_format == "chat_template.default":
                self._formatter = Jinja2ChatFormatter(
                    template=template,
                    eos_token=_token_text(llama, llama.token_eos()),
                    bos_token=_token_text(llama, llama.token_bos()),
                    stop_token_ids=[llama.token_eos()],
                )
        return self._formatter


def _token_text(llama: Llama, token: int) -> str:
    if token == -1:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="ignore")
