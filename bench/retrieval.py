"""Retrieval benchmark: dense, lexical and hybrid on two real FAQs, latency at scale, gate.

Docent's own ingest indexes the Python FAQ (``faq/*.html`` of ``python3.11-doc``) and the
R FAQ (``R-FAQ.pdf`` of ``r-doc-pdf``) into one collection. The queries are the FAQ
questions, the gold answers the text below them, and a retrieved chunk is relevant when
it shares a long run of words with the gold answer (rule in ``bench/gold.py``). Questions
whose answer no chunk matches are dropped and counted.

Metrics at k = 10 (binary relevance): nDCG@10 (ideal: every relevant chunk of the index
first), Recall@5 = relevant chunks in the top 5 / min(5, relevant chunks), Hit@5 = share
of questions with a relevant chunk in the top 5, MRR = mean 1 / rank of the first
relevant chunk (0 when none in the top 10).

Tuning (candidates, rrf_k, mmr_lambda), one parameter at a time, picks by hybrid nDCG@10
on the even-numbered questions; figures are then reported on all questions and on the
odd-numbered ones, which the tuning never saw.

Latency: ``retrieve()`` wall time per question, in one process, model loaded, with the
query embedding (``full``) and with query vectors computed beforehand (``index``, what
grows with the collection); hybrid also as a signed-in reader (``reader_index``: filtered
by the collection's own access label, which every chunk carries, as ingest gives it).
Scale: a copy of the index grows with synthetic chunks (words drawn from the corpus's own
word frequencies; vectors are mixtures of two real chunk vectors plus noise, normalized)
written through ``Collection.upsert_chunks``, so the BM25 index grows too.

Gate: the best dense similarity among the top 6 hybrid passages (what the answer chain
gates on) for answerable questions (all FAQ questions, both FAQs indexed) and for
unanswerable ones (the R FAQ's questions against an index of the Python FAQ only). The
threshold is the lowest that refuses at least 90% of the unanswerable questions; it is
written to ``bench/results/gate.json``.

Leave-one-corpus-out tuning of fusion on the answer benchmark's six corpora is
``bench/fusion.py`` (``--loo`` runs it instead).

Run: ``.venv/bin/python bench/retrieval.py [--quick] [--scale N] [--work DIR] [--loo]``. Results
are printed and written to ``bench/results/retrieval-<timestamp>.json``. ``--work`` keeps
the indexes (``DIR/data``, the scaled copy in ``DIR/data-scale``) for the next run, which
then skips the minutes of building the scaled copy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

# Run as a script by `make bench`; the `bench` package lives in the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.api import Docent
from app.settings import Settings
from bench import synthetic
from bench.gold import PYTHON_FAQ, R_FAQ, GoldQuestion, python_faq, r_faq, relevant_chunks
from bench.results import RESULTS, in_work_folder, save
from models.embedder import Embedder
from rag.metrics import ranking_scores, words
from rag.retrieve import Filters, Mode, Retriever
from rag.store import Collection

COLLECTION, PYTHON_ONLY = "bench", "pyfaq"
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
GATE_K, GATE_REFUSALS = 6, 0.90
NDCG_TARGET, P95_TARGET_MS = 0.85, 50.0
GRID: dict[str, tuple[float, ...]] = {
    "mmr_lambda": (0.5, 0.7, 0.85, 1.0),
    "rrf_k": (10, 30, 60, 100),
    "candidates": (10, 20, 30, 50),
}
Result = dict[str, Any]


class QueryCache(Embedder):
    """The embedder, remembering query vectors while ``cached`` (for index-only timings)."""

    def __init__(self) -> None:
        super().__init__()
        self.cached = False
        self.vectors: dict[str, list[float]] = {}

    def embed_query(self, text: str) -> list[float]:
        if not self.cached:
            return super().embed_query(text)
        if text not in self.vectors:
            self.vectors[text] = super().embed_query(text)
        return self.vectors[text]


@dataclass(frozen=True)
class Config:
    """Retriever parameters under test.

    The defaults are the untuned baseline: RRF's k = 60 (Cormack et al. 2009), a customary
    MMR lambda of 0.7, 30 candidates per retriever.
    """

    candidates: int = 30
    rrf_k: int = 60
    mmr_lambda: float = 0.7

    def retriever(self, docent: Docent) -> Retriever:
        return Retriever(docent.index, **asdict(self))


@dataclass(frozen=True)
class Query:
    """A gold question with the ids of the chunks relevant to it."""

    gold: GoldQuestion
    relevant: frozenset[str]


def evaluate(
    docent: Docent,
    config: Config,
    queries: Sequence[Query],
    mode: Mode,
    collection: str,
    filters: Filters | None = None,
) -> Result:
    """Mean metrics and per-question latencies (ms) of one mode and configuration."""
    retriever = config.retriever(docent)
    rows, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        passages = retriever.retrieve(
            collection, query.gold.question, 10, filters or Filters(), mode
        )
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append(ranking_scores([p.id for p in passages], query.relevant))
    means = {name: round(float(np.mean([r[name] for r in rows])), 4) for name in rows[0]}
    return means | {"n": len(rows), "latencies_ms": latencies}


def percentiles(latencies: Sequence[float]) -> dict[str, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = np.percentile(latencies, [50, 95])
    return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1)}


def gold_queries(collection: Collection, questions: Sequence[GoldQuestion]) -> list[Query]:
    """Questions paired with their relevant chunks; questions no chunk answers dropped."""
    stored = collection.chroma.get(include=["documents"])
    chunks = {
        cid: words(text) for cid, text in zip(stored["ids"], stored["documents"] or [], strict=True)
    }
    paired = [Query(q, frozenset(relevant_chunks(q, chunks))) for q in questions]
    return [query for query in paired if query.relevant]


def tune(docent: Docent, queries: Sequence[Query]) -> tuple[Config, list[Result]]:
    """Coordinate search over GRID by hybrid nDCG@10 on the given (tuning) questions."""
    best, trials = Config(), []
    for name, values in GRID.items():
        scored = []
        for value in values:
            config = replace(best, **{name: type(getattr(best, name))(value)})
            result = evaluate(docent, config, queries, "hybrid", COLLECTION)
            trials.append(asdict(config) | {"ndcg@10": result["ndcg@10"], "mrr": result["mrr"]})
            scored.append((result["ndcg@10"], config))
        best = max(scored, key=lambda item: item[0])[1]
    return best, trials


def metrics(docent: Docent, config: Config, queries: Sequence[Query], mode: Mode) -> Result:
    """Mean metrics only (no latencies) on the benchmark collection."""
    result = evaluate(docent, config, queries, mode, COLLECTION)
    return {name: value for name, value in result.items() if name != "latencies_ms"}


def quality(docent: Docent, config: Config, queries: Sequence[Query], held_out: set[int]) -> Result:
    """Metrics of every mode on all questions and on the held-out ones."""
    unseen = [q for i, q in enumerate(queries) if i in held_out]
    return {
        mode: {
            "all": metrics(docent, config, queries, mode),
            "held_out": metrics(docent, config, unseen, mode),
        }
        for mode in MODES
    }


def latency(
    docent: Docent, config: Config, queries: Sequence[Query], modes: Sequence[Mode]
) -> Result:
    """Full and index-only latency percentiles per mode."""
    embedder = docent.embedder
    assert isinstance(embedder, QueryCache)
    report: Result = {}
    for mode in modes:
        embedder.cached = False
        full = evaluate(docent, config, queries, mode, COLLECTION)["latencies_ms"]
        embedder.cached = True
        evaluate(docent, config, queries[:1], mode, COLLECTION)  # warm the vectors
        for query in queries:
            embedder.embed_query(query.gold.question)
        index = evaluate(docent, config, queries, mode, COLLECTION)["latencies_ms"]
        report[mode] = {"full": percentiles(full), "index": percentiles(index)}
        if mode == "hybrid":  # as a signed-in reader: the grant every chunk carries
            grant = Filters(labels=(COLLECTION,))
            reader = evaluate(docent, config, queries, mode, COLLECTION, grant)["latencies_ms"]
            report[mode]["reader_index"] = percentiles(reader)
    embedder.cached = False
    return report


def at_scale(docent: Docent, config: Config, queries: Sequence[Query], size: int) -> Result:
    """Grow a copy of the index to ``size`` chunks; quality and latency there."""
    grown, built = scaled_copy(docent, size)
    return {
        "chunks": grown.index.collection(COLLECTION).count_chunks(),
        "build_s": built,
        "quality": {mode: metrics(grown, config, queries, mode) for mode in MODES},
        "latency": latency(grown, config, queries, MODES),
    }


def scaled_copy(docent: Docent, size: int) -> tuple[Docent, float | None]:
    """A copy of the index grown to ``size`` chunks, and seconds spent building it.

    A copy kept from an earlier run (``--work``) of the same size, base and synthetic
    version is reused (None seconds).
    """
    copy = Path(str(docent.settings.data_dir) + "-scale")
    base = docent.index.collection(COLLECTION).count_chunks()
    stamp = copy / "synthetic.json"
    wanted = {"chunks": size, "base": base, "version": synthetic.VERSION}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return Docent(docent.settings.model_copy(update={"data_dir": copy}), docent.embedder), None
    started = time.perf_counter()
    shutil.rmtree(copy, ignore_errors=True)  # another size or version, or interrupted
    shutil.copytree(docent.settings.data_dir, copy)
    grown = Docent(docent.settings.model_copy(update={"data_dir": copy}), docent.embedder)
    collection = grown.index.collection(COLLECTION)
    for chunks, vectors in synthetic.synthetic_batches(collection, size - base):
        collection.upsert_chunks(chunks, vectors)
    stamp.write_text(json.dumps(wanted))
    return grown, round(time.perf_counter() - started, 1)


def best_dense(
    docent: Docent, config: Config, questions: Sequence[GoldQuestion], name: str
) -> list[float]:
    """Best dense similarity among the top GATE_K hybrid passages of each question."""
    retriever = config.retriever(docent)
    return [
        max((p.dense for p in retriever.retrieve(name, q.question, k=GATE_K)), default=0.0)
        for q in questions
    ]


def calibrate(answerable: Sequence[float], unanswerable: Sequence[float]) -> Result:
    """The lowest threshold (3 decimals) refusing GATE_REFUSALS of unanswerable questions."""
    ordered = sorted(unanswerable)
    cut = ordered[math.ceil(GATE_REFUSALS * len(ordered)) - 1]
    threshold = math.floor(cut * 1000 + 1) / 1000
    quartiles = [10, 25, 50, 75, 90]

    def spread(values: Sequence[float]) -> dict[str, float]:
        return {
            f"p{q}": round(float(v), 3)
            for q, v in zip(quartiles, np.percentile(values, quartiles), strict=True)
        }

    return {
        "threshold": threshold,
        "correct_refusals": round(float(np.mean([v < threshold for v in unanswerable])), 3),
        "wrong_refusals": round(float(np.mean([v < threshold for v in answerable])), 3),
        "answerable": {"n": len(answerable)} | spread(answerable),
        "unanswerable": {"n": len(unanswerable)} | spread(unanswerable),
        "rule": f"refuse when the best dense similarity of the top {GATE_K} hybrid passages "
        "is below the threshold",
    }


def gate(docent: Docent, config: Config, queries: Sequence[Query]) -> Result:
    """Calibrate the answer gate: answerable vs R FAQ questions on a Python-FAQ-only index."""
    docent.ingest([PYTHON_FAQ], PYTHON_ONLY)
    answerable = best_dense(docent, config, [q.gold for q in queries], COLLECTION)
    outside = [q.gold for q in queries if q.gold.faq == "r"]
    return calibrate(answerable, best_dense(docent, config, outside, PYTHON_ONLY))


def run(args: argparse.Namespace, work: Path) -> Result:
    """Every measurement, in order; returns the full results."""
    # Defaults only (no DOCENT_* variables, no docent.toml): runs stay comparable.
    settings = Settings.model_validate({"data_dir": work / "data"})
    docent = Docent(settings, embedder=QueryCache())
    started = time.perf_counter()
    report = docent.ingest([PYTHON_FAQ, R_FAQ], COLLECTION)
    ingest_s = time.perf_counter() - started
    questions = python_faq() + r_faq()
    queries = gold_queries(docent.index.collection(COLLECTION), questions)[
        :: 5 if args.quick else 1
    ]
    tuned, trials = tune(docent, queries[::2])
    held_out = set(range(1, len(queries), 2))
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "environment": environment(),
        "corpus": {
            "chunks": docent.index.collection(COLLECTION).count_chunks(),
            "ingest_s": round(ingest_s, 1),
            "files": report.counts(),
            "questions": dict(Counter(q.faq for q in questions)),
            "questions_with_relevant_chunks": dict(Counter(q.gold.faq for q in queries)),
            "relevant_chunks_per_question": round(
                float(np.mean([len(q.relevant) for q in queries])), 2
            ),
        },
        "baseline": {
            "config": asdict(Config()),
            "quality": quality(docent, Config(), queries, held_out),
        },
        "tuned": {"config": asdict(tuned), "quality": quality(docent, tuned, queries, held_out)},
        "tuning": trials,
        "latency": latency(docent, tuned, queries, MODES),
        "gate": gate(docent, tuned, queries),
        "scale": at_scale(docent, tuned, queries, args.scale) if args.scale else None,
    }


def environment() -> Result:
    """Machine, load and library versions, for comparing runs."""
    versions = {
        name: metadata.version(name) for name in ("chromadb", "sentence-transformers", "torch")
    }
    return {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "versions": versions}


def render(results: Result) -> str:
    """The printed report."""
    corpus, tuned = results["corpus"], results["tuned"]
    lines = [
        f"corpus: {corpus['chunks']} chunks, questions with gold chunks "
        f"{corpus['questions_with_relevant_chunks']} of {corpus['questions']}",
        f"tuned config: {tuned['config']} (baseline {results['baseline']['config']})",
        f"{'mode':8} {'config':8} {'nDCG@10':>8} {'R@5':>6} {'Hit@5':>6} {'MRR':>6}"
        f" {'held-out nDCG@10':>17} {'p50 ms':>7} {'p95 ms':>7}",
    ]
    for which in ("baseline", "tuned"):
        for mode in MODES:
            every = results[which]["quality"][mode]["all"]
            unseen = results[which]["quality"][mode]["held_out"]
            timing = results["latency"][mode]["full"] if which == "tuned" else {}
            lines.append(
                f"{mode:8} {which:8} {every['ndcg@10']:8.3f} {every['recall@5']:6.3f}"
                f" {every['hit@5']:6.3f} {every['mrr']:6.3f} {unseen['ndcg@10']:17.3f}"
                f" {timing.get('p50_ms', ''):>7} {timing.get('p95_ms', ''):>7}"
            )
    lines += [f"latency (tuned) {mode}: {results['latency'][mode]}" for mode in MODES]
    if results["scale"]:
        scale = results["scale"]
        built = f"built in {scale['build_s']} s" if scale["build_s"] is not None else "reused"
        lines.append(f"scale: {scale['chunks']} chunks ({built})")
        lines += [f"  quality {mode}: {scale['quality'][mode]}" for mode in MODES]
        lines += [f"  latency {mode}: {scale['latency'][mode]}" for mode in MODES]
    gate_result = results["gate"]
    lines.append(
        f"gate threshold {gate_result['threshold']}: refuses {gate_result['correct_refusals']:.0%} "
        f"of unanswerable, {gate_result['wrong_refusals']:.0%} of answerable "
        f"(answerable {gate_result['answerable']}, unanswerable {gate_result['unanswerable']})"
    )
    lines += targets(results)
    return "\n".join(lines)


def targets(results: Result) -> list[str]:
    """PASS/MISS lines; the bench exits 0 either way."""
    quality_ = results["tuned"]["quality"]
    hybrid = quality_["hybrid"]["all"]["ndcg@10"]
    best_single = max(quality_["dense"]["all"]["ndcg@10"], quality_["lexical"]["all"]["ndcg@10"])
    checks = [
        (f"hybrid nDCG@10 {hybrid:.3f} >= {NDCG_TARGET}", hybrid >= NDCG_TARGET),
        (f"hybrid nDCG@10 above dense and lexical ({best_single:.3f})", hybrid > best_single),
    ]
    if results["scale"]:
        p95 = results["scale"]["latency"]["hybrid"]["index"]["p95_ms"]
        size = results["scale"]["chunks"]
        checks.append(
            (
                f"hybrid p95 {p95} ms <= {P95_TARGET_MS} ms at {size} chunks (index only)",
                p95 <= P95_TARGET_MS,
            )
        )
    return [f"{'PASS' if ok else 'MISS'}  {text}" for text, ok in checks]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report, write results and the gate threshold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="every 5th question only")
    parser.add_argument("--scale", type=int, default=100_000, help="chunks at scale (0: skip)")
    parser.add_argument(
        "--work",
        type=Path,
        help="keep the indexes in this folder and reuse them on the next run (the ingest "
        "is incremental; the scaled copy is rebuilt only if --scale or the corpus changed)",
    )
    parser.add_argument(
        "--loo",
        action="store_true",
        help="instead: tune fusion leave-one-corpus-out on the answer benchmark's corpora "
        "(bench/fusion.py; --quick then keeps a part of the two largest manuals)",
    )
    args = parser.parse_args(argv)
    if args.loo:
        from bench import fusion

        forwarded = ["--quick"] if args.quick else []
        return fusion.main(forwarded + (["--work", str(args.work)] if args.work else []))
    os.environ.update({"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    results = in_work_folder(args.work, "docent-retrieval-", lambda work: run(args, work))
    print(render(results))
    path = save("retrieval", results)
    (RESULTS / "gate.json").write_text(json.dumps(results["gate"], indent=2) + "\n")
    print(f"results: {path}")
    print(f"gate: {RESULTS / 'gate.json'} (threshold {results['gate']['threshold']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
