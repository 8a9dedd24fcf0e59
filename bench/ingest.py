"""Ingest benchmark: Docent against the LangChain pipeline a user would write, same corpus.

Every measured pipeline runs in its own subprocess, so start-up, imports and memory are
counted the same way for all (bench/measure.py): wall time from spawn to exit, peak RSS
from ``os.wait4`` and the peak summed RSS of the process tree.
Throughput targets use the whole-subprocess wall time for both sides and the same page
count (PDF pages + HTML files, from the corpus), since the two sides chunk differently.
``docent`` runs with Docent's default settings (its default embedder backend);
``docent_fp32`` forces the fp32 torch backend for comparison. On a shared machine the
CPU-seconds basis (pages per CPU second of the whole process tree) is shown beside wall time.

Run with ``make bench`` or ``.venv/bin/python bench/ingest.py [--quick]``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from pypdf import PdfReader

# `make bench` runs this file as a script; the `bench` package lives in the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import (
    DEFAULT_HTML_GLOB,
    DEFAULT_PDFS,
    QUICK_HTML_FILES,
    QUICK_PDFS,
    Corpus,
    CorpusError,
    CorpusFile,
    build_corpus,
)
from bench.measure import run_child
from bench.workers import COLLECTION, TOP_K

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
THROUGHPUT_TARGET = 3.0
CORES_TARGET = 1.8
# The larger mixed corpus (--large): big typeset manuals from Debian documentation packages
# (octave-doc, gnuplot-doc, r-doc-pdf) beside the Python library reference HTML.
LARGE_PDFS = (
    Path("/usr/share/doc/octave/octave.pdf"),
    Path("/usr/share/doc/gnuplot/gnuplot.pdf"),
    Path("/usr/share/R/doc/manual/refman.pdf"),
)
LARGE_HTML_GLOB = "library/[a-c]*.html"
REINGEST_TARGET = 0.03
# (run, data folder, embedder backend or None for Docent's default): the re-ingest reuses
# the first run's folder, files unchanged.
DOCENT_RUNS: tuple[tuple[str, str, str | None], ...] = (
    ("docent", "docent", None),
    ("docent_reingest", "docent", None),
    ("docent_fp32", "docent-fp32", "torch"),
)
VERSIONED = (
    "torch",
    "sentence-transformers",
    "chromadb",
    "langchain-core",
    "langchain-community",
    "langchain-chroma",
    "langchain-huggingface",
    "pypdf",
)

Result = dict[str, Any]


def offline_env(**extra: str) -> dict[str, str]:
    """The environment for every child: no hub access, no telemetry, no tracing."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        LANGSMITH_TRACING="false",
    )
    env.update(extra)
    return env


def add_pdfs(corpus: Corpus, pdfs: tuple[Path, ...]) -> None:
    """Copy more PDFs (absolute paths) into the corpus's ``pdf/`` folder.

    Raises:
        CorpusError: One is missing (its Debian package is not installed).
    """
    for source in pdfs:
        if not source.is_file():
            raise CorpusError(f"{source} not found; apt-get install its documentation package")
        target = corpus.root / "pdf" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)  # --large has no R manuals
        shutil.copyfile(source, target)
        pages = len(PdfReader(target).pages)
        corpus.files.append(CorpusFile(f"pdf/{source.name}", "pdf", pages, target.stat().st_size))
    corpus.files.sort(key=lambda item: item.path)


def _worker_argv(worker: str, first: Path, second: Path) -> list[str]:
    return [sys.executable, "-m", "bench.workers", worker, str(first), str(second)]


def measure_baseline(corpus: Corpus, persist_dir: Path, timeout: float) -> Result:
    """Run the LangChain baseline in a subprocess and summarize it."""
    child = run_child(
        _worker_argv("baseline", corpus.root, persist_dir), offline_env(), ROOT, timeout
    )
    phases = child.pop("report") or {}
    if child["returncode"] != 0 or "pipeline_s" not in phases:
        return child | {"error": "baseline failed"}
    return child | phases | {"tool_pages": phases["pages"], "embedded": phases["chunks"]}


