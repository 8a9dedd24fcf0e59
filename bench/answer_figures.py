"""The answer benchmark's figures of shown answers: holds gold, refusals, per corpus.

A case is a question with its gold answer (None when the documents do not answer it) and
its kind (a corpus's name, ``out_of_domain`` or ``in_domain``); what a path shows for it
is a list of pieces, one per quote or unit, as the reader sees them ([] when refused).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.answer_report import UNANSWERABLE
from bench.gold import GoldQuestion, holds
from bench.reader import plain, reading
from rag.evidence import restates

Case = tuple[GoldQuestion | None, str, str]  # gold (None: unanswerable), question, kind
Shown = list[tuple[Case, list[str]]]  # each case with its shown pieces ([] when refused)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of values ({} when there are none)."""
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
    }


def figures(shown: Shown) -> dict[str, Any]:
    """Holds-gold, first-holds, pieces shown, restatements and refusals of answers."""
    answerable = [(c[0], c[1], [plain(p) for p in q]) for c, q in shown if c[0] is not None]
    out: dict[str, Any] = {"answerable": len(answerable)}
    if answerable:
        n = len(answerable)
        out["holds_gold"] = round(sum(holds(q, g) for g, _, q in answerable) / n, 3)
        out["first_holds"] = round(sum(holds(q[:1], g) for g, _, q in answerable) / n, 3)
        out["quotes_shown_mean"] = round(sum(len(q) for _, _, q in answerable) / n, 2)
        out["quotes_shown_max"] = max(len(q) for _, _, q in answerable)
        out["wrong_refusals"] = round(sum(not q for _, _, q in answerable) / n, 3)
        out["restates"] = sum(bool(q) and all(restates(s, a) for s in q) for _, a, q in answerable)
    for kind in UNANSWERABLE:
        asked = [q for c, q in shown if c[2] == kind]
        if asked:
            out[f"refused_{kind}"] = round(sum(not q for q in asked) / len(asked), 3)
    return out


def by_corpus(shown: Shown) -> dict[str, dict[str, Any]]:
    """Per corpus: holds gold and refusals (``figures``) with the reading figures."""
    out: dict[str, dict[str, Any]] = {}
    for kind in dict.fromkeys(c[2] for c, _ in shown):
        mine = [(c, q) for c, q in shown if c[2] == kind]
        got = figures(mine)
        if kind not in UNANSWERABLE:
            got.update(reading([(c[0].answer, q) for c, q in mine if c[0] is not None]))
        out[kind] = got
    return out


def collection_for(kind: str) -> str:
    """The collection a case is asked of: the Python FAQ alone for out-of-domain
    questions, a corpus's cut copy for its removed sections, else every corpus."""
    if kind == "out_of_domain":
        return "python-only"
    if kind.startswith("removed_"):
        return "cut-" + kind.removeprefix("removed_")
    return "docs"
