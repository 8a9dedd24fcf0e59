"""Summaries checked like answers: each bullet against the pages it names.

A part's note is split into its points (bullets, numbered items or sentences); each point
is checked against the part's own text by ``rag.citations.CitationChecker`` (the bounds
that verify an answer sentence, a figure must appear in the supporting sentence). A point
no sentence of its pages supports is dropped and kept aside as ``unsupported``, so the
reader can be told how many were, and the combined summary is made only from checked
points. The combined summary's points are checked the same way against the checked notes,
and it falls back to those notes when none of its own points holds.

Close in meaning is not enough: "Global declarations are fine where both modules use the
import form" holds against a part whose sentence says "Circular imports are fine where
...", the rest copied. So a point must also be **faithful**: every content word of it
(by stem, figures included) stands in the sentence of its text closest to it in words,
or in the sentences either side of that one (``rag.lead`` holds an answer's lead to its
cited unit the same way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from models.embedder import Embedder
from rag.citations import CitationChecker, SourceText, content_words, split_sentences
from rag.lead import faithful

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


@dataclass
class CheckedNote:
    """What survived the check of one note."""

    kept: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def points(note: str) -> list[str]:
    """The points of a note: its bullet lines, or its sentences when it has no bullets."""
    lines = [line for line in note.splitlines() if line.strip()]
    if any(_BULLET.match(line) for line in lines):
        found = [_BULLET.sub("", line).strip() for line in lines if _BULLET.match(line)]
    else:
        found = [note[a:b].strip() for a, b in split_sentences(note)]
    return [point for point in found if point]


class SummaryChecker:
    """Keeps the points of a summary that their pages support."""

    def __init__(self, embedder: Embedder) -> None:
        self.checker = CitationChecker(embedder)

    def check(self, note: str, sources: list[str]) -> CheckedNote:
        """Each point of ``note`` checked against the texts it was written from."""
        numbered = [SourceText(n, text) for n, text in enumerate(sources, start=1)]
        sentences = [text[a:b] for text in sources for a, b in split_sentences(text)]
        result = CheckedNote()
        for point in points(note):
            checked = self.checker.check(point, numbered)
            supported = bool(checked) and all(s.verified for s in checked if s.text)
            supported = supported and faithful(point, _near(point, sentences), "")
            (result.kept if supported else result.unsupported).append(point)
        return result


def _near(point: str, sentences: list[str]) -> list[str]:
    """The sentence sharing most content words with the point, with its neighbours."""
    if not sentences:
        return []
    words = content_words(point)
    best = max(range(len(sentences)), key=lambda i: len(words & content_words(sentences[i])))
    return sentences[max(0, best - 1) : best + 2]