def default_backend() -> str:
    """Docent's default embedder backend (what ``docent ingest`` uses unless told otherwise)."""
    from app.settings import Settings

    return str(Settings.model_fields["embedder_backend"].default)


def measure_docent(corpus: Corpus, data_dir: Path, backend: str | None, timeout: float) -> Result:
    """Run ``docent ingest`` in a subprocess and summarize its JSON report.

    Args:
        corpus: The corpus to ingest.
        data_dir: ``DOCENT_DATA_DIR`` of the run.
        backend: ``DOCENT_EMBEDDER_BACKEND``, or None for Docent's default.
        timeout: Seconds before the run is killed.
    """
    docent = Path(sys.executable).parent / "docent"
    if not docent.is_file():
        return {"error": f"docent CLI not found at {docent} (pip install -e .)"}
    argv = [str(docent), "ingest", str(corpus.root), "--collection", COLLECTION, "--json"]
    env = offline_env(DOCENT_DATA_DIR=str(data_dir))
    env.pop("DOCENT_EMBEDDER_BACKEND", None)
    if backend is not None:
        env["DOCENT_EMBEDDER_BACKEND"] = backend
    child = run_child(argv, env, ROOT, timeout)
    report = child["report"]
    if report is None or child["returncode"] not in (0, 2):  # 2: some files failed
        return child | {"error": f"docent exited {child['returncode']}"}
    outcomes = {
        key: report.get(key) for key in ("added", "updated", "unchanged", "skipped", "failed")
    }
    return child | {
        "backend": backend or default_backend(),
        "pipeline_s": _rounded(report.get("seconds")),
        "outcomes": outcomes,
        "tool_pages": report.get("pages", corpus.pages),
        "chunks": report.get("chunks_written"),
        "embedded": report.get("chunks_embedded"),
    }


def _rounded(value: Any) -> Any:
    # Three decimals: an unchanged re-ingest's pipeline takes a few milliseconds.
    return round(value, 3) if isinstance(value, float) else value


def add_rates(result: Result, pages: int) -> Result:
    """Throughput on the common page count, by wall time and by pipeline time."""
    wall, pipeline = result.get("wall_s"), result.get("pipeline_s")
    if wall:
        result["pages_per_s_wall"] = round(pages / wall, 2)
    if result.get("cpu_s"):
        result["pages_per_cpu_s"] = round(pages / result["cpu_s"], 3)
        result["cpu_s_per_page"] = round(result["cpu_s"] / pages, 4)
        if wall:
            result["cores_busy"] = round(result["cpu_s"] / wall, 2)
    if wall and isinstance(pipeline, (int, float)) and pipeline > 0:
        result["startup_s"] = round(wall - pipeline, 2)
        result["pages_per_s_pipeline"] = round(pages / pipeline, 2)
        if isinstance(result.get("embedded"), int):
            result["chunks_per_s_pipeline"] = round(result["embedded"] / pipeline, 2)
    return result


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if isinstance(numerator, (int, float)) and isinstance(denominator, (int, float)):
        return round(numerator / denominator, 4) if denominator else None
    return None


def _complete(run: Result) -> bool:
    """The run finished and every file was ingested (a failed file is cheap, never a PASS)."""
    return "error" not in run and not run.get("outcomes", {}).get("failed")


