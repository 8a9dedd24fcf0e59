"""How answer quality is measured: the relevance rule and the ranking metrics.

One definition, shared by the benchmarks (``bench/``) and ``docent eval``, so their
figures agree by construction.

Relevance: a passage is relevant to an expected answer text when it shares a run of at
least ``min(MAX_RUN, ceil(RUN_SHARE * n))`` consecutive words with it, ``n`` being the
expected text's length in words (words: lower-cased ``[a-z0-9]+``; a word hyphenated at a
PDF line break is mended on both sides). So a passage holding a whole short answer is
relevant, a passage holding any 20-word stretch of a long answer is relevant, and one that
only repeats the question or shares stock phrases is not.

Ranking metrics at k = 10 with binary relevance: nDCG@10 (ideal: every relevant passage
of the index first), Recall@5 = relevant in the top 5 / min(5, relevant), Hit@1 and Hit@5
(a relevant passage in the top 1 or 5), reciprocal rank of the first relevant passage (0
when none is in the top 10).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence

MAX_RUN = 20
RUN_SHARE = 0.5
_WORD = re.compile(r"[a-z0-9]+")
_LINE_HYPHEN = re.compile(r"(?<=[^\W\d_])-\n(?=[a-z])")


def words(text: str) -> list[str]:
    """The words the relevance rule compares."""
    return _WORD.findall(_LINE_HYPHEN.sub("", text).lower())


def min_run(expected: str) -> int:
    """Consecutive shared words that make a passage relevant to an expected text."""
    return min(MAX_RUN, math.ceil(RUN_SHARE * len(words(expected))))


def runs(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens."""
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def relevant_ids(expected: str, passages: Mapping[str, Sequence[str]]) -> set[str]:
    """Ids of the passages (id -> words) relevant to an expected answer text."""
    n = min_run(expected)
    if n == 0:
        return set()
    gold = runs(words(expected), n)
    return {pid for pid, tokens in passages.items() if runs(tokens, n) & gold}


def quote_holds(quotes: Sequence[str], expected: str, floor: int = 8) -> bool:
    """Whether any quoted sentence holds the expected answer: the long-run rule, scaled.

    A sentence is shorter than the run that makes a passage relevant, so a quote needs a
    shared run of ``min(min_run(expected), max(floor, ceil(RUN_SHARE * n)))`` words, ``n``
    being the quote's length in words.
    """
    gold = words(expected)
    for quote in quotes:
        tokens = words(quote)
        n = min(min_run(expected), max(floor, math.ceil(RUN_SHARE * len(tokens))))
        if n and len(tokens) >= n and runs(tokens, n) & runs(gold, n):
            return True
    return False


def contains_run(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    """Whether ``needle`` occurs as consecutive words in ``haystack``."""
    if not needle:
        return False
    return tuple(needle) in runs(haystack, len(needle))


def ranking_scores(ranked: Sequence[str], relevant: Collection[str]) -> dict[str, float]:
    """nDCG@10, Recall@5, Hit@1, Hit@5 and reciprocal rank of one ranking.

    Args:
        ranked: Passage ids, best first (only the first 10 count).
        relevant: Ids of the relevant passages (at least one).
    """
    gains = [1.0 if pid in relevant else 0.0 for pid in ranked[:10]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
    top5 = sum(gains[:5])
    first = next((i for i, g in enumerate(gains) if g), None)
    return {
        "ndcg@10": dcg / ideal,
        "recall@5": top5 / min(len(relevant), 5),
        "hit@1": float(bool(gains[:1]) and gains[0] > 0),
        "hit@5": float(top5 > 0),
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
