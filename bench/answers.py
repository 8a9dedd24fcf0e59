"""Answers a reader can trust and can read: do the shown answers hold the gold answer,
how much of it do they show, how cleanly, and refusals.

Run by ``make bench`` (or ``python -m bench.answers``); never a timed test.

* Corpora (``bench.answer_corpora``, chosen with ``--corpora``): the Python FAQ (HTML),
  the R FAQ and "An Introduction to R" (PDF), the Debian Reference (a procedural manual,
  HTML), the Debian Policy Manual (a policy set in DOCX and PDF) and the Python FAQ held
  as both HTML and PDF, indexed together through Docent's own ingest. Gold: section
  headings as questions, section bodies as answers (``bench.gold``; a question is kept
  when a chunk shares a long run of words with its answer). Each corpus's questions are
  split: even-numbered ones tune, odd ones are held out, and every figure is given for
  both halves and per corpus.
* **Holds gold**: a shown piece, read as plain text (``bench.reader.plain``), shares a
  long run of words with the gold answer (``bench.gold.holds``); **first holds**: the
  first piece alone does. **Restates**: an answer whose every piece only restates the
  question. Reading figures (``bench.reader``): coverage of the gold answer's content
  words, the gold's first sentence held, shown length in words, presentation defects.
* Paths, side by side: ``sentence`` (the chosen ranked sentences as quotes, offline),
  ``unit`` (``rag.unit.build`` around each of the same sentences, offline) and ``chain``
  (Docent's answer chain end to end: ``Answer.text`` and its sentences, whatever it shows).
* Refusals: out-of-domain (R FAQ questions asked of an index of the Python FAQ alone)
  and in-domain (``bench.unanswerable``, asked of the full index); wrong refusals are
  "not found" answers to answerable questions.
* Tuning: the ranking features of each question's sentences are computed once, and the
  weights, the quote margin and the refusal floor are swept on the tuning half; the
  chosen values and those in force are reported on both halves.
* End to end, in the same run: the chain in mode ``quotes`` (the default), and on a
  sample today's design (the embedded model writing from the passages), mode ``model``
  and mode ``choose``, with first-text and whole answer latency p50/p95.
* ``--sheet N``: a grading sheet of N shuffled held-out answers per corpus
  (``bench.answer_report``). Calibration of the support bounds (``bench.calibration``).

The figures are in ``bench.answer_figures`` and ``bench.reader``; the chain is run by
``bench.answer_chain``; the tables and the sheet are written by ``bench.answer_report``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.api import Docent
from app.settings import Settings
from bench import answer_corpora
from bench.answer_chain import end_to_end
from bench.answer_corpora import CORPORA, Corpus
from bench.answer_figures import Case, Shown, by_corpus, collection_for, figures
from bench.answer_report import REMOVED, UNANSWERABLE, SheetRow, tables, write_sheet
from bench.calibration import calibrate
from bench.gold import GoldQuestion, r_faq, relevant_chunks
from bench.removed import remove_sections
from bench.results import in_work_folder, save
from bench.unanswerable import IN_DOMAIN
from bench.wording import paraphrases
from rag import quotes, unit
from rag.answer import AnswerConfig
from rag.evidence import (
    RankedSentence,
    RankWeights,
    SentenceRanker,
    gated,
    opening_first,
    score,
)
from rag.markup import neutralize
from rag.metrics import words
from rag.quotes import QuoteConfig
from rag.retrieve import Passage, Retriever


@dataclass
class Prepared:
    """One question's candidates, ranked once; configurations are applied offline.

    ``missing`` holds the question's words no passage names, as the chain finds them, and
    ``names`` those of them that name a thing.
    """

    case: Case
    collection: str
    passages: list[Passage]
    features: list[RankedSentence]
    missing: list[str]
    names: list[str]


def _cases(
    docent: Docent, corpora: Sequence[Corpus], per_corpus: int, quick: bool
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
    for corpus in corpora:
        kept = [(q, relevant_chunks(q, by_words)) for q in corpus.gold(quick)]
        kept = [(q, rel) for q, rel in kept if rel]
        step = max(1, len(kept) // per_corpus)
        start = int(corpus.offset * step)
        for n, (q, rel) in enumerate(kept[start::step][:per_corpus]):
            halves["tune" if n % 2 == 0 else "held_out"].append((q, q.question, corpus.name))
            pairs.append((q, rel))
    outside = random.Random(11).sample(r_faq(), min(per_corpus, len(r_faq())))
    for n, q in enumerate(outside):
        halves["tune" if n % 2 == 0 else "held_out"].append((None, q.question, "out_of_domain"))
    for n, text in enumerate(IN_DOMAIN):
        halves["tune" if n % 2 == 0 else "held_out"].append((None, text, "in_domain"))
    return halves, pairs, chunks


def _hard_cases(
    docent: Docent,
    corpora: Sequence[Corpus],
    work: Path,
    quick: bool,
    halves: dict[str, list[Case]],
) -> None:
    """Add the hard questions of the FAQs and the manual to ``halves``: each answerable
    question's paraphrase in a person's own words (``bench.wording``, kind
    ``<corpus>_own_words``, in its original's half), and the questions of sections cut from
    a copy of the corpus (``bench.removed``, kind ``removed_<corpus>``, asked of the copy)."""
    root = work / "corpus"
    for corpus in corpora:
        if corpus.name not in REMOVED:
            continue
        own = paraphrases(corpus.name)
        for cases in halves.values():
            cases += [
                (g, own[q], f"{corpus.name}_own_words")
                for g, q, k in list(cases)
                if k == corpus.name and g is not None and q in own
            ]
        cut = work / "cut" / corpus.name
        listed = cut.with_suffix(".json")
        if not listed.exists():
            shutil.rmtree(cut, ignore_errors=True)
            made = remove_sections(root / corpus.folder(quick), corpus.gold(quick), cut)
            docent.ingest([cut], f"cut-{corpus.name}")
            listed.write_text(json.dumps([[r.question.question, r.half] for r in made.removed]))
        for question, half in json.loads(listed.read_text()):
            halves[half].append((None, question, f"removed_{corpus.name}"))


def _prepare(docent: Docent, cases: list[Case], config: AnswerConfig) -> list[Prepared]:
    retriever = Retriever(docent.index)
    ranker = SentenceRanker(docent.embedder)
    prepared = []
    for case in cases:
        collection = collection_for(case[2])
        passages = retriever.retrieve(collection, case[1], k=config.k)
        sentences = ranker.candidates(case[1], gated(case[1], passages, config.gate))
        features = ranker.features(case[1], sentences) if sentences else []
        missing = ranker.unmatched(case[1], passages) if features else []
        names = ranker.names(case[1], missing)
        prepared.append(Prepared(case, collection, passages, features, missing, names))
    return prepared


def _chosen(item: Prepared, weights: RankWeights, config: QuoteConfig) -> list[RankedSentence]:
    ranked = opening_first(item.case[1], score(item.features, weights))
    if quotes.refusal(item.case[1], item.passages, ranked, config, item.missing, item.names):
        return []
    return quotes.choose(ranked, config)


def _outcome(item: Prepared, weights: RankWeights, config: QuoteConfig) -> list[str]:
    return [r.sentence.text for r in _chosen(item, weights, config)]


# "[7]" inside a document's sentence would read as one of the answer's own citations.
_MARKS = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")


def shown_sentence(text: str) -> str:
    """A sentence as the one-sentence quotes showed it: one line, links and markup
    defused, bracketed numbers as (n)."""
    return _MARKS.sub(r"(\1)", neutralize(" ".join(text.split())))


# What each offline path shows for the chosen sentences.
OFFLINE: dict[str, Callable[[RankedSentence], str]] = {
    "sentence": lambda r: shown_sentence(r.sentence.text),
    "unit": lambda r: unit.build(r.sentence).markdown,
}


def _offline(
    prepared: list[Prepared], weights: RankWeights, config: QuoteConfig
) -> dict[str, Shown]:
    """What each offline path shows for the prepared questions."""
    chosen = [(p.case, _chosen(p, weights, config)) for p in prepared]
    return {
        path: [(c, [show(r) for r in rs]) for c, rs in chosen] for path, show in OFFLINE.items()
    }


_NEVER = QuoteConfig(refuse_below=-1.0, unmatched_below=-1.0, unmatched_most=10**6)


def _worst(shown: Shown) -> tuple[float, float, float]:
    """The worst corpus's holds-gold, first-holds and wrong refusals (answerable kinds)."""
    got = [figures(part) for part in _kinds(shown).values()]
    got = [g for g in got if g.get("answerable")]
    if not got:
        return 0.0, 0.0, 0.0
    return (
        min(g["holds_gold"] for g in got),
        min(g["first_holds"] for g in got),
        max(g["wrong_refusals"] for g in got),
    )


def _kinds(shown: Shown) -> dict[str, Shown]:
    out: dict[str, Shown] = {}
    for case, pieces in shown:
        out.setdefault(case[2], []).append((case, pieces))
    return out


def _refused(shown: Shown) -> float:
    """The worst share of unanswerable questions refused, over their kinds."""
    shares = [
        sum(not q for _, q in part) / len(part)
        for kind, part in _kinds(shown).items()
        if kind in UNANSWERABLE and part
    ]
    return min(shares, default=0.0)


def tune(prepared: list[Prepared]) -> tuple[RankWeights, QuoteConfig, dict[str, Any]]:
    """The weights, margin and floors whose answer units hold the gold answer best on the
    worst corpus (tuning half), then the floors that refuse most on the worst kind of
    unanswerable question with no corpus (own-words questions included) losing more than
    10% of its answerable questions."""
    best: tuple[float, RankWeights, QuoteConfig] | None = None
    grid = itertools.product(
        (0.0, 0.15), (0.3, 0.6), (0.25, 0.5, 1.0), (0.0, 0.25), (0.0, 0.5, 1.0)
    )
    for lexical, passage, heading, named, unit_weight in grid:
        weights = RankWeights(1.0, lexical, passage, heading, named, unit_weight)
        for margin in (0.0, 0.1):
            config = replace(_NEVER, margin=margin)
            holds, first, _ = _worst(_offline(prepared, weights, config)["unit"])
            key = holds + 0.5 * first
            if best is None or key > best[0]:
                best = (key, weights, config)
    assert best is not None
    _, weights, config = best
    floors: dict[tuple[float, float, int], tuple[float, float]] = {}
    for floor, unmatched, most in itertools.product(
        (0.2, 0.3, 0.4, 0.5), (-1.0, 0.5, 0.6), (2, 3, 10**6)
    ):
        trial = replace(config, refuse_below=floor, unmatched_below=unmatched, unmatched_most=most)
        shown = _offline(prepared, weights, trial)["unit"]
        floors[(floor, unmatched, most)] = (_worst(shown)[2], _refused(shown))

    # Of floors that tie on the tuning half, the middle one (furthest from either side).
    def merit(k: tuple[float, float, int]) -> tuple[bool, float]:
        wrong, refused = floors[k]
        return wrong <= 0.10, refused - 2 * wrong

    top = max(merit(k) for k in floors)
    tied = sorted(k for k in floors if merit(k) == top)
    floor, unmatched, most = tied[len(tied) // 2]
    chosen = replace(config, refuse_below=floor, unmatched_below=unmatched, unmatched_most=most)
    table = {
        str(k): {"worst_wrong_refusals": w, "worst_refused": r} for k, (w, r) in floors.items()
    }
    return weights, chosen, table


def _index(docent: Docent, corpora: Sequence[Corpus], work: Path, quick: bool) -> None:
    """Build the corpora's folders and index them (``docs``; ``python-only`` for the
    out-of-domain questions)."""
    root = work / "corpus"
    docent.ingest(answer_corpora.folders(corpora, root, quick), "docs")
    docent.ingest(answer_corpora.folders([CORPORA["python"]], root, quick), "python-only")


def _offline_figures(
    prepared: dict[str, list[Prepared]], weights: RankWeights, config: QuoteConfig
) -> dict[str, dict[str, Any]]:
    """Per path and half: overall figures, with per-corpus ones under ``by_corpus``."""
    out: dict[str, dict[str, Any]] = {path: {} for path in OFFLINE}
    for half, items in prepared.items():
        for path, shown in _offline(items, weights, config).items():
            out[path][half] = {**figures(shown), "by_corpus": by_corpus(shown)}
    return out


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Index the corpora, tune on one half, and gather the figures on both."""
    corpora = answer_corpora.selected(args.corpora)
    key = "+".join(sorted(c.folder(args.quick) for c in corpora))
    data = work / f"data-{hashlib.sha1(key.encode()).hexdigest()[:10]}"
    settings = Settings(data_dir=data, chat_temperature=0.0)
    docent = Docent(settings)
    _index(docent, corpora, work, args.quick)
    halves, pairs, chunks = _cases(docent, corpora, args.questions, args.quick)
    _hard_cases(docent, corpora, work, args.quick, halves)
    config = settings.answer_config()
    prepared = {half: _prepare(docent, cases, config) for half, cases in halves.items()}
    weights, tuned, floors = tune(prepared["tune"])
    report: dict[str, Any] = {
        "corpora": {c.name: c.kind for c in corpora},
        "quick": args.quick,
        "questions": {h: len(c) for h, c in halves.items()},
        "tuned": {"weights": weights.__dict__, "quotes": tuned.__dict__, "floors": floors},
    }
    for label, (w, q) in {
        "in_force": (config.weights, config.quotes),
        "tuned": (weights, tuned),
    }.items():
        report[f"offline_{label}"] = _offline_figures(prepared, w, q)
    docent.chat.preflight()
    sheet: list[SheetRow] = []
    report["quotes_mode"] = {
        h: end_to_end(docent, c, "quotes", sheet if h == "held_out" else None)
        for h, c in halves.items()
    }
    if args.model_questions:
        step = max(1, sum(map(len, halves.values())) // args.model_questions)
        sample = [c for h in halves.values() for c in h][::step][: args.model_questions]
        for mode in args.model_modes.split(","):
            report[f"{mode}_mode"] = end_to_end(docent, sample, mode)
        report["quotes_mode_on_model_sample"] = end_to_end(docent, sample, "quotes")
    report["model"] = docent.chat.name
    if not args.quick:
        report["calibration"] = calibrate(docent, pairs, chunks)
    report["tables"] = _tables(report)
    if args.sheet:
        graded, scored = write_sheet([r for r in sheet if r.corpus != "out_of_domain"], args.sheet)
        report["sheet"] = {"to_grade": str(graded), "scores": str(scored)}
    return report


def _tables(report: dict[str, Any]) -> str:
    """The per-corpus tables: offline paths with the settings in force, and the chain."""
    offline = report["offline_in_force"]
    by_path = {
        path: {half: got["by_corpus"] for half, got in offline[path].items()} for path in offline
    }
    by_path["chain"] = {half: got["by_corpus"] for half, got in report["quotes_mode"].items()}
    return tables(by_path)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a summary and save the figures and tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--questions", type=int, help="answerable per corpus (default 80; --quick: 40)"
    )
    parser.add_argument(
        "--model-questions",
        type=int,
        help="questions also asked of the model (today's design and mode model); 0: none "
        "(default 24; --quick: 0)",
    )
    parser.add_argument(
        "--model-modes",
        default="choose,model",
        help="modes that ask the model, run on the model sample (comma-separated)",
    )
    parser.add_argument(
        "--corpora",
        default="all",
        help=f"comma-separated, of: {', '.join(CORPORA)} (default: all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a part of the two largest manuals, fewer questions, no model sample unless "
        "asked for, no calibration: one run in 20-30 minutes on 2 cores",
    )
    parser.add_argument(
        "--sheet", type=int, default=0, help="write N held-out answers per corpus to grade"
    )
    parser.add_argument(
        "--work", type=Path, help="keep the corpora and indexes here; the next run reuses them"
    )
    args = parser.parse_args(argv)
    if args.questions is None:
        args.questions = 40 if args.quick else 80
    if args.model_questions is None:
        args.model_questions = 0 if args.quick else 24
    result = in_work_folder(args.work, "docent-answers-", lambda work: run(args, work))
    out = save("answers", result)
    out.with_suffix(".md").write_text(result["tables"])
    summary = {k: v for k, v in result.items() if k not in ("calibration", "tables")}
    summary["tuned"] = {k: v for k, v in result["tuned"].items() if k != "floors"}
    if "calibration" in result:
        summary["calibration"] = {k: v for k, v in result["calibration"].items() if k != "sweep"}
    print(json.dumps(summary, indent=2, default=str))
    print(result["tables"])
    print(f"saved {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
