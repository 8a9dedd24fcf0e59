"""The answer benchmark's per-corpus tables and its grading sheet.

The tables put, per corpus and half, what each path shows side by side: the offline
sentence path (today's one-sentence quotes), the offline unit path (``rag.unit`` around
the same chosen sentences) and Docent's real chain end to end (whatever it shows).

The grading sheet is for a person: ``graded-<time>.jsonl`` holds, per corpus, a shuffled
sample of held-out answers (question, gold answer, shown text, citations) with empty
``grade``, ``defects`` and ``note`` fields, and ``graded-<time>.scores.jsonl`` holds the
automatic scores of the same answers by ``id``, kept apart so the grader does not see
them (``notes/answer-rubric.md``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.reader import DETECTORS
from bench.results import RESULTS

PATHS = ("sentence", "unit", "chain")
# Out of domain, in domain (written), and each FAQ's or manual's removed sections
# (``bench.removed``: asked of a copy without them, the collection ``cut-<corpus>``).
REMOVED = ("python", "r", "manual")
UNANSWERABLE = ("out_of_domain", "in_domain", *(f"removed_{name}" for name in REMOVED))
_COLUMNS = (
    "| corpus | half | path | n | holds gold | first sentence | coverage | words median | "
    "words p95 | wrong refusals | with defect | " + " | ".join(DETECTORS) + " |"
)


def tables(by_path: dict[str, dict[str, dict[str, dict[str, Any]]]]) -> str:
    """Markdown tables from figures by path, half and corpus: one per corpus of
    answerable questions, then one of refusals."""
    corpora = sorted({c for halves in by_path.values() for h in halves.values() for c in h})
    out = []
    for corpus in corpora:
        if corpus in UNANSWERABLE:
            continue
        rows = [f"### {corpus}", "", _COLUMNS, "|" + " --- |" * (11 + len(DETECTORS))]
        for half in ("tune", "held_out"):
            for path in PATHS:
                got = by_path.get(path, {}).get(half, {}).get(corpus)
                if got:
                    rows.append(_row(corpus, half, path, got))
        out.append("\n".join(rows))
    out.append(_refusals(by_path))
    return "\n\n".join(out) + "\n"


def _refusals(by_path: dict[str, dict[str, dict[str, dict[str, Any]]]]) -> str:
    rows = ["### refusals", "", "| half | path | " + " | ".join(UNANSWERABLE) + " |"]
    rows.append("|" + " --- |" * (2 + len(UNANSWERABLE)))
    for half in ("tune", "held_out"):
        for path in PATHS:
            got = by_path.get(path, {}).get(half, {})
            if any(kind in got for kind in UNANSWERABLE):
                cells = [
                    f"{100 * got[kind].get(f'refused_{kind}', 0):.1f}%" if kind in got else "-"
                    for kind in UNANSWERABLE
                ]
                rows.append(f"| {half} | {path} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _row(corpus: str, half: str, path: str, got: dict[str, Any]) -> str:
    def share(key: str) -> str:
        return f"{100 * got.get(key, 0):.1f}%"

    n = got.get("answerable", 0)
    cells = [
        corpus,
        half,
        path,
        str(n),
        share("holds_gold"),
        share("first_sentence"),
        share("coverage"),
        str(got.get("words_median", 0)),
        str(got.get("words_p95", 0)),
        share("wrong_refusals"),
        f"{got.get('with_defect', 0)}/{got.get('answered', 0)}",
        *(str(got.get("defects", {}).get(kind, 0)) for kind in DETECTORS),
    ]
    return "| " + " | ".join(cells) + " |"


@dataclass
class SheetRow:
    """One answer to grade: what the grader sees, and its automatic scores apart."""

    corpus: str
    question: str
    gold: str
    shown: str
    citations: list[dict[str, Any]]
    scores: dict[str, Any] = field(default_factory=dict)


def write_sheet(rows: Sequence[SheetRow], per_corpus: int, seed: int = 37) -> tuple[Path, Path]:
    """Write ``per_corpus`` shuffled answers of each corpus to grade, and their scores.

    Returns:
        The sheet's path and the scores' path.
    """
    chance = random.Random(seed)
    picked: list[SheetRow] = []
    for corpus in sorted({r.corpus for r in rows}):
        mine = [r for r in rows if r.corpus == corpus]
        picked.extend(chance.sample(mine, min(per_corpus, len(mine))))
    chance.shuffle(picked)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    sheet = RESULTS / f"graded-{stamp}.jsonl"
    scores = RESULTS / f"graded-{stamp}.scores.jsonl"
    with sheet.open("w") as graded, scores.open("w") as scored:
        for number, row in enumerate(picked, start=1):
            seen = {
                "id": number,
                "corpus": row.corpus,
                "question": row.question,
                "gold": row.gold,
                "shown": row.shown,
                "citations": row.citations,
                "grade": "",
                "defects": [],
                "note": "",
            }
            graded.write(json.dumps(seen, ensure_ascii=False) + "\n")
            scored.write(json.dumps({"id": number, **row.scores}, ensure_ascii=False) + "\n")
    return sheet, scores
