"""A model's direct answer above the answer unit, shown only where every word holds.

With a capable model, one or two sentences written for the question read better than a
quote alone. They are shown only when each is **verified against the units** it cites:
``rag.citations`` must find the sentence supported by one of them (close in meaning and
in words), and, stricter, every content word of the sentence must stand in the units
it cites or in the question. The second rule is what stops a changed fact: "the
treatment room" turned into "the hospital room" is close in meaning and shares most
words, but "hospital" stands in no unit. A figure is a word: "45 days" against a unit's
"27 days" fails on "45". Words that only link (stop words) are free; inflections count
as the same word (by stem).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.citations import CheckedSentence, CitationChecker, SourceText, content_words
from rag.lexical_terms import indexed_form

MOST_SENTENCES = 2


@dataclass(frozen=True)
class Lead:
    """The model's checked sentences.

    Attributes:
        text: The kept sentences, each with its citation marks; "" when none held.
        kept: The kept sentences as checked.
        rejected: Citation numbers the model gave that the units do not support.
        dropped: Sentences the model wrote that were not shown (unsupported or with a
            word the units do not hold).
    """

    text: str
    kept: list[CheckedSentence] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _stems(text: str) -> set[str]:
    return set(indexed_form(" ".join(content_words(text))).split())


def faithful(sentence: str, cited: list[str], question: str) -> bool:
    """Whether every content word of the sentence stands in a cited text or the question."""
    allowed = _stems(question).union(*(_stems(text) for text in cited))
    return _stems(sentence) <= allowed


def check(checker: CitationChecker, raw: str, units: list[SourceText], question: str) -> Lead:
    """The model's sentences that hold against the units, at most ``MOST_SENTENCES``."""
    by_number = {unit.number: unit.text for unit in units}
    checked = checker.check(raw, units, question)
    kept: list[CheckedSentence] = []
    dropped: list[str] = []
    for sentence in checked:
        cited = [by_number[s.number] for s in sentence.verified]
        if cited and faithful(sentence.text, cited, question) and len(kept) < MOST_SENTENCES:
            kept.append(sentence)
        else:
            dropped.append(sentence.text)
    rejected = sorted({n for sentence in checked for n in sentence.rejected})
    text = " ".join(_marked(sentence) for sentence in kept)
    return Lead(text, kept, rejected, dropped)


def _marked(sentence: CheckedSentence) -> str:
    marks = "".join(f"[{n}]" for n in sorted({s.number for s in sentence.verified}))
    return f"{sentence.text} {marks}"
