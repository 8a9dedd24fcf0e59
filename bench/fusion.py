"""Fusion that generalises: hybrid retrieval's parameters tuned leave-one-corpus-out and
chosen by the worst corpus.

Run: ``.venv/bin/python -m bench.fusion [--quick] [--questions N] [--work DIR]`` (also
``bench/retrieval.py --loo``). Figures go to ``bench/results/fusion-<time>.json`` and the
tables to ``fusion-<time>.md`` beside it.

Corpora: those of the answer benchmark (``bench.answer_corpora``: FAQs, a manual, a
procedural manual, a policy set, a FAQ held as both HTML and PDF), indexed together into
one collection by Docent's own ingest. Questions: each corpus's section headings whose
answer a chunk holds (``bench.gold``), every n-th up to ``--questions``, drawn and split as
``bench.answers`` does: even-numbered tune, odd-numbered are held out. ``python`` and
``python_pdf`` ask of one text, so leaving one out leaves out both.

Rankings, per corpus and half: ``dense`` (Docent's dense ranking alone), ``naive`` (the
LangChain pipeline, ``bench.naive``), ``default`` (hybrid with the retriever's defaults),
``loo`` (hybrid with the grid point (``GRID``) whose worst tune-half hit@1 over the *other* corpora
is best) and ``chosen`` (the grid point whose worst tune-half hit@1 over *all* corpora is
best: the proposed defaults). Ties go to the smaller loss to dense alone on the worst
corpus, then the worst nDCG@10, then the mean hit@1.

Figures: hit@1, nDCG@10 and ``page@10``: of the questions whose answer a PDF chunk holds,
the share with a relevant passage that carries a page among the first 10.

Speed: each question's vector, both rankings (at the grid's deepest ``candidates``) and
their rows are read from the store once (``ReadOnce``); every grid point then runs the
retriever's own fusion, MMR and de-duplication on them.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from app.api import Docent
from app.settings import Settings
from bench import answer_corpora, naive
from bench.answer_corpora import Corpus
from bench.gold import GoldQuestion, relevant_chunks
from bench.results import in_work_folder, save
from bench.retrieval import QueryCache
from rag.metrics import ranking_scores, words
from rag.retrieve import Filters, Mode, Retriever, Row
from rag.store import Collection, Index

COLLECTION = "docs"
# A first run over candidates (10, 20, 30, 50), rrf_k (5, 10, 20, 60) and mmr_lambda
# (0.7, 0.85, 1.0) moved no corpus's worst figure; the lexical weight is what is left.
GRID: dict[str, tuple[float, ...]] = {
    "candidates": (20, 30),
    "rrf_k": (5, 10, 30, 60),
    "mmr_lambda": (0.85, 1.0),
    "lexical_weight": (0.1, 0.25, 0.5, 0.75, 1.0),
}
_WHOLE = ("candidates", "rrf_k")
DEPTH = int(max(GRID["candidates"]))
HALVES = ("tune", "held_out")
# Corpora made from one text: a corpus left out takes its twin with it.
TWINS = {"python": "python_pdf", "python_pdf": "python"}
FIGURES = ("hit@1", "ndcg@10", "page@10")
Params = tuple[float, ...]
Scores = dict[str, float | None]
Table = dict[str, dict[str, dict[str, Any]]]


class ReadOnce(Retriever):
    """The retriever, reading each query's rankings and rows from the store only once.

    Both rankings are read at ``DEPTH`` and cut to this retriever's ``candidates``, so the
    grid's points share one read (a ranking's top n is the top n of its deeper read).
    """

    def __init__(self, index: Index, reads: dict[str, Any], **params: Any) -> None:
        super().__init__(index, **params)
        self.reads = reads

    def _read(
        self, target: Collection, query: str, vector: np.ndarray, filters: Filters, mode: Mode
    ) -> tuple[list[str], dict[str, float], dict[str, Row]]:
        if query not in self.reads:
            wanted, self.candidates = self.candidates, DEPTH
            try:
                self.reads[query] = super()._read(target, query, vector, filters, "hybrid")
            finally:
                self.candidates = wanted
        dense, bm25, rows = self.reads[query]
        dense = dense[: self.candidates] if mode != "lexical" else []
        lexical = dict(list(bm25.items())[: self.candidates]) if mode != "dense" else {}
        return dense, lexical, rows


@dataclass(frozen=True)
class Asked:
    """A gold question, its relevant chunks in Docent's index and in the naive one."""

    corpus: str
    half: str
    gold: GoldQuestion
    relevant: frozenset[str]
    in_pdf: bool
    naive_relevant: frozenset[str]


