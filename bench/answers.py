"""Answer quality and latency with the embedded model, and calibration of citation checks.

Run by ``make bench`` (or ``python -m bench.answers``); never a timed test.

* Corpus: the Python FAQ (HTML, ``python3.11-doc``) and the R FAQ (PDF, ``r-doc-pdf``),
  indexed through Docent's own ingest. Gold: ``bench.gold`` (questions and answers of both
  FAQs; a chunk is relevant when it shares a long run of words with the gold answer).
* Answerable: FAQ questions that have a relevant chunk, asked of the full index.
  Citation accuracy: a shown citation is accurate when its source holds a relevant chunk.
  Wrong refusal: "not found" for an answerable question.
* Unanswerable: R FAQ questions asked of an index holding only the Python FAQ; a correct
  refusal is a "not found" answer (from the gate or from the model).
* Latency: time to first token and total, p50/p95, for questions that reached the model.
* Calibration of the support bounds in ``rag.citations``: every sentence of each gold
  answer against its relevant chunk (true pairs) and against a chunk of another question
  (false pairs); the share of each accepted at the bounds in force is reported, with the
  bounds a sweep would choose.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.api import Docent
from app.settings import Settings
from bench.gold import PYTHON_FAQ, R_FAQ, GoldQuestion, python_faq, r_faq, relevant_chunks, words
from rag import citations
from rag.citations import CitationChecker, split_sentences

RESULTS = Path(__file__).parent / "results"


@dataclass
class Asked:
    """One question's outcome."""

    question: str
    status: str
    accurate: int
    citations: int
    rejected: int
    first_token: float | None
    total: float


def _chunks(docent: Docent, collection: str) -> dict[str, tuple[str, list[str]]]:
    stored = docent.index.collection(collection).chunks.get(include=["documents"])
    return {
        cid: (text, words(text))
        for cid, text in zip(stored["ids"], stored["documents"] or [], strict=True)
    }


def _ask(docent: Docent, collection: str, gold: GoldQuestion, relevant: set[str]) -> Asked:
    started = time.perf_counter()
    answer = docent.ask(collection, gold.question)
    total = time.perf_counter() - started
    accurate = sum(
        1
        for c in answer.citations
        for s in answer.evidence
        if s.number == c.number and {p.id for p in s.passages} & relevant
    )
    return Asked(
        gold.question,
        answer.status,
        accurate,
        len(answer.citations),
        len(answer.rejected),
        answer.timings.get("first_token"),
        total,
    )


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
    }


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


def _gold(
    docent: Docent,
    collection: str,
    questions: list[GoldQuestion],
    chunks: dict[str, tuple[str, list[str]]],
) -> list[tuple[GoldQuestion, set[str]]]:
    by_words = {cid: tokens for cid, (_, tokens) in chunks.items()}
    pairs = [(q, relevant_chunks(q, by_words)) for q in questions]
    return [(q, relevant) for q, relevant in pairs if relevant]


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Index the FAQs, ask the questions, and gather the figures."""
    settings = Settings(data_dir=work / "data", chat_temperature=0.0)
    docent = Docent(settings)
    corpus = work / "corpus"
    (corpus / "python").mkdir(parents=True)
    for page in sorted(PYTHON_FAQ.glob("*.html")):
        shutil.copy(page, corpus / "python" / page.name)
    (corpus / "r").mkdir()
    shutil.copy(R_FAQ, corpus / "r" / R_FAQ.name)
    docent.ingest([corpus], "faqs")
    docent.ingest([corpus / "python"], "python-only")
    chunks = _chunks(docent, "faqs")
    answerable = _gold(docent, "faqs", python_faq() + r_faq(), chunks)
    chance = random.Random(11)
    asked = chance.sample(answerable, min(args.questions, len(answerable)))
    unanswerable = chance.sample(r_faq(), min(args.questions, len(r_faq())))
    budgets = {
        tokens: _figures(
            Docent(
                settings.model_copy(update={"answer_context_tokens": tokens}),
                docent.embedder,
                docent.gate,
            ),
            asked,
            unanswerable,
        )
        for tokens in args.context_tokens
    }
    first = budgets[args.context_tokens[0]]
    return {
        **first,
        "context_tokens": args.context_tokens[0],
        "by_context_tokens": {
            tokens: {k: v for k, v in figures.items() if k != "per_question"}
            for tokens, figures in budgets.items()
        },
        "calibration": calibrate(docent, answerable, chunks),
    }


def _figures(
    docent: Docent,
    asked: list[tuple[GoldQuestion, set[str]]],
    unanswerable: list[GoldQuestion],
) -> dict[str, Any]:
    """Ask every question with one ``Docent`` (one source budget); its figures."""
    docent.chat.preflight()  # load the model before the clock runs
    answered = [_ask(docent, "faqs", gold, relevant) for gold, relevant in asked]
    refused = [_ask(docent, "python-only", gold, set()) for gold in unanswerable]
    reached = [a for a in answered + refused if a.first_token is not None]
    shown = sum(a.citations for a in answered)
    return {
        "questions": {"answerable": len(answered), "unanswerable": len(refused)},
        "answerable": {
            "answered": sum(a.status == "answered" for a in answered),
            "unverified": sum(a.status == "unverified" for a in answered),
            "wrong_refusals": round(
                sum(a.status == "not_found" for a in answered) / len(answered), 3
            ),
            "citations_shown": shown,
            "citation_accuracy": round(sum(a.accurate for a in answered) / max(1, shown), 3),
            "citations_removed": sum(a.rejected for a in answered),
        },
        "correct_refusals": round(
            sum(a.status == "not_found" for a in refused) / max(1, len(refused)), 3
        ),
        "first_token_s": _percentiles([a.first_token for a in reached if a.first_token]),
        "total_s": _percentiles([a.total for a in reached]),
        "model": docent.chat.name,
        "per_question": [a.__dict__ for a in answered + refused],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a summary and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=int, default=30, help="questions of each kind")
    parser.add_argument(
        "--context-tokens",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[Settings().answer_context_tokens],
        help="source budgets to compare on the same questions, e.g. 768,512,384 "
        "(default: the setting in force); the first is reported at the top",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docent-answers-") as scratch:
        result = run(args, Path(scratch))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"answers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    hidden = ("per_question", "calibration", "by_context_tokens")
    summary = {k: v for k, v in result.items() if k not in hidden}
    if len(result["by_context_tokens"]) > 1:
        summary["by_context_tokens"] = result["by_context_tokens"]
    summary["calibration"] = {k: v for k, v in result["calibration"].items() if k != "sweep"}
    print(json.dumps(summary, indent=2))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
