"""Answers a reader can trust: do the shown quotes hold the gold answer, and refusals.

Run by ``make bench`` (or ``python -m bench.answers``); never a timed test.

* Corpus: the Python FAQ (HTML, ``python3.11-doc``), the R FAQ and the manual "An
  Introduction to R" (PDF, ``r-doc-pdf``), indexed together through Docent's own ingest.
  Gold: ``bench.gold`` (a question is kept when a chunk shares a long run of words with
  its answer). Each corpus's questions are split: even-numbered ones tune, odd ones are
  held out, and every figure is given for both halves.
* **Holds gold**: the shown answer's quotes (or verified sentences) share a long run of
  words with the gold answer (``bench.gold.holds``); **first holds**: the first quote
  alone does. **Restates**: an answer whose every sentence only restates the question.
* Refusals: out-of-domain (R FAQ questions asked of an index of the Python FAQ alone)
  and in-domain (``bench.unanswerable``, asked of the full index); wrong refusals are
  "not found" answers to answerable questions.
* Tuning: the ranking features of each question's sentences are computed once, and the
  weights, the quote margin and the refusal floor are swept on the tuning half; the
  chosen values and those in force are reported on both halves.
* End to end, in the same run: Docent's answer chain in mode ``quotes`` (the default),
  today's design (the embedded model writing from the passages, its text as shown), mode
  ``model`` (its verified sentences, else the quotes) and mode ``choose`` (the model
  picks among the ranked sentences under a grammar), the model's modes and ``quotes`` on
  the same sample, with first-text and whole answer latency p50/p95 on a loaded 2-core
  machine.
* Calibration of the support bounds in ``rag.citations`` (true and false pairs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.api import Docent
from app.settings import Settings
from bench.gold import (
    PYTHON_FAQ,
    R_FAQ,
    R_INTRO,
    GoldQuestion,
    holds,
    python_faq,
    r_faq,
    r_intro,
    relevant_chunks,
    words,
)
from bench.results import in_work_folder, save
from bench.unanswerable import IN_DOMAIN
from rag import citations, quotes
from rag.answer import Answer, AnswerChain, AnswerConfig
from rag.citations import CitationChecker, split_sentences
from rag.evidence import (
    RankedSentence,
    RankWeights,
    SentenceRanker,
    gated,
    restates,
    score,
)
from rag.quotes import QuoteConfig
from rag.retrieve import Passage, Retriever

Case = tuple[GoldQuestion | None, str, str]  # gold (None: unanswerable), question, kind


@dataclass
class Prepared:
    """One question's candidates, ranked once; configurations are applied offline."""

    case: Case
    collection: str
    passages: list[Passage]
    features: list[RankedSentence]


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


def _corpus(work: Path) -> Path:
    corpus = work / "corpus"
    if corpus.exists():
        return corpus
    (corpus / "python").mkdir(parents=True)
    for page in sorted(PYTHON_FAQ.glob("*.html")):
        shutil.copy(page, corpus / "python" / page.name)
    for folder, pdf in (("r", R_FAQ), ("manual", R_INTRO)):
        (corpus / folder).mkdir()
        shutil.copy(pdf, corpus / folder / pdf.name)
    return corpus


