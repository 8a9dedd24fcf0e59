"""Answers the model chooses: the ranked sentences numbered, its reply held to their numbers.

The model reads the best ``CANDIDATES`` ranked sentences, numbered, and replies with the
numbers of those that answer the question, best first. Its output is constrained by a
JSON schema (``choice_schema``: an object whose ``sentences`` is a list of one to
``most`` numbers, each one of the candidates' own), which the backend enforces itself: a
llama.cpp grammar, Ollama's ``format``, an OpenAI-compatible ``response_format``. So the
model can only name sentences that exist, and the shown answer is their quotes, verified
by construction. A reply that still does not parse (a server that ignores the schema) is
a ``ChoiceError``; the chain then shows the ranked quotes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from models.chat import ChatBackend, ChatBackendError
from rag.evidence import RankedSentence
from rag.prompts import CHOOSE, fence

CANDIDATES = 6


class ChoiceError(ChatBackendError):
    """The model's choice is not a list of the candidates' numbers."""


def choice_schema(count: int, most: int) -> dict[str, Any]:
    """The JSON schema of a choice among ``count`` numbered sentences, at most ``most``."""
    number = {"type": "integer", "enum": list(range(1, count + 1))}
    choice = {"type": "array", "items": number, "minItems": 1, "maxItems": min(most, count)}
    return {
        "type": "object",
        "properties": {"sentences": choice},
        "required": ["sentences"],
        "additionalProperties": False,
    }


def messages(question: str, candidates: Sequence[RankedSentence]) -> list[BaseMessage]:
    """The prompt: the numbered sentences, fenced as data, and the question."""
    numbered = "\n".join(
        f"[{n}] {' '.join(r.sentence.text.split())}" for n, r in enumerate(candidates, start=1)
    )
    return CHOOSE.format_messages(sentences=fence(numbered), question=question)


def parse(reply: str, count: int, most: int) -> list[int]:
    """The chosen numbers, in the model's order, each once.

    Raises:
        ChoiceError: The reply is not the schema's object, or names no candidate.
    """
    try:
        numbers = json.loads(reply)["sentences"]
    except (ValueError, KeyError, TypeError) as error:
        raise ChoiceError(
            f"The model's choice is not JSON of sentence numbers: {reply!r}"
        ) from error
    if not isinstance(numbers, list) or not all(isinstance(n, int) for n in numbers):
        raise ChoiceError(f"The model's choice is not a list of numbers: {reply!r}")
    kept = [n for n in dict.fromkeys(numbers) if 1 <= n <= count][:most]
    if not kept:
        raise ChoiceError(f"The model chose no sentence there is: {reply!r}")
    return kept


def choose(
    backend: ChatBackend, question: str, ranked: Sequence[RankedSentence], most: int
) -> tuple[list[RankedSentence], str, list[BaseMessage]]:
    """The sentences the model chooses for the question, its reply as written, and the
    messages it read (for counting its tokens).

    Raises:
        DocentError: The backend failed or cannot constrain its output.
        ChoiceError: The reply names no candidate.
    """
    candidates = list(ranked[:CANDIDATES])
    schema = choice_schema(len(candidates), most)
    read = messages(question, candidates)
    reply = backend.choose(read, schema)
    return [candidates[n - 1] for n in parse(reply, len(candidates), most)], reply, read