def evaluate_targets(runs: dict[str, Result]) -> list[Result]:
    """PASS/MISS for throughput (>= 2x baseline) and re-ingest cost (<= 3% of first).

    The targets are Docent's default configuration on the wall basis; the pipeline and
    CPU bases and the fp32 backend are shown with them for comparison.
    """
    base, docent, fp32 = runs["baseline"], runs["docent"], runs.get("docent_fp32", {})
    label = f"docent ({docent.get('backend', '?')})"
    rows = [
        (f"{label} / baseline pages/s", "wall", docent, "pages_per_s_wall"),
        (f"{label} / baseline pages/s", "pipeline", docent, "pages_per_s_pipeline"),
        (f"{label} / baseline pages/s", "cpu", docent, "pages_per_cpu_s"),
        ("docent (torch fp32) / baseline pages/s", "wall", fp32, "pages_per_s_wall"),
    ]
    targets = []
    for name, basis, run, key in rows:
        value = _ratio(run.get(key), base.get(key))
        passed = value is not None and value >= THROUGHPUT_TARGET and _complete(run)
        targets.append(
            {
                "target": f"{name} >= {THROUGHPUT_TARGET:g}x",
                "basis": basis,
                "value": value,
                "status": "PASS" if passed else "MISS",
            }
        )
    cores = docent.get("cores_busy")
    targets.append(
        {
            "target": f"docent cores busy >= {CORES_TARGET:g} (counts when other CPU ~0)",
            "basis": "cpu/wall",
            "value": cores,
            "status": "PASS" if cores is not None and cores >= CORES_TARGET else "MISS",
        }
    )
    reingest = runs["docent_reingest"]
    for basis, key in (("wall", "wall_s"), ("pipeline", "pipeline_s")):
        value = _ratio(reingest.get(key), docent.get(key))
        passed = value is not None and value <= REINGEST_TARGET and _complete(docent)
        targets.append(
            {
                "target": f"re-ingest / first ingest <= {REINGEST_TARGET:.0%}",
                "basis": basis,
                "value": value,
                "status": "PASS" if passed else "MISS",
            }
        )
    return targets


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# (header, result key, width) of the runs table.
COLUMNS = (
    ("wall s", "wall_s", 8),
    ("pipe s", "pipeline_s", 8),
    ("start s", "startup_s", 8),
    ("pages", "tool_pages", 7),
    ("chunks", "chunks", 8),
    ("embedded", "embedded", 9),
    ("pg/s wall", "pages_per_s_wall", 10),
    ("pg/CPU s", "pages_per_cpu_s", 9),
    ("CPU s/pg", "cpu_s_per_page", 9),
    ("cores", "cores_busy", 6),
    ("ch/s pipe", "chunks_per_s_pipeline", 10),
    ("RSS MB", "peak_rss_mb", 8),
    ("tree MB", "peak_tree_rss_mb", 8),
    ("other CPU", "other_cpu_share", 10),
)
BUSY_SHARE = 0.15


def _runs_table(runs: dict[str, Result]) -> list[str]:
    lines = [f"{'run':<16}" + "".join(f"{header:>{width}}" for header, _, width in COLUMNS)]
    for name, run in runs.items():
        if "error" in run:
            detail = run.get("stderr_tail", "").splitlines()[-1:] or [""]
            lines.append(f"{name:<16}ERROR: {run['error']} {detail[0]}")
            continue
        cells = "".join(f"{_cell(run.get(key)):>{width}}" for _, key, width in COLUMNS)
        lines.append(f"{name:<16}{cells}")
        if run.get("outcomes", {}).get("failed"):
            lines.append(f"{'':<16}NOTE: {run['outcomes']['failed']} files failed (see the JSON)")
    busiest = max((run.get("other_cpu_share", 0.0) for run in runs.values()), default=0.0)
    if busiest > BUSY_SHARE:
        lines.append(
            f"WARNING: other processes used up to {busiest:.0%} of the CPUs during a run; "
            "timings are unreliable, rerun on an idle machine."
        )
    return lines


def _quality_line(quality: Result) -> str:
    if not quality.get("available"):
        return f"int8 unavailable: {quality.get('error')}"
    return (
        f"int8 vs fp32 on {quality['passages']} chunks from the {quality['source']}: "
        f"cosine mean {quality['cosine_mean']}, min {quality['cosine_min']}; "
        f"top-{TOP_K} overlap over {quality['queries']} queries mean "
        f"{quality['top10_overlap_mean']}, min {quality['top10_overlap_min']}; "
        f"encode texts/s {quality['encode_texts_per_s']}"
    )


def render(results: Result) -> str:
    """The human-readable report: corpus, runs table, int8 agreement, targets."""
    corpus = results["corpus"]
    lines = [
        f"Corpus: {corpus['pdf_files']} PDF + {corpus['html_files']} HTML files = "
        f"{corpus['pages']} pages (PDF pages + HTML files), {corpus['bytes'] / 1e6:.1f} MB",
        "",
        *_runs_table(results["runs"]),
        "",
        _quality_line(results["int8_quality"]),
        "",
    ]
    lines.extend(
        f"{t['status']:<5} {t['target']:<48} basis={t['basis']:<9}value={t['value']}"
        for t in results["targets"]
    )
    lines.append(f"basis: {results['basis']}")
    return "\n".join(lines)


