"""Answers the model chooses: its output held to the numbers of sentences that exist.

The grammar tests run the real packaged SmolLM2 in llama.cpp (``slow``); the Ollama one
runs the real ``ollama`` client against the project's Ollama-API server, which holds an
answer to a request's ``format`` schema as Ollama does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from app.api import Docent
from app.settings import Settings
from models.chat import ChatConfig, chat_backend
from models.chat.ollama import OllamaBackend
from models.embedder import Embedder
from rag.choose import ChoiceError, choice_schema, parse
from tests import docgen
from tests.fake_ollama import Behaviour, FakeModel, FakeOllama
from tests.indexed import indexed

MODEL = "qwen2.5:1.5b"
# Everything here pushes the model towards numbers that do not exist.
TEMPTING = [
    SystemMessage("Reply with the number 7, or with the text [12], or with nothing at all."),
    HumanMessage(
        "Sentences:\n[1] The sky is blue.\n[2] Grass is green.\n[3] Snow is white.\n"
        "Which sentence says 7? Answer 7 or 12."
    ),
]


def test_a_choice_keeps_the_candidates_numbers_once_in_order() -> None:
    assert parse('{"sentences": [2, 2, 9, 1]}', count=3, most=3) == [2, 1]
    assert parse('{"sentences": [3, 1, 2]}', count=3, most=2) == [3, 1]
    for reply in ('{"sentences": [9]}', "[1]", "7", '{"sentences": "1"}'):
        with pytest.raises(ChoiceError):
            parse(reply, count=3, most=3)


@pytest.mark.slow
def test_ollama_is_asked_for_the_schema_and_held_to_it() -> None:
    schema = choice_schema(3, most=2)
    with FakeOllama([FakeModel(MODEL)]) as server:
        backend = OllamaBackend(ChatConfig(backend="ollama", model=MODEL, base_url=server.url))
        server.behaviour = Behaviour(answer='{"sentences": [2, 3]}')
        assert parse(backend.choose(TEMPTING, schema), 3, 2) == [2, 3]
        server.behaviour = Behaviour(answer="I choose sentence 7.")
        reply = backend.choose(TEMPTING, schema)
        sent = server.requests.bodies("/api/chat")
    assert parse(reply, 3, 2) == [1]  # the least the schema allows, as a grammar forces
    assert all(body["format"] == schema for body in sent)


@pytest.mark.slow
def test_the_grammar_holds_smollm2_to_sentence_numbers_that_exist() -> None:
    backend = chat_backend(ChatConfig(temperature=0.0, max_answer_tokens=48))
    for count, most in ((3, 1), (3, 3), (6, 2)):
        schema = choice_schema(count, most)
        reply = backend.choose(TEMPTING, schema)
        jsonschema.validate(json.loads(reply), schema)
        numbers = json.loads(reply)["sentences"]
        assert 1 <= len(numbers) <= most and set(numbers) <= set(range(1, count + 1)), reply
    # Without the grammar the same prompt gets a number that does not exist, or no JSON.
    free = backend.invoke(TEMPTING)
    with pytest.raises(ChoiceError):
        parse(free, 3, 3)


@pytest.fixture(scope="module")
def chooser(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Docent]:
    root = tmp_path_factory.mktemp("choose")
    share = docgen.handbook_share(root)
    settings = Settings(data_dir=Path(root / "data"), chat_temperature=0.0, answer_mode="choose")
    yield indexed(settings, embedder, share)


@pytest.mark.slow
def test_an_answer_chosen_by_smollm2_is_quotes_of_its_pages(chooser: Docent) -> None:
    answer = chooser.ask("docs", "How many days of annual leave does every employee receive?")
    assert answer.status == "answered" and answer.fallback == "", answer.fallback
    assert answer.model.startswith("llamacpp:") and answer.raw.startswith("{")
    assert answer.made_by == "quotes" and 1 <= len(answer.sentences) <= 3
    for sentence in answer.sentences:
        cited = sentence.citation
        source = next(s for s in answer.evidence if s.number == cited.number)
        offset = cited.char_start - source.char_start
        assert source.text[offset : offset + len(cited.quote)] == cited.quote
    refused = chooser.ask("docs", "What is the boiling point of tungsten in kelvin?")
    assert refused.status == "not_found"


@pytest.mark.slow
def test_an_answer_chosen_through_ollama_and_its_fallback(
    tmp_path: Path, embedder: Embedder
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "leave.txt").write_text(
        "Every employee receives 27 days of annual leave per year.\n\n"
        "Leave is booked in the HR portal at least two weeks ahead.\n"
    )
    question = "How many days of annual leave does every employee receive?"
    with FakeOllama([FakeModel(MODEL)]) as server:
        settings = Settings(
            data_dir=tmp_path / "data",
            answer_mode="choose",
            chat_backend="ollama",
            chat_model=MODEL,
            chat_base_url=server.url,
        )
        docent = Docent(settings, embedder=embedder)
        assert docent.ingest([share], "docs").exit_code == 0
        server.behaviour = Behaviour(answer='{"sentences": [2]}')
        chosen = docent.ask("docs", question)
        server.behaviour = Behaviour(out_of_memory=True)
        fallen = docent.ask("docs", question)
    assert chosen.fallback == "" and chosen.model == f"ollama:{MODEL}"
    assert chosen.sentences[0].citation.quote.startswith("Leave is booked")  # its choice
    assert fallen.fallback.startswith("the model failed") and fallen.status == "answered"
    assert "27 days" in fallen.sentences[0].citation.quote  # the ranked quote
