"""Chroma server mode against the embedded store: ingest and query throughput, same run.

    .venv/bin/python -m bench.server            # R-data manual + 10 Python pages, 2 rounds
    .venv/bin/python -m bench.server --pdf R-intro,R-data --rounds 3

Modes: ``embedded`` (``PersistentClient`` in the data dir), ``server`` (a ``chroma run``
on loopback, the same binary as the compose file's image) and, when nginx is installed,
``server+auth`` (the compose file's own ``deploy/chroma-auth.conf.template`` rendered in
front of that server, so the token check is measured too). Every ingest starts from a
fresh data dir and collection; rounds alternate the modes so that a busy moment of the
machine does not land on one mode only. The embedder is loaded once and shared, so its
load time is in no figure.

Figures: ``ingest`` is ``docent ingest`` end to end (parse, chunk, embed, write);
``store write`` replays the same chunks with their vectors into a fresh collection, which
isolates what the server adds (HTTP and JSON instead of in-process calls); ``query`` is
raw nearest-neighbour queries with precomputed vectors, and ``retrieve`` is Docent's
hybrid retrieval (dense + BM25 + fusion) for the same questions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.api import Docent
from app.settings import Settings
from bench.corpus import build_corpus
from models.embedder import Embedder
from rag.codec import stored_chunk
from rag.retrieve import Retriever
from tests.chroma_server import chroma_server, free_port

RESULTS = Path(__file__).resolve().parent / "results"
TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "chroma-auth.conf.template"
TOKEN = "0123456789abcdef0123456789abcdef"
QUESTIONS = 40


@contextmanager
def nginx_edge(upstream: int, work: Path) -> Iterator[int]:
    """The compose file's auth proxy, rendered for loopback, in front of ``upstream``."""
    port = free_port()
    site = (
        TEMPLATE.read_text()
        .replace("${CHROMA_TOKEN}", TOKEN)
        .replace("listen 8000;", f"listen 127.0.0.1:{port};")
        .replace("server chroma:8000;", f"server 127.0.0.1:{upstream};")
    )
    # nginx's workers drop root: large bodies go to temp folders they must be able to write.
    for folder in ("logs", "body", "proxy"):
        (work / folder).mkdir(parents=True)
        (work / folder).chmod(0o777)
    (work / "site.conf").write_text(site)
    config = work / "nginx.conf"
    config.write_text(
        f"pid {work}/nginx.pid; error_log {work}/logs/error.log; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {work}/body; "
        f"proxy_temp_path {work}/proxy; include {work}/site.conf; }}\n"
    )
    nginx = ["nginx", "-p", str(work), "-c", str(config)]
    subprocess.run(nginx, check=True)
    try:
        time.sleep(0.5)
        yield port
    finally:
        subprocess.run([*nginx, "-s", "stop"], check=False)
        problems = [
            line
            for line in (work / "logs" / "error.log").read_text().splitlines()
            if "[error]" in line or "[crit]" in line or "[alert]" in line
        ]
        if problems:
            print("nginx errors:", *problems[-5:], sep="\n  ")


def settings_for(mode: str, data_dir: Path, ports: dict[str, int]) -> Settings:
    """Settings for one mode; server modes point at their port on loopback."""
    if mode == "embedded":
        return Settings(data_dir=data_dir)
    token = TOKEN if mode == "server+auth" else ""
    return Settings(
        data_dir=data_dir, index_host="127.0.0.1", index_port=ports[mode], index_token=token
    )


def server_pid(port: int) -> int:
    """The PID of the ``chroma run`` listening on ``port``."""
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if entry.name.isdigit() and b"run" in argv and str(port).encode() in argv:
                return int(entry.name)
    raise RuntimeError(f"no chroma run on port {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_once(
    settings: Settings, embedder: Embedder, corpus: Path, name: str, server: int
) -> tuple[Docent, dict[str, float]]:
    """One fresh ``docent ingest``: wall seconds, and CPU seconds of this process and of
    the Chroma server (CPU is what the other processes on a shared machine disturb least;
    the parsing workers, the same in every mode, are in neither)."""
    docent = Docent(settings, embedder=embedder)
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(server)
    report = docent.ingest([corpus], name)
    if report.exit_code:
        raise RuntimeError(f"ingest failed: {report.counts()}")
    return docent, {
        "ingest_s": time.perf_counter() - wall,
        "ingest_cpu_s": time.process_time() - cpu,
        "server_cpu_s": cpu_seconds(server) - server_cpu,
        "chunks": report.chunks_written,
    }


def stored_batches(docent: Docent, name: str) -> list[tuple[list[Any], np.ndarray]]:
    """The collection's chunks with their vectors, in the ingest's write batches."""
    got = docent.index.collection(name).chroma.get(include=["documents", "metadatas", "embeddings"])
    chunks = [
        stored_chunk(i, t, dict(m or {}))
        for i, t, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
    ]
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    size = docent.settings.write_batch_chunks
    return [
        (chunks[start : start + size], vectors[start : start + size])
        for start in range(0, len(chunks), size)
    ]


def store_write_seconds(docent: Docent, name: str, batches: list[Any]) -> float:
    """Time to upsert the same chunks and vectors into a fresh collection."""
    target = docent.index.collection(name, create=True)
    started = time.perf_counter()
    for chunks, vectors in batches:
        target.upsert_chunks(chunks, vectors)
    return time.perf_counter() - started