def environment() -> Result:
    """Machine and library versions, for comparing results across runs."""
    versions: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "versions": versions,
    }


def measure_quality(runs: dict[str, Result], work: Path, timeout: float) -> Result:
    """The int8 agreement check on a Docent index, else on the baseline index."""
    if "error" not in runs["docent"]:
        source, index = "docent index", work / "docent" / "index"
    elif "error" not in runs.get("docent_fp32", {"error": ""}):
        source, index = "docent fp32 index", work / "docent-fp32" / "index"
    elif "error" not in runs["baseline"]:
        source, index = "baseline index", work / "baseline"
    else:
        return {"available": False, "error": "no index to sample chunks from"}
    cache = work / "docent" / "models"  # reuses the CLI's int8 build when it made one
    child = run_child(_worker_argv("int8-quality", index, cache), offline_env(), ROOT, timeout)
    report = child["report"] or {
        "available": False,
        "error": f"quality check failed: {child['stderr_tail'][-400:]}",
    }
    return report | {"source": source, "wall_s": child["wall_s"]}


def run_benchmark(args: argparse.Namespace, work: Path) -> Result:
    """Build the corpus, run every variant in turn, evaluate the targets."""
    corpus = build_corpus(work / "corpus", args.pdf, args.html_glob, args.html_smallest)
    if args.large:
        add_pdfs(corpus, LARGE_PDFS)
    print(f"corpus: {corpus.pages} pages in {len(corpus.files)} files", file=sys.stderr)
    print("running baseline ...", file=sys.stderr)
    baseline = measure_baseline(corpus, work / "baseline", args.timeout)
    runs = {"baseline": add_rates(baseline, corpus.pages)}
    for name, folder, backend in DOCENT_RUNS:
        if backend is not None and args.no_fp32:
            continue
        print(f"running {name} ...", file=sys.stderr)
        docent = measure_docent(corpus, work / folder, backend, args.timeout)
        runs[name] = add_rates(docent, corpus.pages)
    print("running int8 quality check ...", file=sys.stderr)
    quality = measure_quality(runs, work, args.timeout)
    return {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "quick": args.quick,
        "environment": environment(),
        "corpus": corpus.summary(),
        "runs": runs,
        "int8_quality": quality,
        "targets": evaluate_targets(runs),
        "basis": "throughput on the corpus page count; 'wall' is spawn-to-exit of each "
        "subprocess (start-up included), 'pipeline' excludes start-up and imports",
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options, with the corpus defaults resolved."""
    parser = argparse.ArgumentParser(
        prog="bench/ingest.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pdf",
        type=lambda s: tuple(n for n in s.split(",") if n),
        help=f"comma-separated R manuals (default {','.join(DEFAULT_PDFS)})",
    )
    parser.add_argument("--html-glob", help=f"Python HTML docs glob (default {DEFAULT_HTML_GLOB})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny smoke corpus: 1 PDF and {QUICK_HTML_FILES} HTML files",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="the larger mixed corpus: octave, gnuplot and R reference PDFs + Python HTML "
        f"({LARGE_HTML_GLOB})",
    )
    parser.add_argument("--no-fp32", action="store_true", help="skip the torch fp32 run")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per subprocess")
    args = parser.parse_args(argv)
    if args.large:
        args.pdf = args.pdf or ()
        args.html_glob = args.html_glob or LARGE_HTML_GLOB
    if args.pdf is None:
        args.pdf = QUICK_PDFS if args.quick else DEFAULT_PDFS
    args.html_glob = DEFAULT_HTML_GLOB if args.html_glob is None else args.html_glob
    args.html_smallest = QUICK_HTML_FILES if args.quick else None
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write it to ``bench/results/``."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docent-bench-") as tmp:
        results = run_benchmark(args, Path(tmp))
    print(render(results))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
