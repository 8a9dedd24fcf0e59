"""Chat backends against real parts: the packaged SmolLM2 in llama.cpp, a real llama.cpp
OpenAI-compatible server on loopback, and the real ``ollama`` client against a local server
that speaks Ollama's HTTP API (Ollama itself cannot run here)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from app.settings import Settings
from models.chat import (
    ChatBackendError,
    ChatBusyError,
    ChatConfig,
    ChatMemoryError,
    ChatModelMissingError,
    ChatTimeoutError,
    ChatUnreachableError,
    GuardedChatModel,
    LoopGuard,
    chat_backend,
    setting,
)
from models.chat.llamacpp import LlamaCppBackend, LlamaCppChatModel
from models.chat.ollama import OllamaBackend
from models.chat.openai import OpenAIBackend
from models.errors import WeightsError
from models.weights import packaged_chat_model
from tests.fake_ollama import Behaviour, FakeModel, FakeOllama, tokens

QUESTION = [SystemMessage("You are a helpful assistant."), HumanMessage("What is a library?")]
MODEL = "qwen2.5:1.5b"


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        yield server


def ollama_backend(url: str, **overrides: Any) -> OllamaBackend:
    """An Ollama backend with short timeouts and backoff, so failures are quick."""
    config = ChatConfig(backend="ollama", model=MODEL, base_url=url, timeout_seconds=5.0)
    return OllamaBackend(replace(config, **overrides), backoff_seconds=0.01)


# ---- choosing a backend, naming settings -------------------------------------------------


def test_chat_backend_is_chosen_by_config_without_loading_anything() -> None:
    default = chat_backend(ChatConfig())
    assert isinstance(default, LlamaCppBackend)
    assert default.name == "llamacpp:SmolLM2-135M-Instruct"
    assert default.describe()["state"] == "not loaded"
    served = chat_backend(ChatConfig(backend="ollama"))
    assert isinstance(served, OllamaBackend)
    assert served.name == "ollama:qwen2.5:1.5b"
    assert served.describe()["where"] == "http://127.0.0.1:11434"
    assert isinstance(chat_backend(ChatConfig(backend="openai", model="m")), OpenAIBackend)


def test_hints_name_settings_the_app_really_has() -> None:
    assert setting("base_url") == "DOCENT_CHAT_BASE_URL"
    with pytest.raises(KeyError):
        setting("url")
    for name in ("backend", "model", "gguf_path", "base_url", "api_key", "context_tokens"):
        assert f"chat_{name}" in Settings.model_fields
    assert "chat_timeout_seconds" in Settings.model_fields


# ---- Ollama, through the real client -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pulled", "configured"), [(MODEL, MODEL), ("llama3.2:latest", "llama3.2")]
)
def test_ollama_preflight_finds_the_model_and_its_context(pulled: str, configured: str) -> None:
    with FakeOllama([FakeModel(pulled, context_length=8192)]) as server:
        backend = ollama_backend(server.url, model=configured)
        backend.preflight()
        assert backend.model_context == 8192
        assert backend.describe()["state"] == "ready (model context 8192 tokens)"
        assert [path for _, path, _ in server.requests.seen] == ["/api/tags", "/api/show"]


def test_ollama_unreachable_says_to_start_it() -> None:
    backend = ollama_backend(f"http://127.0.0.1:{closed_port()}")
    for attempt in (backend.preflight, lambda: list(backend.stream(QUESTION))):
        with pytest.raises(ChatUnreachableError, match="Cannot reach Ollama at") as caught:
            attempt()
        assert "`ollama serve`" in caught.value.hint
        assert "DOCENT_CHAT_BASE_URL" in caught.value.hint
    assert "Cannot reach Ollama" in backend.describe()["state"]


@pytest.mark.slow
def test_ollama_missing_model_says_what_to_pull_and_the_pull_fixes_it(
    fake: FakeOllama,
) -> None:
    backend = ollama_backend(fake.url, model="llama3.2:3b")
    with pytest.raises(ChatModelMissingError, match=r"Model `llama3.2:3b` not found in Ollama"):
        backend.preflight()
    with pytest.raises(ChatModelMissingError) as caught:
        backend.invoke(QUESTION)
    assert caught.value.hint == "ollama pull llama3.2:3b"
    list(ollama.Client(host=fake.url).pull("llama3.2:3b", stream=True))
    backend.preflight()


@pytest.mark.slow
def test_ollama_streams_tokens_in_order_with_the_configured_options(fake: FakeOllama) -> None:
    fake.behaviour.answer = "The library opens at nine and closes at five on weekdays."
    backend = ollama_backend(fake.url)
    pieces = list(backend.stream(QUESTION))
    assert pieces == tokens(fake.behaviour.answer)
    assert "".join(pieces) == fake.behaviour.answer
    assert backend.invoke(QUESTION) == fake.behaviour.answer
    sent = fake.requests.bodies("/api/chat")[0]
    assert sent["stream"] is True
    assert sent["keep_alive"] == "30m"
    assert sent["options"] == {"num_ctx": 2048, "num_predict": 384, "temperature": 0.1}
    assert [message["role"] for message in sent["messages"]] == ["system", "user"]


@pytest.mark.slow
def test_ollama_busy_server_is_retried_with_backoff(fake: FakeOllama) -> None:
    fake.behaviour.busy_times = 2
    assert ollama_backend(fake.url).invoke(QUESTION) == fake.behaviour.answer
    assert len(fake.requests.bodies("/api/chat")) == 3


@pytest.mark.slow
def test_ollama_still_busy_after_the_retries_is_a_clear_error(fake: FakeOllama) -> None:
    fake.behaviour.busy_times = 100
    with pytest.raises(ChatBusyError, match=r"is busy .* after 2 retries"):
        list(ollama_backend(fake.url, retries=2).stream(QUESTION))
    assert len(fake.requests.bodies("/api/chat")) == 3


@pytest.mark.slow
def test_ollama_out_of_memory_suggests_a_smaller_catalog_model(fake: FakeOllama) -> None:
    fake.behaviour.out_of_memory = True
    with pytest.raises(ChatMemoryError, match=r"not enough memory for `qwen2.5:1.5b`") as caught:
        ollama_backend(fake.url).invoke(QUESTION)
    assert "requires more system memory" in caught.value.message
    assert "`ollama pull qwen2.5:0.5b`" in caught.value.hint
    assert "DOCENT_CHAT_MODEL=qwen2.5:0.5b" in caught.value.hint


@pytest.mark.slow
def test_ollama_timeout_names_the_setting_to_raise(fake: FakeOllama) -> None:
    fake.behaviour.delay_seconds = 5.0
    started = time.monotonic()
    with pytest.raises(ChatTimeoutError, match=r"did not answer within 0.3 s") as caught:
        list(ollama_backend(fake.url, timeout_seconds=0.3).stream(QUESTION))
    assert time.monotonic() - started < 3
    assert "DOCENT_CHAT_TIMEOUT_SECONDS" in caught.value.hint


@pytest.mark.slow
def test_ollama_hanging_up_mid_stream_is_a_clear_error_and_not_retried(
    fake: FakeOllama,
) -> None:
    fake.behaviour = Behaviour(answer="One two three four five six.", drop_after=3)
    received: list[str] = []
    with pytest.raises(ChatBackendError, match="broke off before the answer was complete"):
        received.extend(ollama_backend(fake.url).stream(QUESTION))
    assert received == ["One", " two", " three"]
    assert len(fake.requests.bodies("/api/chat")) == 1


@pytest.mark.slow
def test_ollama_context_setting_beyond_the_model_is_refused() -> None:
    with (
        FakeOllama([FakeModel(MODEL, context_length=1024)]) as server,
        pytest.raises(ChatBackendError, match="reads at most 1024 tokens") as caught,
    ):
        ollama_backend(server.url).preflight()
    assert caught.value.hint == "set DOCENT_CHAT_CONTEXT_TOKENS=1024 or lower"


@pytest.mark.slow
def test_chat_model_in_a_langchain_chain_streams_and_raises_docent_errors(
    fake: FakeOllama,
) -> None:
    model = ollama_backend(fake.url).chat_model()
    assert isinstance(model, BaseChatModel)
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | model | StrOutputParser()
    assert "".join(chain.stream({"question": "Where is Paris?"})) == fake.behaviour.answer
    fake.behaviour.drop_after = 2
    with pytest.raises(ChatBackendError, match="broke off"):
        list(chain.stream({"question": "Where is Paris?"}))


@pytest.mark.slow
def test_looping_answer_is_cut_short_over_http(fake: FakeOllama) -> None:
    fake.behaviour.answer = "The policy applies to all staff. " * 30
    answer = "".join(ollama_backend(fake.url).stream(QUESTION))
    assert answer.count("The policy applies to all staff.") == 3


# ---- the loop guard ----------------------------------------------------------------------


def test_loop_guard_fires_on_the_third_copy_of_a_numbered_line() -> None:
    guard = LoopGuard()
    lines = [f"{number}. Always wash your hands before lunch.\n" for number in range(1, 9)]
    fired_at = next(
        index for index, piece in enumerate(tokens("".join(lines))) if guard.feed(piece)
    )
    assert "".join(tokens("".join(lines))[: fired_at + 1]).count("Always wash") == 3


def test_loop_guard_lets_ordinary_answers_through() -> None:
    guard = LoopGuard()
    prose = (
        "Staff receive 27 days of annual leave. Leave is booked in the HR portal.\n"
        "| Year | Days | Carried over |\n|------|------|------|\n"
        + "".join(f"| 20{year} | 27 | 5 |\n" for year in range(10, 20))
        + "---------------------------------------------\n"
        "Ask your manager before booking more than ten days in a row."
    )
    assert not any(guard.feed(piece) for piece in tokens(prose))


# ---- embedded llama.cpp with the packaged SmolLM2 -----------------------------------------


@pytest.fixture(scope="session")
def smollm() -> LlamaCppBackend:
    """The packaged SmolLM2, hash-checked and loaded once; greedy, so answers repeat."""
    backend = LlamaCppBackend(ChatConfig(temperature=0.0, max_answer_tokens=48))
    backend.preflight()
    return backend


@pytest.mark.slow
def test_llamacpp_answers_through_invoke_and_stream(smollm: LlamaCppBackend) -> None:
    answer = smollm.invoke(QUESTION)
    pieces = list(smollm.stream(QUESTION))
    assert answer.strip()
    assert len(pieces) > 1
    assert "".join(pieces) == answer
    assert smollm.describe()["state"].startswith("loaded in")


@pytest.mark.slow
def test_llamacpp_counts_tokens_with_the_model_tokenizer(smollm: LlamaCppBackend) -> None:
    assert smollm.count_tokens("Hello world") == 2
    assert smollm.count_tokens("<|im_end|>") == 1
    assert smollm.count_tokens("") == 0
    sentence = "Every employee receives 27 days of annual leave per year."
    assert smollm.count_tokens(sentence) == 13


@pytest.mark.slow
def test_llamacpp_keeps_the_system_prompt_read_and_answers_the_same_whatever_came_before(
    smollm: LlamaCppBackend,
) -> None:
    system = SystemMessage("Answer from the sources only, in one sentence, citing [1].")
    sources = "Sources:\n[1] Staff get 27 days of annual leave; managers approve it."

    def prompt(question: str) -> list[BaseMessage]:
        return [system, HumanMessage(f"{sources}\n\nQuestion: {question}")]

    alone = LlamaCppBackend(smollm.config).invoke(prompt("Who approves leave?"))
    prefix = smollm.runtime.prefix
    smollm.invoke(prompt("How many days of leave do staff get?"))
    hits = prefix.hits
    after_another = smollm.invoke(prompt("Who approves leave?"))

    assert prefix.hits == hits + 1, "the second prompt read its system prompt again"
    # The system message and the template's header of the user's turn, not the sources.
    kept = smollm.runtime.llama().detokenize(prefix.tokens, special=True).decode()
    assert kept.startswith("<|im_start|>system\nAnswer from the sources only")
    assert kept.endswith("<|im_start|>user\n") and "27 days" not in kept
    assert after_another == alone, "an answer changed with what was asked before it"
    # Another system prompt is read from scratch, then kept in its turn.
    smollm.invoke([SystemMessage("Reply in one word."), HumanMessage("Colour of the sky?")])
    assert smollm.runtime.prefix.tokens != [] and "Reply in one word" in (
        smollm.runtime.llama().detokenize(prefix.tokens, special=True).decode()
    )


@pytest.mark.slow
def test_llamacpp_prompt_beyond_the_context_names_the_setting(smollm: LlamaCppBackend) -> None:
    too_long = [HumanMessage("leave " * 3000)]
    with pytest.raises(ChatBackendError, match="does not fit in the model's context") as caught:
        smollm.invoke(too_long)
    assert "DOCENT_CHAT_CONTEXT_TOKENS" in caught.value.hint


@pytest.mark.slow
def test_llamacpp_refuses_an_altered_or_missing_gguf(tmp_path: Path) -> None:
    altered = tmp_path / "SmolLM2.gguf"
    shutil.copyfile(packaged_chat_model(), altered)
    with altered.open("r+b") as handle:
        handle.seek(50_000_000)
        byte = handle.read(1)
        handle.seek(50_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(WeightsError, match="do not match the pinned sha256"):
        chat_backend(ChatConfig(gguf_path=altered)).preflight()
    with pytest.raises(WeightsError, match="not found"):
        chat_backend(ChatConfig(gguf_path=tmp_path / "absent.gguf")).invoke(QUESTION)


@pytest.mark.slow
def test_the_packaged_model_is_read_as_8_bit_converted_once(tmp_path: Path) -> None:
    config = ChatConfig(temperature=0.0, max_answer_tokens=24, q8_dir=tmp_path / "models")
    backend = LlamaCppBackend(config)
    answer = backend.invoke(QUESTION)

    (copy,) = (tmp_path / "models").glob("*.gguf")
    assert copy.name.startswith("SmolLM2-135M-Instruct.Q4_1-b179c9523d0e6a0f.Q8_0")
    assert backend.runtime.loaded_file == copy
    assert backend.describe()["state"].endswith(f"as 8-bit ({copy})")
    assert answer.strip()
    built = copy.stat().st_mtime_ns
    assert LlamaCppBackend(config).invoke(QUESTION) == answer, "greedy: the same copy"
    assert copy.stat().st_mtime_ns == built, "converted again"
    assert [p.name for p in (tmp_path / "models").iterdir()] == [copy.name], "scratch left"


@pytest.mark.slow
def test_settings_choose_the_8_bit_copy_and_never_for_a_custom_gguf(tmp_path: Path) -> None:
    default = Settings(data_dir=tmp_path / "data").chat_config()
    assert default.q8_dir == tmp_path / "data" / "models"
    assert Settings(data_dir=tmp_path, chat_q8=False).chat_config().q8_dir is None
    custom = tmp_path / "custom.gguf"
    shutil.copyfile(packaged_chat_model(), custom)
    backend = LlamaCppBackend(replace(default, gguf_path=custom, gguf_sha256=None))
    backend.preflight()
    assert backend.runtime.loaded_file == custom
    assert not list((tmp_path / "data" / "models").glob("*.gguf")), "a custom GGUF was copied"


@pytest.mark.slow
def test_loop_guard_stops_a_real_looping_generation(smollm: LlamaCppBackend) -> None:
    # Without a repeat penalty SmolLM2 writes the same list item over and over.
    unpenalized = LlamaCppChatModel(
        runtime=smollm.runtime,
        model_name="SmolLM2",
        max_tokens=200,
        temperature=0.0,
        repeat_penalty=1.0,
    )
    guarded = GuardedChatModel(
        inner=unpenalized, translate=lambda error: None, retryable=lambda error: False
    )
    chunks = list(guarded.stream([HumanMessage("List 40 animals.")]))
    assert any(chunk.response_metadata.get("docent_stop") == "loop" for chunk in chunks)
    assert len(chunks) < 60


# ---- an OpenAI-compatible server: llama.cpp's, for real ------------------------------------


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's server as the README starts it (``python -m models.llama_server``),
    serving the packaged GGUF as ``smollm2`` on loopback."""
    port = closed_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "models.llama_server", "--model", str(packaged_chat_model()),
        "--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048",
    ]  # fmt: skip
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_for(url, server, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama_cpp.server exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("llama_cpp.server did not start within 90 s")


@pytest.mark.slow
def test_openai_backend_streams_from_a_real_server(
    llama_server: str, smollm: LlamaCppBackend
) -> None:
    config = ChatConfig(
        backend="openai", model="smollm2", base_url=llama_server, max_answer_tokens=8
    )
    backend = chat_backend(config)
    backend.preflight()
    assert backend.describe()["state"] == "ready"
    pieces = list(backend.stream(QUESTION))
    assert len(pieces) > 1
    answer = backend.invoke(QUESTION)
    assert answer.strip()
    # max_answer_tokens reaches the llama.cpp server (it ignores max_completion_tokens).
    assert smollm.count_tokens(answer) <= 8


@pytest.mark.slow
def test_choose_works_against_the_real_llama_cpp_server(llama_server: str) -> None:
    # llama-cpp-python's server refuses `json_schema`; the backend asks as `json_object`.
    config = ChatConfig(backend="openai", model="smollm2", base_url=llama_server)
    backend = chat_backend(replace(config, max_answer_tokens=40, temperature=0.0))
    schema = {
        "type": "object",
        "properties": {"sentences": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}},
        "required": ["sentences"],
    }
    picked = json.loads(backend.choose([HumanMessage("Pick sentences 1 and 3.")], schema))
    assert isinstance(picked["sentences"], list) and len(picked["sentences"]) <= 3
    assert isinstance(backend, OpenAIBackend) and backend._json_object_only


def test_the_hint_and_the_readme_start_llama_cpp_server_as_these_tests_do() -> None:
    command = "python -m models.llama_server --model"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert command in readme and "python -m llama_cpp.server" not in readme
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backend = chat_backend(ChatConfig(backend="openai", model="m", base_url=url, retries=0))
    with pytest.raises(ChatUnreachableError) as caught:
        backend.preflight()
    assert command in caught.value.hint


@pytest.mark.slow
def test_openai_model_missing_lists_what_the_server_has(llama_server: str) -> None:
    backend = chat_backend(ChatConfig(backend="openai", model="gpt-4o", base_url=llama_server))
    with pytest.raises(ChatModelMissingError, match="Model `gpt-4o` not found") as caught:
        backend.preflight()
    assert caught.value.hint == "set DOCENT_CHAT_MODEL to one it serves: `smollm2`"


def test_openai_unreachable_says_to_start_a_server() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    backend = chat_backend(ChatConfig(backend="openai", model="m", base_url=url, retries=0))
    for attempt in (backend.preflight, lambda: backend.invoke(QUESTION)):
        with pytest.raises(ChatUnreachableError, match="Cannot reach the OpenAI-compatible"):
            attempt()