def query_rates(docent: Docent, name: str, questions: list[str]) -> dict[str, float]:
    """Raw vector queries and hybrid retrievals per second."""
    chunks = docent.index.collection(name).chroma
    vectors = docent.embedder.encode(questions)
    started = time.perf_counter()
    for vector in vectors:
        chunks.query(query_embeddings=[vector], n_results=6, include=["documents", "metadatas"])
    raw = len(questions) / (time.perf_counter() - started)
    retriever = Retriever(docent.index)
    started = time.perf_counter()
    for question in questions:
        retriever.retrieve(name, question)
    hybrid = len(questions) / (time.perf_counter() - started)
    return {"query_per_s": raw, "retrieve_per_s": hybrid}


def sample_questions(docent: Docent, name: str) -> list[str]:
    """Questions made of the first words of chunks spread over the collection."""
    texts = docent.index.collection(name).chroma.get(include=["documents"])["documents"] or []
    step = max(1, len(texts) // QUESTIONS)
    return [" ".join(text.split()[:12]) for text in texts[::step][:QUESTIONS]]


def run_round(
    modes: list[str], ports: dict[str, int], embedder: Embedder, corpus: Path, work: Path, n: int
) -> dict[str, dict[str, float]]:
    """Every mode once, in the order given."""
    figures: dict[str, dict[str, float]] = {}
    questions: list[str] = []
    batches: list[Any] = []
    for mode in modes:
        # Server modes share one server: each run writes its own collections.
        name = f"{mode.replace('+', '-')}-{n}"
        settings = settings_for(mode, work / name, ports)
        docent, ingest = ingest_once(
            settings, embedder, corpus, f"bench-{name}", ports["server_pid"]
        )
        questions = questions or sample_questions(docent, f"bench-{name}")
        batches = batches or stored_batches(docent, f"bench-{name}")
        figures[mode] = {
            **ingest,
            "store_write_s": store_write_seconds(docent, f"replay-{name}", batches),
            **query_rates(docent, f"bench-{name}", questions),
        }
    return figures


def summarize(rounds: list[dict[str, dict[str, float]]], modes: list[str]) -> dict[str, Any]:
    """Medians per mode and each server mode's ratio to the embedded store."""
    medians = {
        mode: {key: statistics.median(r[mode][key] for r in rounds) for key in rounds[0][mode]}
        for mode in modes
    }
    base = medians["embedded"]
    ratios = {
        mode: {
            "ingest_time": medians[mode]["ingest_s"] / base["ingest_s"],
            "ingest_cpu": (medians[mode]["ingest_cpu_s"] + medians[mode]["server_cpu_s"])
            / (base["ingest_cpu_s"] + base["server_cpu_s"]),
            "store_write_time": medians[mode]["store_write_s"] / base["store_write_s"],
            "query_throughput": medians[mode]["query_per_s"] / base["query_per_s"],
            "retrieve_throughput": medians[mode]["retrieve_per_s"] / base["retrieve_per_s"],
        }
        for mode in modes
        if mode != "embedded"
    }
    return {"medians": medians, "ratios": ratios}


def render(summary: dict[str, Any], pages: int) -> str:
    """The table printed at the end."""
    lines = [
        f"{'mode':<12} {'ingest s':>9} {'pages/s':>8} {'CPU s':>6} {'server CPU s':>12} "
        f"{'write s':>8} {'query/s':>8} {'retrieve/s':>10}"
    ]
    for mode, m in summary["medians"].items():
        lines.append(
            f"{mode:<12} {m['ingest_s']:>9.2f} {pages / m['ingest_s']:>8.2f} "
            f"{m['ingest_cpu_s']:>6.1f} {m['server_cpu_s']:>12.2f} {m['store_write_s']:>8.2f} "
            f"{m['query_per_s']:>8.1f} {m['retrieve_per_s']:>10.1f}"
        )
    for mode, r in summary["ratios"].items():
        verdict = "meets" if r["ingest_time"] < 1.2 else "MISSES"
        lines += [
            f"{mode} / embedded: ingest time x{r['ingest_time']:.3f} ({verdict} the <1.20 "
            f"target); ingest CPU, Docent + server, x{r['ingest_cpu']:.3f}",
            f"  store write x{r['store_write_time']:.2f}, query throughput "
            f"x{r['query_throughput']:.2f}, retrieve throughput x{r['retrieve_throughput']:.2f}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and save the figures under bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", default="R-data", help="R manuals (comma-separated stems).")
    parser.add_argument("--html-glob", default="library/a*.html")
    parser.add_argument("--html-smallest", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    embedder = Embedder(Settings().embedder_config())
    embedder.encode(["warm up"])
    with tempfile.TemporaryDirectory(prefix="docent-bench-server-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers (not root) write request bodies below it
        corpus = build_corpus(
            work / "corpus", tuple(args.pdf.split(",")), args.html_glob, args.html_smallest
        )
        with chroma_server(work / "chroma") as port:
            ports = {"server": port, "server_pid": server_pid(port)}
            modes = ["embedded", "server"]
            with contextmanager_or_none(shutil.which("nginx"), port, work / "nginx") as edge:
                if edge is not None:
                    ports["server+auth"] = edge
                    modes.append("server+auth")
                rounds = [
                    run_round(
                        modes if n % 2 == 0 else modes[::-1], ports, embedder, corpus.root, work, n
                    )
                    for n in range(args.rounds)
                ]
    summary = summarize(rounds, modes) | {"rounds": rounds, "corpus": corpus.summary()}
    print(render(summary, corpus.pages))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"server-{stamp}.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"saved {out}")
    return 0


@contextmanager
def contextmanager_or_none(nginx: str | None, upstream: int, work: Path) -> Iterator[int | None]:
    """The nginx edge when nginx is installed, else nothing (the mode is left out)."""
    if nginx is None:
        yield None
        return
    with nginx_edge(upstream, work) as port:
        yield port


if __name__ == "__main__":
    raise SystemExit(main())
