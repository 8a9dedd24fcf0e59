"""Answers made of quotes: the best-ranked sentences themselves, each with its page.

The first quote is the best-ranked sentence; up to ``QuoteConfig.most - 1`` more follow
when they score within ``QuoteConfig.margin`` of it (a second sentence often completes
the first). Each quote becomes its own numbered source, holding the whole passage it
comes from, so a reader sees the quote within its passage.

``refusal`` says when there is no answer to quote, by two signals beside the gate's
passage similarity: the question's words (``QuoteConfig.unmatched_most`` of them that no
retrieved passage holds, or one when no passage comes very close, name a topic the
documents do not cover), and the best sentence's similarity (below
``QuoteConfig.refuse_below`` nothing answers, unless a passage's heading names the
question's topic: a manual's section title is answered by a body that never repeats it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.context import Source
from rag.evidence import RankedSentence, named_by_heading, unmatched_terms
from rag.markup import neutralize
from rag.retrieve import Passage

# "[7]" inside a document's sentence would read as one of the answer's own citations.
_MARKS = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")


@dataclass(frozen=True)
class QuoteConfig:
    """How quotes are chosen among the ranked sentences (tuned by ``bench/answers.py``).

    Attributes:
        most: Most quotes shown.
        margin: A further quote scores at least the first one's score minus this.
        refuse_below: Best sentence cosine below which the question is refused.
        unmatched_below: Best passage similarity below which a question with a word that
            no retrieved passage holds is refused (``rag.evidence.unmatched_terms``).
        unmatched_most: A question with this many words that no retrieved passage holds
            is refused, however close a passage comes.
    """

    most: int = 3
    margin: float = 0.0
    refuse_below: float = 0.4
    unmatched_below: float = 0.6
    unmatched_most: int = 2


def refusal(
    question: str,
    passages: Sequence[Passage],
    ranked: Sequence[RankedSentence],
    config: QuoteConfig,
) -> str:
    """Why the question gets no answer of quotes ("" when it gets one).

    Args:
        question: The standalone question.
        passages: Every retrieved passage (also those below the gate).
        ranked: The candidate sentences of the passages that passed the gate.
        config: The floors.
    """
    if not ranked:
        return "no passage comes close to the question"
    missing = unmatched_terms(question, passages)
    best = max((p.dense or 0.0 for p in passages), default=0.0)
    if len(missing) >= config.unmatched_most or (missing and best < config.unmatched_below):
        return "no passage names " + ", ".join(missing)
    named = any(named_by_heading(question, r.sentence.passage) for r in ranked)
    if not named and max(r.cosine for r in ranked) < config.refuse_below:
        return "no sentence comes close to the question"
    return ""


def choose(ranked: Sequence[RankedSentence], config: QuoteConfig) -> list[RankedSentence]:
    """The quotes of an answer, in rank order (``refusal`` decides whether there is one)."""
    if not ranked:
        return []
    first = ranked[0]
    chosen = [first]
    for candidate in ranked[1:]:
        if len(chosen) >= config.most or candidate.score < first.score - config.margin:
            break
        chosen.append(candidate)
    return chosen


def quote_source(number: int, ranked: RankedSentence) -> Source:
    """The numbered source of one quote: the whole passage it stands in."""
    passage = ranked.sentence.passage
    return Source(
        number=number,
        passages=[passage],
        text=passage.text,
        source=passage.source,
        title=passage.title,
        page=passage.page,
        char_start=passage.char_start,
        char_end=passage.char_end,
    )


def shown(quote: str) -> str:
    """A quote as shown: one line, links and markup defused, bracketed numbers as (n).

    The quote itself stays verbatim in its citation; what a reader sees of it cannot
    carry a link a document planted nor pass for one of the answer's citations.
    """
    return _MARKS.sub(r"(\1)", neutralize(" ".join(quote.split())))


def quoted_text(quotes: list[str]) -> str:
    """The answer's text: each quote as shown, followed by its number."""
    return " ".join(f"{shown(q)} [{n}]" for n, q in enumerate(quotes, start=1))