def draw(
    corpora: Sequence[Corpus],
    quick: bool,
    per_corpus: int,
    chunks: dict[str, list[str]],
    paged: set[str],
    naive_chunks: dict[str, list[str]],
) -> list[Asked]:
    """Every corpus's questions with a relevant chunk, drawn and halved as bench.answers."""
    asked = []
    names = {corpus.name for corpus in corpora}
    for corpus in corpora:
        kept = [(q, relevant_chunks(q, chunks)) for q in corpus.gold(quick)]
        kept = [(q, rel) for q, rel in kept if rel]
        # Twins asked together take every other question each, never the same ones.
        step = max(2 if TWINS.get(corpus.name) in names else 1, len(kept) // per_corpus)
        start = int(corpus.offset * step)
        for n, (q, rel) in enumerate(kept[start::step][:per_corpus]):
            asked.append(
                Asked(
                    corpus.name,
                    HALVES[n % 2],
                    q,
                    frozenset(rel),
                    bool(rel & paged),
                    frozenset(relevant_chunks(q, naive_chunks)),
                )
            )
    return asked


def scored(ranked: Sequence[tuple[str, int]], relevant: frozenset[str], in_pdf: bool) -> Scores:
    """hit@1, nDCG@10 and page@10 (None without a PDF copy) of (id, page) best first."""
    got = ranking_scores([cid for cid, _ in ranked], relevant)
    page = float(any(cid in relevant and p > 0 for cid, p in ranked[:10]))
    return {"hit@1": got["hit@1"], "ndcg@10": got["ndcg@10"], "page@10": page if in_pdf else None}


def hybrid(
    docent: Docent,
    reads: dict[str, Any],
    params: dict[str, Any],
    mode: Mode,
    asked: Sequence[Asked],
) -> list[Scores]:
    """Each question's scores with one retriever configuration and mode."""
    retriever = ReadOnce(docent.index, reads, **params)
    rows = []
    for a in asked:
        found = retriever.retrieve(COLLECTION, a.gold.question, 10, mode=mode)
        rows.append(scored([(p.id, p.page) for p in found], a.relevant, a.in_pdf))
    return rows


def naive_scores(docent: Docent, index: naive.NaiveIndex, asked: Sequence[Asked]) -> list[Scores]:
    """Each question's scores on the naive pipeline."""
    rows = []
    for a in asked:
        found = index.search(docent.embedder.embed_query(a.gold.question), 10)
        rows.append(scored([(c.id, c.page) for c in found], a.naive_relevant, a.in_pdf))
    return rows


def summary(asked: Sequence[Asked], rows: Sequence[Scores]) -> dict[str, dict[str, Any]]:
    """Mean figures per corpus and half (``corpus`` -> ``half`` -> figures)."""
    out: dict[str, dict[str, Any]] = {}
    for a, row in zip(asked, rows, strict=True):
        out.setdefault(a.corpus, {}).setdefault(a.half, []).append(row)
    return {
        corpus: {half: _means(part) for half, part in halves.items()}
        for corpus, halves in out.items()
    }


def _means(rows: Sequence[Scores]) -> dict[str, Any]:
    figures: dict[str, Any] = {"n": len(rows)}
    for name in FIGURES:
        values = [value for r in rows if (value := r[name]) is not None]
        figures[name] = round(mean(values), 3) if values else None
    figures["n_pdf"] = sum(r["page@10"] is not None for r in rows)
    return figures


def as_params(point: Params) -> dict[str, Any]:
    """A grid point as the retriever's keyword arguments."""
    return {
        name: int(value) if name in _WHOLE else float(value)
        for name, value in zip(GRID, point, strict=True)
    }


def choose(grid: dict[Params, Table], dense: Table, corpora: Iterable[str]) -> Params:
    """The grid point with the best worst tune-half hit@1 over ``corpora`` (ties below)."""
    names = list(corpora)

    def merit(params: Params) -> tuple[float, float, float, float]:
        tune = [grid[params][c]["tune"] for c in names]
        loss = [grid[params][c]["tune"]["hit@1"] - dense[c]["tune"]["hit@1"] for c in names]
        return (
            min(t["hit@1"] for t in tune),
            min(loss),
            min(t["ndcg@10"] for t in tune),
            mean(t["hit@1"] for t in tune),
        )

    return max(grid, key=merit)  # the first of equals: the defaults are listed first


def prepare(
    args: argparse.Namespace, work: Path
) -> tuple[Docent, naive.NaiveIndex, list[Corpus], list[Asked]]:
    """Build and index the corpora (once: kept in ``work``), the naive pipeline's index,
    and the questions drawn with their relevant chunks."""
    corpora = answer_corpora.selected(args.corpora)
    key = "+".join(sorted(c.folder(args.quick) for c in corpora))
    tag = hashlib.sha1(key.encode()).hexdigest()[:10]
    embedder = QueryCache()
    embedder.cached = True
    docent = Docent(Settings.model_validate({"data_dir": work / f"data-{tag}"}), embedder)
    folders = answer_corpora.folders(corpora, work / "corpus", args.quick)
    docent.ingest(folders, COLLECTION)
    stored = docent.index.collection(COLLECTION).chroma.get(include=["documents", "metadatas"])
    chunks = {
        cid: words(t) for cid, t in zip(stored["ids"], stored["documents"] or [], strict=True)
    }
    paged = {
        cid
        for cid, meta in zip(stored["ids"], stored["metadatas"] or [], strict=True)
        if int(str((meta or {}).get("page") or 0)) > 0
    }
    plain = naive.build(folders, docent.embedder, work / f"naive-{tag}")
    return (
        docent,
        plain,
        corpora,
        draw(corpora, args.quick, args.questions, chunks, paged, plain.words()),
    )


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Prepare, read once, score every ranking, choose leave-one-out and overall."""
    started = time.perf_counter()
    docent, plain, corpora, asked = prepare(args, work)
    prepared_s = time.perf_counter() - started
    base = Retriever(docent.index)
    default: Params = tuple(getattr(base, name) for name in GRID)
    reads: dict[str, Any] = {}
    tables: dict[str, Table] = {
        "dense": summary(asked, hybrid(docent, reads, as_params(default), "dense", asked)),
        "naive": summary(asked, naive_scores(docent, plain, asked)),
    }
    points = [default, *(p for p in itertools.product(*GRID.values()) if p != default)]
    started = time.perf_counter()
    grid = {p: summary(asked, hybrid(docent, reads, as_params(p), "hybrid", asked)) for p in points}
    grid_s = time.perf_counter() - started
    names = [c.name for c in corpora]
    tables["default"] = grid[default]
    loo = {
        name: choose(grid, tables["dense"], [n for n in names if n not in (name, TWINS.get(name))])
        for name in names
    }
    tables["loo"] = {name: grid[loo[name]][name] for name in names}
    chosen = choose(grid, tables["dense"], names)
    tables["chosen"] = grid[chosen]
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "corpora": {c.name: c.kind for c in corpora},
        "quick": args.quick,
        "questions": {
            n: {h: sum(a.corpus == n and a.half == h for a in asked) for h in HALVES} for n in names
        },
        "seconds": {"prepare": round(prepared_s, 1), "grid": round(grid_s, 1)},
        "grid": GRID,
        "default": as_params(default),
        "loo": {name: as_params(p) for name, p in loo.items()},
        "chosen": as_params(chosen),
        "tables": tables,
        "every_point": {str(as_params(p)): t for p, t in grid.items()},
    }


def render(result: dict[str, Any]) -> str:
    """Markdown tables per half: a row per corpus, hit@1 / nDCG@10 / page@10 per ranking."""
    labels = ("dense", "naive", "default", "loo", "chosen")
    lines = [
        f"default {result['default']}; chosen {result['chosen']}",
        *(f"leave out {name}: {params}" for name, params in result["loo"].items()),
    ]
    for half in HALVES:
        lines += [
            "",
            f"{half} half: hit@1 / nDCG@10 / page@10",
            "",
            "| corpus | n | " + " | ".join(labels) + " |",
            "|---|---|" + "---|" * len(labels),
        ]
        for name in result["corpora"]:
            cells = [_cell(result["tables"][label][name][half]) for label in labels]
            n = result["tables"]["dense"][name][half]["n"]
            lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *targets(result)])


def _cell(figures: dict[str, Any]) -> str:
    page = "-" if figures["page@10"] is None else f"{figures['page@10']:.2f}"
    return f"{figures['hit@1']:.2f} / {figures['ndcg@10']:.2f} / {page}"


def targets(result: dict[str, Any]) -> list[str]:
    """PASS/MISS per corpus on the held-out half, for the chosen and the LOO ranking."""
    lines = []
    for label in ("chosen", "loo"):
        for name in result["corpora"]:
            got = {k: result["tables"][k][name]["held_out"] for k in ("dense", "naive", label)}
            hit, page = got[label]["hit@1"], got[label]["page@10"]
            checks = [
                (
                    f"hit@1 {hit:.3f} >= dense {got['dense']['hit@1']:.3f}",
                    hit >= got["dense"]["hit@1"],
                ),
                (
                    f">= naive + 0.10 ({got['naive']['hit@1'] + 0.10:.3f})",
                    hit >= got["naive"]["hit@1"] + 0.10,
                ),
            ]
            if page is not None:
                checks.append((f"page@10 {page:.3f} >= 0.92", page >= 0.92))
            lines += [f"{'PASS' if ok else 'MISS'}  {label} {name}: {text}" for text, ok in checks]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the leave-one-corpus-out tuning, print the tables and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpora", default="all", help="comma-separated (default: all)")
    parser.add_argument("--questions", type=int, default=80, help="per corpus, half held out")
    parser.add_argument(
        "--quick", action="store_true", help="a part of the two largest manuals (as bench.answers)"
    )
    parser.add_argument("--work", type=Path, help="keep corpora, indexes and vectors here")
    args = parser.parse_args(argv)
    os.environ.update({"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    result = in_work_folder(args.work, "docent-fusion-", lambda work: run(args, work))
    out = save("fusion", result)
    tables = render(result)
    out.with_suffix(".md").write_text(tables + "\n")
    print(tables)
    print(f"saved {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
