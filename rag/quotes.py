"""Answers made of quotes: the best-ranked sentences, each grown into its answer unit
(``rag.unit``) and shown with its page.

The first quote is the best-ranked sentence; up to ``QuoteConfig.most - 1`` more follow
when they score within ``QuoteConfig.margin`` of it (a second sentence often completes
the first). Each unit becomes its own numbered source, holding the passages it stands
in, so a reader sees the quote within its passage.

``refusal`` says when there is no answer to quote, by two signals beside the gate's
passage similarity: the question's words (``QuoteConfig.unmatched_most`` of them that no
retrieved passage holds, or one when no passage comes very close, or one that is a name
such as "NumPy", name a topic the documents do not cover), and the best sentence's similarity (below
``QuoteConfig.refuse_below`` nothing answers, unless a passage's heading names the
question's topic: a manual's section title is answered by a body that never repeats it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.context import Source
from rag.evidence import RankedSentence, named_by_heading, section_of, unmatched_terms
from rag.retrieve import Passage
from rag.unit import Unit

_ENDS_IN_BLOCK = re.compile(r"(?:^|\n)(?:```+|\|.*\|)$")
_BESIDE, _BELOW = " ", "\n\n"


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
    unmatched_below: float = -1.0
    unmatched_most: int = 2


def refusal(
    question: str,
    passages: Sequence[Passage],
    ranked: Sequence[RankedSentence],
    config: QuoteConfig,
    missing: list[str] | None = None,
    names: Sequence[str] = (),
) -> str:
    """Why the question gets no answer of quotes ("" when it gets one).

    Args:
        question: The standalone question.
        passages: Every retrieved passage (also those below the gate).
        ranked: The candidate sentences of the passages that passed the gate.
        config: The floors.
        missing: The question's words no passage names (``SentenceRanker.unmatched``,
            which forgives synonyms); by default ``unmatched_terms``'s, word for word.
        names: Those of them that name a thing ("iPhone", "NumPy": ``SentenceRanker.
            names``): one is enough to refuse.
    """
    if not ranked:
        return "no passage comes close to the question"
    if missing is None:
        missing = unmatched_terms(question, passages)
    best = max((p.dense or 0.0 for p in passages), default=0.0)
    if len(missing) >= config.unmatched_most or (missing and best < config.unmatched_below):
        return "no passage names " + ", ".join(missing)
    if names:
        return "no passage names " + ", ".join(names)
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
    # The first may be a named section's opening put before better-scored sentences of
    # its section (``rag.evidence.opening_first``): they are its detail, not more quotes.
    bar = max(r.score for r in ranked) - config.margin
    section = (first.sentence.passage.doc_id, section_of(first.sentence)[0])
    for candidate in ranked[1:]:
        if len(chosen) >= config.most or candidate.score < bar:
            break
        within = (candidate.sentence.passage.doc_id, section_of(candidate.sentence)[0])
        if first.score < bar and within == section:
            continue
        chosen.append(candidate)
    return chosen


def unit_source(number: int, unit: Unit) -> Source:
    """The numbered source of one answer unit: the passages it stands in."""
    first, last = unit.passages[0], unit.passages[-1]
    return Source(
        number=number,
        passages=list(unit.passages),
        text=unit.text,
        source=first.source,
        title=first.title,
        page=first.page,
        char_start=first.char_start,
        char_end=max(last.char_end, first.char_end),
    )


def units_text(shown_units: list[str]) -> str:
    """The answer's text: each unit (Markdown) followed by its number, a paragraph each.

    The number follows a code block or a table on a line of its own: after a closing
    fence or a table row it would break the block.
    """
    return "\n\n".join(
        f"{unit}{_BESIDE if not _ENDS_IN_BLOCK.search(unit) else _BELOW}[{n}]"
        for n, unit in enumerate(shown_units, start=1)
    )