def _cases(
    docent: Docent, per_corpus: int
) -> tuple[dict[str, list[Case]], list[tuple[GoldQuestion, set[str]]], dict[str, Any]]:
    """Answerable and unanswerable questions by half (``tune`` / ``held_out``)."""
    stored = docent.index.collection("docs").chroma.get(include=["documents"])
    chunks = {
        cid: (text, words(text))
        for cid, text in zip(stored["ids"], stored["documents"] or [], strict=True)
    }
    by_words = {cid: tokens for cid, (_, tokens) in chunks.items()}
    halves: dict[str, list[Case]] = {"tune": [], "held_out": []}
    pairs: list[tuple[GoldQuestion, set[str]]] = []
    for kind, gold in (("python", python_faq()), ("r", r_faq()), ("manual", r_intro())):
        kept = [(q, relevant_chunks(q, by_words)) for q in gold]
        kept = [(q, rel) for q, rel in kept if rel]
        step = max(1, len(kept) // per_corpus)
        for n, (q, rel) in enumerate(kept[::step][:per_corpus]):
            halves["tune" if n % 2 == 0 else "held_out"].append((q, q.question, kind))
            pairs.append((q, rel))
    outside = random.Random(11).sample(r_faq(), min(per_corpus, len(r_faq())))
    for n, q in enumerate(outside):
        halves["tune" if n % 2 == 0 else "held_out"].append((None, q.question, "out_of_domain"))
    for n, text in enumerate(IN_DOMAIN):
        halves["tune" if n % 2 == 0 else "held_out"].append((None, text, "in_domain"))
    return halves, pairs, chunks


def _prepare(docent: Docent, cases: list[Case], config: AnswerConfig) -> list[Prepared]:
    retriever = Retriever(docent.index)
    ranker = SentenceRanker(docent.embedder)
    prepared = []
    for case in cases:
        collection = "python-only" if case[2] == "out_of_domain" else "docs"
        passages = retriever.retrieve(collection, case[1], k=config.k)
        sentences = ranker.candidates(case[1], gated(case[1], passages, config.gate))
        features = ranker.features(case[1], sentences) if sentences else []
        prepared.append(Prepared(case, collection, passages, features))
    return prepared


def _outcome(item: Prepared, weights: RankWeights, config: QuoteConfig) -> list[str]:
    ranked = score(item.features, weights)
    if quotes.refusal(item.case[1], item.passages, ranked, config):
        return []
    return [r.sentence.text for r in quotes.choose(ranked, config)]


def figures(shown: list[tuple[Case, list[str]]]) -> dict[str, Any]:
    """Holds-gold, first-holds, quotes shown, restatements and refusals of answers."""
    answerable = [(c, q) for c, q in shown if c[0] is not None]
    out: dict[str, Any] = {"answerable": len(answerable)}
    if answerable:
        n = len(answerable)
        out["holds_gold"] = round(sum(holds(q, c[0]) for c, q in answerable if c[0]) / n, 3)
        first = sum(holds(q[:1], c[0]) for c, q in answerable if c[0])
        out["first_holds"] = round(first / n, 3)
        out["quotes_shown_mean"] = round(sum(len(q) for _, q in answerable) / n, 2)
        out["quotes_shown_max"] = max(len(q) for _, q in answerable)
        out["wrong_refusals"] = round(sum(not q for _, q in answerable) / n, 3)
        out["restates"] = sum(bool(q) and all(restates(s, c[1]) for s in q) for c, q in answerable)
        out["by_corpus"] = {
            kind: round(
                sum(holds(q, c[0]) for c, q in answerable if c[2] == kind and c[0])
                / max(1, sum(c[2] == kind for c, _ in answerable)),
                3,
            )
            for kind in ("python", "r", "manual")
        }
    for kind in ("out_of_domain", "in_domain"):
        asked = [q for c, q in shown if c[2] == kind]
        if asked:
            out[f"refused_{kind}"] = round(sum(not q for q in asked) / len(asked), 3)
    return out


# Each quote shown costs the reader: a further quote must hold the answer more often
# than this share of questions to be worth it.
QUOTE_COST = 0.05
_NEVER = QuoteConfig(refuse_below=-1.0, unmatched_below=-1.0, unmatched_most=10**6)


def tune(prepared: list[Prepared]) -> tuple[RankWeights, QuoteConfig, dict[str, Any]]:
    """The weights, margin and floors that hold the gold answer most often (tuning half)."""
    best: tuple[float, RankWeights, QuoteConfig] | None = None
    grid = itertools.product((0.0, 0.15), (0.3, 0.6), (0.25, 0.5, 1.0), (0.0, 0.25, 0.5))
    for lexical, passage, heading, named in grid:
        weights = RankWeights(1.0, lexical, passage, heading, named)
        for margin in (0.0, 0.1, 1.0):
            config = replace(_NEVER, margin=margin)
            got = figures([(p.case, _outcome(p, weights, config)) for p in prepared])
            key = (
                got["holds_gold"] + 0.5 * got["first_holds"] - QUOTE_COST * got["quotes_shown_mean"]
            )
            if best is None or key > best[0]:
                best = (key, weights, config)
    assert best is not None
    _, weights, config = best
    floors = {}
    for floor, unmatched, most in itertools.product(
        (0.2, 0.3, 0.4, 0.5), (-1.0, 0.5, 0.55, 0.6, 0.65), (2, 3, 10**6)
    ):
        trial = replace(config, refuse_below=floor, unmatched_below=unmatched, unmatched_most=most)
        floors[(floor, unmatched, most)] = figures(
            [(p.case, _outcome(p, weights, trial)) for p in prepared]
        )

    # The most refusals of unanswerable questions that cost answerable ones least; of
    # floors that tie on the tuning half, the middle one (furthest from either side).
    def merit(k: tuple[float, float, int]) -> tuple[bool, float]:
        got = floors[k]
        return (
            got.get("wrong_refusals", 0) <= 0.10,
            got.get("refused_in_domain", 0)
            + got.get("refused_out_of_domain", 0)
            - 2 * got.get("wrong_refusals", 0),
        )

    top = max(merit(k) for k in floors)
    tied = sorted(k for k in floors if merit(k) == top)
    floor, unmatched, most = tied[len(tied) // 2]
    chosen = replace(config, refuse_below=floor, unmatched_below=unmatched, unmatched_most=most)
    return weights, chosen, {str(f): got for f, got in floors.items()}


def _end_to_end(docent: Docent, cases: list[Case], mode: str) -> dict[str, Any]:
    """The real chain on the questions: shown quotes, latencies, and today's raw text."""
    config = replace(docent.settings.answer_config(), mode=mode)  # type: ignore[arg-type]
    chain = AnswerChain(Retriever(docent.index), docent.chat, config)
    shown: list[tuple[Case, list[str]]] = []
    today: list[tuple[Case, list[str]]] = []
    first: list[float] = []
    total: list[float] = []
    for case in cases:
        collection = "python-only" if case[2] == "out_of_domain" else "docs"
        started = time.perf_counter()
        answer: Answer | None = None
        first_at: float | None = None
        for part in chain.stream(collection, case[1]):
            if isinstance(part, Answer):
                answer = part
            elif first_at is None:
                first_at = time.perf_counter() - started
        total.append(time.perf_counter() - started)
        first.append(first_at if first_at is not None else total[-1])
        assert answer is not None
        found = answer.status != "not_found"
        shown.append((case, [c.quote for c in answer.citations] if found else []))
        raw = answer.raw if answer.raw and "could not find" not in answer.raw else ""
        today.append((case, [raw] if raw else []))
    result = {**figures(shown), "first_text_s": _percentiles(first), "total_s": _percentiles(total)}
    if mode == "model":
        result["today_design"] = figures(today)
    return result


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Index the corpora, tune on one half, and gather the figures on both."""
    settings = Settings(data_dir=work / "data", chat_temperature=0.0)
    docent = Docent(settings)
    corpus = _corpus(work)
    docent.ingest([corpus], "docs")
    docent.ingest([corpus / "python"], "python-only")
    halves, pairs, chunks = _cases(docent, args.questions)
    config = settings.answer_config()
    prepared = {half: _prepare(docent, cases, config) for half, cases in halves.items()}
    weights, tuned, floors = tune(prepared["tune"])
    report: dict[str, Any] = {
        "questions": {h: len(c) for h, c in halves.items()},
        "tuned": {"weights": weights.__dict__, "quotes": tuned.__dict__, "floors": floors},
    }
    for label, (w, q) in {
        "in_force": (config.weights, config.quotes),
        "tuned": (weights, tuned),
    }.items():
        report[f"offline_{label}"] = {
            half: figures([(p.case, _outcome(p, w, q)) for p in items])
            for half, items in prepared.items()
        }
    docent.chat.preflight()
    report["quotes_mode"] = {h: _end_to_end(docent, c, "quotes") for h, c in halves.items()}
    if args.model_questions:
        step = max(1, sum(map(len, halves.values())) // args.model_questions)
        sample = [c for h in halves.values() for c in h][::step][: args.model_questions]
        for mode in args.model_modes.split(","):
            report[f"{mode}_mode"] = _end_to_end(docent, sample, mode)
        report["quotes_mode_on_model_sample"] = _end_to_end(docent, sample, "quotes")
    report["model"] = docent.chat.name
    report["calibration"] = calibrate(docent, pairs, chunks)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a summary and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=int, default=40, help="answerable per corpus")
    parser.add_argument(
        "--model-questions",
        type=int,
        default=24,
        help="questions also asked of the model (today's design and mode model); 0: none",
    )
    parser.add_argument(
        "--model-modes",
        default="choose,model",
        help="modes that ask the model, run on the model sample (comma-separated)",
    )
    parser.add_argument(
        "--work", type=Path, help="keep the corpus and indexes here; the next run reuses them"
    )
    args = parser.parse_args(argv)
    result = in_work_folder(args.work, "docent-answers-", lambda work: run(args, work))
    out = save("answers", result)
    summary = {k: v for k, v in result.items() if k not in ("calibration",)}
    summary["tuned"] = {k: v for k, v in result["tuned"].items() if k != "floors"}
    summary["calibration"] = {k: v for k, v in result["calibration"].items() if k != "sweep"}
    print(json.dumps(summary, indent=2, default=str))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
