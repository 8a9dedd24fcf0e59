"""Turning a follow-up question into one that stands alone, before retrieval.

"And in 2023?" retrieves nothing useful on its own. A large model rewrites follow-ups
well; a 135M one often does not, so the default is a rule that carries the earlier
question's topic words into the follow-up (dropping the earlier numbers and years when
the follow-up brings its own), and a model rewrite is used only when enabled and only if
it keeps the follow-up's own numbers and names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.citations import content_words
from rag.prompts import CONDENSE

if TYPE_CHECKING:
    from models.chat import ChatBackend

_FOLLOW_UP = re.compile(
    r"^\s*(and|also|but|what about|how about|same for|what of|then|or)\b", re.IGNORECASE
)
_REFERRING = re.compile(r"\b(it|its|they|them|their|that|this|those|these|he|she|there)\b", re.I)
_NUMBER = re.compile(r"\d")
_SHORT = 8


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation.

    Attributes:
        question: What the person asked.
        query: The standalone question that was retrieved for.
        answer: The answer given.
    """

    question: str
    query: str
    answer: str = ""


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation before it."""
    words = question.split()
    if _FOLLOW_UP.match(question):
        return True
    return len(words) <= _SHORT and bool(_REFERRING.search(question))


def condense_by_rule(question: str, history: Sequence[Turn]) -> str:
    """Carry the previous question's topic into a follow-up; leave other questions alone."""
    if not history or not is_follow_up(question):
        return question
    own = content_words(question)
    previous = [w for w in _ordered_words(history[-1].query) if w not in own]
    if any(_NUMBER.search(word) for word in own):
        previous = [w for w in previous if not _NUMBER.search(w)]
    return f"{question.strip()} ({' '.join(previous)})" if previous else question


def condense(question: str, history: Sequence[Turn], backend: ChatBackend | None = None) -> str:
    """The standalone form of ``question``; with a backend, a checked model rewrite."""
    ruled = condense_by_rule(question, history)
    if backend is None or ruled == question:
        return ruled
    transcript = "\n".join(f"Q: {turn.question}\nA: {turn.answer[:300]}" for turn in history[-3:])
    messages = CONDENSE.invoke({"history": transcript, "question": question}).to_messages()
    rewritten = backend.invoke(messages).strip().splitlines()[0:1]
    candidate = rewritten[0].strip() if rewritten else ""
    # The rewrite must keep what the follow-up itself names: its numbers and proper names.
    named = re.findall(r"(?<=\s)[A-Z][\w'\-]*|[\w'\-]*\d[\w'\-]*", question)
    needed = content_words(" ".join(named))
    if 0 < len(candidate) <= 300 and needed <= content_words(candidate):
        return candidate
    return ruled


def _ordered_words(text: str) -> list[str]:
    seen = content_words(text)
    ordered: list[str] = []
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", text):
        lower = word.lower()
        if lower in seen and lower not in ordered:
            ordered.append(lower)
    return ordered
