"""Turning a follow-up question into one that stands alone, before retrieval.

"And in 2023?" retrieves nothing useful on its own. A large model rewrites follow-ups
well; a 135M one often does not, so the default is a rule:

* A follow-up that swaps one part of the question before ("And for meals?" after "How
  much can I claim for a hotel?", "And in 2023?", "What about 2024?") becomes that
  question with the part swapped: "How much can I claim for meals?".
* Any other follow-up ("Who approves it?") keeps its words and carries the earlier
  question's topic words after them (dropping the earlier numbers and years when the
  follow-up brings its own).

A model rewrite is used only when enabled and only if it keeps the follow-up's own
numbers and names.

A standalone follow-up is still short of its topic: "How much can I claim for meals?"
comes to 0.35 against a page of expense rules that "... for a hotel?" reached at 0.47,
below the gate, so the answer was "could not find" although the page says "Meals: up to
EUR 45 per day". So a follow-up also retrieves for the question before it, and the
passages that pass the gate there and name every word of its own (``on_topic``) count as
evidence for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.citations import content_words
from rag.lexical_terms import indexed_form
from rag.prompts import CONDENSE

if TYPE_CHECKING:
    from models.chat import ChatBackend
    from rag.types import Passage

_FOLLOW_UP = re.compile(
    r"^\s*(and|also|but|what about|how about|same for|what of|then|or)\b", re.IGNORECASE
)
_LEAD = re.compile(r"^\s*(and|also|but|then|or|what about|how about|what of|same)\b[\s,]*", re.I)
_REFERRING = re.compile(r"\b(it|its|they|them|their|that|this|those|these|he|she|there)\b", re.I)
_NUMBER = re.compile(r"\d")
_NUMBER_TOKEN = re.compile(r"\b[\w'\-]*\d[\w'\-]*")
_PREPOSITIONS = (
    "for|in|at|on|of|during|with|without|to|from|by|after|before|under|over|within|"
    "between|per|since|until"
)
_STARTS_WITH_PREPOSITION = re.compile(rf"^({_PREPOSITIONS})\s+\S", re.I)
# The part a preposition introduces: up to the next preposition or punctuation.
_SLOT = r"\b{}\s+[^?.!,;:]*?(?=\s+\b(?:" + _PREPOSITIONS + r")\b|[?.!,;:]|$)"
_SHORT = 8
_SWAP_MOST_WORDS = 6


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


def _asked_part(question: str) -> str:
    """What a follow-up asks about, without its lead: "And for meals?" -> "for meals"."""
    rest = question.strip()
    while (lead := _LEAD.match(rest)) and lead.end() > 0:
        rest = rest[lead.end() :]
    return rest.strip().rstrip("?.! ").strip()


def swapped(question: str, previous: str) -> str | None:
    """The previous question with the part the follow-up names swapped in, if it has one.

    "for meals" replaces the previous question's "for ..." part, a lone number its last
    number, "part-time employees" its "full-time employees"; None when the follow-up
    names no such part, or refers back ("for it").
    """
    part = _asked_part(question)
    if not part or len(part.split()) > _SWAP_MOST_WORDS or _REFERRING.search(part):
        return None
    if starts := _STARTS_WITH_PREPOSITION.match(part):
        slots = list(re.finditer(_SLOT.format(re.escape(starts.group(1))), previous, re.I))
    elif _NUMBER_TOKEN.fullmatch(part):
        slots = list(_NUMBER_TOKEN.finditer(previous))
    else:
        slots = _same_head(part, previous)
    if not slots:
        return None
    last = slots[-1]
    return f"{previous[: last.start()]}{part}{previous[last.end() :]}".strip()


def _same_head(part: str, previous: str) -> list[re.Match[str]]:
    """The words of ``previous`` that end in the part's last word, as many as it has.

    "part-time employees" matches "full-time employees".
    """
    words = part.split()
    head = re.escape(words[-1])
    before = r"[\w'\-]+\s+" * (len(words) - 1)
    return list(re.finditer(rf"\b{before}{head}\b", previous, re.I))


def condense_by_rule(question: str, history: Sequence[Turn]) -> str:
    """Carry the previous question's topic into a follow-up; leave other questions alone."""
    if not history or not is_follow_up(question):
        return question
    if (standalone := swapped(question, history[-1].query)) is not None:
        return standalone
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
    # The rewrite must keep what the follow-up itself names: its numbers and proper names,
    # and the words of what it asks about ("meals" of "And for meals?").
    named = re.findall(r"(?<=\s)[A-Z][\w'\-]*|[\w'\-]*\d[\w'\-]*", question)
    needed = content_words(" ".join(named)) | content_words(_asked_part(question))
    if 0 < len(candidate) <= 300 and needed <= content_words(candidate):
        return candidate
    return ruled


def topic(question: str, history: Sequence[Turn]) -> str:
    """The standalone question a follow-up leans on ("" for a question of its own)."""
    if not history or not is_follow_up(question):
        return ""
    return history[-1].query


def on_topic(
    question: str, found: Sequence[Passage], earlier: Sequence[Passage], gate: float
) -> list[Passage]:
    """A follow-up's passages, with the passages of its topic that name what it asks.

    Args:
        question: The follow-up as asked.
        found: The passages retrieved for its standalone form.
        earlier: The passages retrieved for the question it follows (``topic``).
        gate: The similarity a passage needs to count as evidence.

    Returns:
        ``found``, where a passage of the topic that passes ``gate`` and holds every
        content word of the follow-up takes the place of its weaker copy, or is added.
    """
    own = {indexed_form(word) for word in content_words(_asked_part(question))}
    admitted = {
        p.id: p
        for p in earlier
        if (p.dense or 0.0) >= gate
        and own <= set(indexed_form(f"{p.text} {p.named} {p.title}").split())
    }
    merged = [p if (p.dense or 0.0) >= gate else admitted.get(p.id, p) for p in found]
    kept = {p.id for p in merged}
    return merged + [p for p in admitted.values() if p.id not in kept]


def _ordered_words(text: str) -> list[str]:
    seen = content_words(text)
    ordered: list[str] = []
    for word in re.findall(r"[A-Za-z0-9][A-Za-z0-9'\-]*", text):
        lower = word.lower()
        if lower in seen and lower not in ordered:
            ordered.append(lower)
    return ordered
