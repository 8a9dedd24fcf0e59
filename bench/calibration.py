"""Calibration of the citation check's bounds (``rag.citations``) on true and false pairs.

True pairs: a gold answer's first sentences against a chunk relevant to it; false pairs:
the same sentences against a random other chunk of the corpus. The acceptance of each at
the bounds in force, and a sweep of bounds, tell whether the check admits what it should.
"""

from __future__ import annotations

import random
from typing import Any

from app.api import Docent
from bench.gold import GoldQuestion
from rag import citations
from rag.citations import CitationChecker, split_sentences


def calibrate(
    docent: Docent,
    questions: list[tuple[GoldQuestion, set[str]]],
    chunks: dict[str, tuple[str, list[str]]],
) -> dict[str, Any]:
    """Acceptance of true and false sentence-passage pairs at the bounds in force."""
    checker = CitationChecker(docent.embedder)
    chance = random.Random(3)
    ids = sorted(chunks)
    true_pairs: list[tuple[float, float]] = []
    false_pairs: list[tuple[float, float]] = []
    for gold, relevant in questions:
        sentences = [gold.answer[a:b] for a, b in split_sentences(gold.answer)][:4]
        good = chunks[sorted(relevant)[0]][0]
        bad = chunks[chance.choice([i for i in ids if i not in relevant])][0]
        for target, passage in ((true_pairs, good), (false_pairs, bad)):
            for sentence in sentences:
                support = checker.support(sentence, passage)
                target.append((support.lexical, support.semantic))

    def accepted(pairs: list[tuple[float, float]], lex: float, sem: float) -> float:
        hits = sum(1 for lexical, semantic in pairs if lexical >= lex and semantic >= sem)
        return round(hits / max(1, len(pairs)), 3)

    sweep = [
        {
            "lexical": lex,
            "semantic": sem,
            "true": accepted(true_pairs, lex, sem),
            "false": accepted(false_pairs, lex, sem),
        }
        for lex in (0.5, 0.6, 0.7, 0.75, 0.8)
        for sem in (0.4, 0.5, 0.6, 0.7)
    ]
    safe = [row for row in sweep if row["false"] <= 0.02] or sweep
    return {
        "pairs": {"true": len(true_pairs), "false": len(false_pairs)},
        "in_force": {
            "lexical": citations.LEXICAL_SUPPORT,
            "semantic": citations.SEMANTIC_SUPPORT,
            "true": accepted(true_pairs, citations.LEXICAL_SUPPORT, citations.SEMANTIC_SUPPORT),
            "false": accepted(false_pairs, citations.LEXICAL_SUPPORT, citations.SEMANTIC_SUPPORT),
        },
        "best_with_false_at_most_2pct": max(safe, key=lambda row: row["true"]),
        "sweep": sweep,
    }
