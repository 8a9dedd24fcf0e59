"""Scale benchmark: a synthetic department share of 1k to 100k documents.

For each size, a share of generated documents (plain text, Markdown, HTML and small PDFs,
in folders, with log-normal sizes around those of office documents) is ingested with
``docent ingest`` in a subprocess (bench/measure.py: wall time, CPU time, peak RSS), then:
an unchanged re-run, a run after 1% of the files changed, and a ``--prune`` run after 1%
were deleted. Each of these three should cost about the changed files plus a ``stat`` per
file, not a new ingest. Last, retrieval latency (p50/p95 of hybrid retrieval over 40
queries) is measured on the index the share produced.

At 100k documents a first ingest takes hours on 2 cores, so ``--grow N`` measures the
runs that must stay cheap at that size on an index grown to N documents from the largest
share measured: the share's files are copied under new names with a line added (new
content, so a new sha256), and each copy's registry row and chunks are written straight
through ``rag.store`` from its original's, the vectors moved by a little noise. No text is
embedded; what is stored is what an ingest of the copies would store (their one added
line aside). Then the unchanged re-run, 1% changed, 1% pruned and retrieval p95 run on it
as on the measured sizes, and their peak RSS is compared with the same runs at 1k.

The table is printed and kept in ``bench/results/scale-<time>.{json,md}``. The machine is
often shared: CPU seconds per page are shown beside wall time, and the CPU time other
processes used during each run.

    .venv/bin/python bench/scale.py --sizes 1000,10000
    .venv/bin/python bench/scale.py --sizes 1000,10000 --grow 100000 --work /var/tmp/scale
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.ingest import offline_env
from bench.measure import run_child
from tests.chroma_server import chroma_server

if TYPE_CHECKING:
    from rag.collection import Collection

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
COLLECTION = "share"
# Share of each kind, and the median size in bytes of its text (log-normal, sigma 0.8).
KINDS = (("txt", 0.40, 3000), ("md", 0.25, 4000), ("html", 0.25, 6000), ("pdf", 0.10, 5000))
QUERIES = 40
Result = dict[str, Any]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Pronounceable made-up words, most common first (drawn with Zipf weights).

    The embedder's tokenizer cuts such words into several pieces: about 2.6 characters
    per word piece, so a document makes about twice the chunks of English prose.
    """
    consonants, vowels = "bcdfghklmnprstvwz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        length = rng.choice((1, 2, 2, 3, 3, 4))
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length)))
    return sorted(words, key=lambda w: (len(w), w))


def english_vocabulary(size: int = 8000) -> list[str]:
    """English words, most common first: the whole words of the embedder's vocabulary.

    BERT's word pieces are numbered about in order of frequency, so drawn with Zipf
    weights they read like English prose to the tokenizer (about 4.5 characters per word
    piece, the density of office documents).
    """
    from tokenizers import Tokenizer

    from models.embedder import EmbedderConfig

    path = EmbedderConfig().resolved_dir() / "tokenizer.json"
    pieces = Tokenizer.from_file(str(path)).get_vocab()
    words = [
        w
        for w in pieces
        if w.isascii() and w.isalpha() and w.islower() and len(w) + (w in "ai") > 1
    ]
    return sorted(words, key=pieces.__getitem__)[:size]


class Writer:
    """Text in the share's words: sentences, paragraphs, headings.

    Args:
        seed: The random seed (the same share every run).
        text: ``syllables`` (made-up words) or ``english`` (``english_vocabulary``).
    """

    def __init__(self, seed: int, text: str = "syllables") -> None:
        self.rng = random.Random(seed)
        self.words = english_vocabulary() if text == "english" else vocabulary(self.rng)
        self.weights = [1.0 / (rank + 1) for rank in range(len(self.words))]

    def sentence(self) -> str:
        words = self.rng.choices(self.words, self.weights, k=self.rng.randint(6, 20))
        return " ".join(words).capitalize() + "."

    def paragraphs(self, size: int) -> list[str]:
        found, length = [], 0
        while length < size:
            paragraph = " ".join(self.sentence() for _ in range(self.rng.randint(2, 6)))
            found.append(paragraph)
            length += len(paragraph) + 2
        return found

    def heading(self) -> str:
        return " ".join(self.rng.choices(self.words, self.weights, k=3)).title()


def _pdf(path: Path, title: str, paragraphs: list[str]) -> int:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 5, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.output(str(path))
    return int(pdf.page)


def write_document(folder: Path, n: int, kind: str, size: int, writer: Writer) -> int:
    """Write document ``n``; return its pages (PDF pages, 1 for other formats)."""
    title, paragraphs = writer.heading(), writer.paragraphs(size)
    path = folder / f"doc{n:06d}.{kind}"
    if kind == "pdf":
        return _pdf(path, title, paragraphs)
    if kind == "md":
        body = f"# {title}\n\n" + "\n\n".join(
            (f"## {writer.heading()}\n\n" if i % 3 == 2 else "") + p
            for i, p in enumerate(paragraphs)
        )
    elif kind == "html":
        items = "".join(f"<p>{p}</p>\n" for p in paragraphs)
        body = (
            f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
            f"<nav><a href='index.html'>Home</a></nav><h1>{title}</h1>\n{items}</body></html>"
        )
    else:
        body = f"{title}\n\n" + "\n\n".join(paragraphs)
    path.write_text(body + "\n", encoding="utf-8")
    return 1


def _folder(root: Path, n: int) -> Path:
    """Where document ``n`` lives: folders of 100 documents, ten to a department."""
    return root / f"dept{n // 1000:03d}" / f"team{n // 100 % 10}"


def build_share(root: Path, count: int, seed: int = 11, text: str = "syllables") -> Result:
    """A share of ``count`` documents in folders of 100; returns its pages and bytes."""
    writer, rng = Writer(seed, text), random.Random(seed + 1)
    kinds = [kind for kind, _, _ in KINDS]
    medians = {kind: median for kind, _, median in KINDS}
    pages = 0
    for n in range(count):
        kind = rng.choices(kinds, [share for _, share, _ in KINDS])[0]
        size = int(min(medians[kind] * math.exp(rng.gauss(0, 0.8)), 60_000))
        folder = _folder(root, n)
        folder.mkdir(parents=True, exist_ok=True)
        pages += write_document(folder, n, kind, size, writer)
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {"documents": count, "pages": pages, "bytes": size, "text": text}


def change_files(root: Path, share: float, seed: int, delete: bool, text: str) -> int:
    """Append a paragraph to (or delete) a share of the files; return how many."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    chosen = random.Random(seed).sample(files, max(1, round(len(files) * share)))
    writer = Writer(seed, text)
    for path in chosen:
        if delete:
            path.unlink()
        elif path.suffix == ".pdf":
            write_document(path.parent, int(path.stem[3:]), "pdf", 4000, writer)
        else:
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n\n" + " ".join(writer.paragraphs(400)) + "\n")
    return len(chosen)


@contextmanager
def index_server(data: Path) -> Iterator[Server]:
    """A ``chroma run`` serving the data dir's index until the block ends.

    Docent keeps the BM25 index and the writer lock of a server's index in
    ``<data>/index-<host>-<port>`` (see ``app.settings``); its ``lexical`` folder is linked
    to the embedded index's own, so one data dir is measured either way (a grown index,
    for one) and a run never rebuilds the BM25 index from the server.
    """
    from bench.server import server_pid

    index = data / "index"
    (index / "lexical").mkdir(parents=True, exist_ok=True)
    os.environ.update(offline_env())  # the server inherits it: no telemetry
    with chroma_server(index) as port:
        side = data / f"index-127.0.0.1-{port}"
        side.mkdir(exist_ok=True)
        (side / "lexical").symlink_to(index / "lexical")
        try:
            yield Server(port, server_pid(port))
        finally:
            shutil.rmtree(side)  # removes the link, not what it points to


class Server:
    """A running index server: the environment that points Docent at it, its memory."""

    def __init__(self, port: int, pid: int) -> None:
        self.env = {"DOCENT_INDEX_HOST": "127.0.0.1", "DOCENT_INDEX_PORT": str(port)}
        self.pid = pid

    def rss_mb(self) -> tuple[float, float]:
        """The server's resident memory now and at its peak since it started (MB)."""
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{self.pid}/status").read_text().splitlines()
        )
        now, peak = (int(status[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
        return round(now, 1), round(peak, 1)


def ingest(
    share: Path, data: Path, timeout: float, prune: bool = False, server: Server | None = None
) -> Result:
    """One ``docent ingest`` of the share, measured (against ``server`` when given)."""
    docent = Path(sys.executable).parent / "docent"
    argv = [str(docent), "ingest", str(share), "--collection", COLLECTION, "--json"]
    argv += ["--prune"] if prune else []
    env = offline_env(DOCENT_DATA_DIR=str(data), **(server.env if server else {}))
    child = run_child(argv, env, ROOT, timeout)
    if server is not None:
        child["server_rss_mb"], child["server_peak_rss_mb"] = server.rss_mb()
    report = child.pop("report") or {}
    if child["returncode"] not in (0, 2):
        return child | {"error": f"docent exited {child['returncode']}"}
    keys = ("added", "updated", "unchanged", "skipped", "failed", "chunks_written", "pages")
    outcomes = {key: report.get(key) for key in keys}
    return (
        child
        | outcomes
        | {"pipeline_s": report.get("seconds"), "pruned": len(report.get("pruned", []))}
    )


def query_worker(data: Path, text: str) -> Result:
    """Retrieval latency over the share's index (run in its own process)."""
    import os

    os.environ["DOCENT_DATA_DIR"] = str(data)
    from app.api import Docent
    from app.settings import Settings
    from rag.retrieve import Retriever

    docent = Docent(Settings())
    retriever = Retriever(docent.index)
    writer = Writer(99, text)
    queries = [" ".join(writer.rng.choices(writer.words[:800], k=5)) for _ in range(QUERIES)]
    retriever.retrieve(COLLECTION, queries[0])  # opens the index and loads the model
    seconds = []
    for query in queries:
        started = time.perf_counter()
        retriever.retrieve(COLLECTION, query)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    chunks = docent.index.collection(COLLECTION).count_chunks()
    return {
        "queries": len(seconds),
        "chunks": chunks,
        "p50_ms": round(1000 * seconds[len(seconds) // 2], 1),
        "p95_ms": round(1000 * seconds[math.ceil(0.95 * len(seconds)) - 1], 1),
    }


def grow_worker(share: Path, data: Path, count: int) -> Result:
    """Grow an ingested share and its index to ``count`` documents by copies (see above).

    Runs in its own process, under the index's writer lock, and leaves the registry copy
    an ingest leaves, so the next run finds the index as an ingest of the copies would.
    """
    import dataclasses
    import os

    os.environ["DOCENT_DATA_DIR"] = str(data)
    from app.api import Docent
    from app.settings import Settings
    from ingest.scan import SourceFile, scan
    from models.weights import sha256_file
    from rag.types import Chunk, DocumentRecord, chunk_id

    started = time.perf_counter()
    docent = Docent(Settings())
    rng = np.random.default_rng(count)
    with docent.index.writer_lock():
        collection = docent.index.collection(COLLECTION)
        records = {r.source: r for r in collection.records() if r.doc_id}
        # Grown by an earlier run in the same --work folder, whose 1% prune left 99%.
        if len(records) >= 0.98 * count:
            return _grown(collection, started)
        got = collection.chroma.get(include=["embeddings"])
        row = {chunk_id_: i for i, chunk_id_ in enumerate(got["ids"])}
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        del got
        chunks: dict[str, list[Chunk]] = {}
        for chunk in collection.stored_chunks():
            chunks.setdefault(chunk.doc_id, []).append(chunk)
        base = [f for f in scan([share]) if f.source in records]
        step = max(int(f.path.stem[3:]) for f in base) + 1
        total, copy = len(records), 0
        batch: tuple[list[DocumentRecord], list[Chunk], list[np.ndarray]] = ([], [], [])
        while total < count:
            copy += 1
            for file in base:
                if total >= count:
                    break
                original, origin = records[file.source], Path(file.path)
                n = int(origin.stem[3:]) + copy * step
                target = _folder(share, n)
                target.mkdir(parents=True, exist_ok=True)
                path = target / f"doc{n:06d}{origin.suffix}"
                tail = f"\n%copy {copy}\n" if origin.suffix == ".pdf" else f"\n\nCopy {copy}.\n"
                path.write_bytes(origin.read_bytes() + tail.encode())
                stat = path.stat()
                source = path.relative_to(share).as_posix()
                doc_id = sha256_file(path)
                key = SourceFile(file.root, str(path), source, stat.st_size, stat.st_mtime_ns).key
                batch[0].append(
                    dataclasses.replace(
                        original, key=key, source=source, doc_id=doc_id,
                        size=stat.st_size, mtime_ns=stat.st_mtime_ns,
                    )
                )  # fmt: skip
                for chunk in chunks[original.doc_id]:
                    batch[1].append(
                        dataclasses.replace(
                            chunk, id=chunk_id(doc_id, chunk.position), doc_id=doc_id,
                            source=source,
                        )
                    )  # fmt: skip
                    batch[2].append(vectors[row[chunk.id]])
                total += 1
                if len(batch[0]) >= 1000 or total >= count:
                    moved = np.stack(batch[2])
                    moved += rng.normal(0, 0.01, moved.shape)
                    moved /= np.linalg.norm(moved, axis=1, keepdims=True)
                    collection.upsert_chunks(batch[1], moved.astype(np.float32))
                    collection.put_records(batch[0])
                    batch = ([], [], [])
                    print(f"grown to {total} documents", file=sys.stderr, flush=True)
        docent.index.keep_registry_copy(collection)
        return _grown(collection, started)


def _grown(collection: Collection, started: float) -> Result:
    """What a grown index holds, and the seconds since ``started``."""
    grown = collection.records()
    return {
        "documents": len(grown),
        "pages": sum(max(r.pages, 1) for r in grown),  # 1 for formats without pages
        "bytes": sum(r.size for r in grown),
        "chunks": collection.count_chunks(),
        "grow_s": round(time.perf_counter() - started, 1),
    }


def built_share(share: Path, count: int, text: str, shares: Path | None, seed: int = 11) -> Result:
    """Build the share at ``share``, or copy it from ``shares`` where it was built before.

    The copy keeps the files' bytes (their mtimes are new: the first ingest reads all).
    Shares of another ``seed`` hold other documents (the same seed, the same first ones).
    """
    if shares is None:
        return build_share(share, count, seed=seed, text=text)
    name = f"share-{count}-{text}" + (f"-seed{seed}" if seed != 11 else "")
    kept, about = shares / name, shares / f"{name}.json"
    if not about.is_file():
        shutil.rmtree(kept, ignore_errors=True)
        built = build_share(kept, count, seed=seed, text=text)
        about.write_text(json.dumps(built) + "\n")
    shutil.copytree(kept, share)
    return dict(json.loads(about.read_text()))


def measure_size(
    count: int,
    work: Path,
    timeout: float,
    text: str = "syllables",
    shares: Path | None = None,
    grow_from: int = 0,
    server: bool = False,
    add: int = 0,
) -> Result:
    """Every run for one share size (``grow_from``: grown from that measured size's share).

    With ``server``, every run after the share is built (or grown, which writes to the
    embedded index) goes to a ``chroma run`` serving the same index folder. With ``add``,
    after the prune a share of that many new documents (another seed: none of them is in
    the index) is put in the share's ``added/`` folder and ingested: a first ingest into
    an index of this size.
    """
    share, data = work / f"share-{count}", work / f"data-{count}"
    started = time.perf_counter()
    runs: dict[str, Result] = {}

    def measured(name: str, prune: bool = False) -> None:
        runs[name] = ingest(share, data, timeout, prune=prune, server=serving)
        print(f"{count} {name}: {_brief(runs[name])}", file=sys.stderr, flush=True)

    if grow_from:
        share, data = work / f"share-{grow_from}", work / f"data-{grow_from}"
        argv = [sys.executable, str(Path(__file__).resolve()), "--grow-worker", str(data)]
        argv += ["--share", str(share), "--grow", str(count)]
        child = run_child(argv, offline_env(), ROOT, timeout)
        if not child.get("report"):
            raise SystemExit(f"growing the index failed: {child.get('stderr_tail', '')[-2000:]}")
        grown = child["report"]
        result: Result = {
            "share": {**grown, "text": text, "grown_from": grow_from, "build_s": grown["grow_s"]}
        }
        runs["first"] = {}
        print(f"{count}: grown {result['share']}", file=sys.stderr)
    else:
        result = {"share": built_share(share, count, text, shares)}
        result["share"]["build_s"] = round(time.perf_counter() - started, 1)
        print(f"{count}: share built {result['share']}", file=sys.stderr)
    with index_server(data) if server else nullcontext() as serving:
        if not grow_from:
            measured("first")
        measured("unchanged")
        result["changed_files"] = change_files(share, 0.01, seed=count, delete=False, text=text)
        measured("changed_1pct")
        result["deleted_files"] = change_files(share, 0.01, seed=count + 1, delete=True, text=text)
        measured("pruned_1pct", prune=True)
        if add:
            result["added"] = add_documents(share, add, text, shares)
            result["added"]["index_documents"] = (
                result["share"]["documents"] - result["deleted_files"]
            )
            measured("added")
        argv = [sys.executable, str(Path(__file__).resolve()), "--query-worker", str(data)]
        argv += ["--text", text]
        query = run_child(argv, offline_env(**(serving.env if serving else {})), ROOT, timeout)
        result["retrieval"] = query.get("report") or {"error": query.get("stderr_tail", "")[-300:]}
        if serving is not None:
            result["server_rss_mb"], result["server_peak_rss_mb"] = serving.rss_mb()
    result["runs"], result["server"] = runs, server
    result["hnsw_mb"] = hnsw_mb(data)
    return result


def add_documents(share: Path, count: int, text: str, shares: Path | None) -> Result:
    """Put ``count`` new documents in ``share/added`` (see ``measure_size``)."""
    target = share / "added"
    if target.exists():
        raise SystemExit(
            f"{target} holds the documents of an earlier --add, which its index holds too: "
            "use a new --work folder (or remove the folder and run docent ingest --prune)"
        )
    started = time.perf_counter()
    built = built_share(target, count, text, shares, seed=23)
    return {**built, "build_s": round(time.perf_counter() - started, 1)}


def hnsw_mb(data: Path) -> float:
    """Size of the index's HNSW graph files: Chroma keeps all of it in the process's memory.

    hnswlib allocates its element storage for the capacity it has grown to and saves the
    same, so the files' size is about the memory the graph holds while a run writes to it.
    """
    return round(sum(p.stat().st_size for p in data.rglob("*.bin")) / 2**20, 1)


def _brief(run: Result) -> str:
    keys = ("wall_s", "cpu_s", "peak_rss_mb", "peak_tree_rss_mb", "chunks_written")
    keys += ("added", "updated", "unchanged", "pruned")
    return ", ".join(f"{key}={run.get(key)}" for key in keys)


def table(results: list[Result]) -> str:
    """The Markdown table of every size."""
    header = (
        "| docs | pages | first s | pages/s | CPU s/page | cores | peak RSS MB | "
        "unchanged s | 1% changed s | 1% changed RSS MB | HNSW MB | 1% pruned s | "
        "retrieval p95 ms | chunks | index server peak RSS MB |"
    )
    lines = [header, "|" + "---|" * 15]
    for result in results:
        runs, pages = result["runs"], result["share"]["pages"]
        first, changed = runs["first"], runs["changed_1pct"]
        wall, cpu = first.get("wall_s") or 0, first.get("cpu_s") or 0
        if wall:
            cells = f"{wall:.1f} | {pages / wall:.1f} | {cpu / pages:.4f} | {cpu / wall:.2f}"
        else:
            cells = f"grown from {result['share'].get('grown_from')} | - | - | -"
        lines.append(
            f"| {result['share']['documents']} | {pages} | {cells} | "
            f"{first.get('peak_tree_rss_mb', '-')} | "
            f"{runs['unchanged'].get('wall_s')} | {changed.get('wall_s')} | "
            f"{changed.get('peak_tree_rss_mb')} | {result.get('hnsw_mb', '-')} | "
            f"{runs['pruned_1pct'].get('wall_s')} | {result['retrieval'].get('p95_ms')} | "
            f"{result['retrieval'].get('chunks')} | {result.get('server_peak_rss_mb', '-')} |"
        )
    added = [result for result in results if "added" in result]
    if added:
        lines += [
            "",
            "| index docs | docs added | pages | s | pages/s | CPU s/page | cores | peak RSS MB "
            "| index server peak RSS MB |",
            "|" + "---|" * 9,
        ]
    for result in added:
        run, pages = result["runs"]["added"], result["added"]["pages"]
        wall, cpu = run.get("wall_s") or 0, run.get("cpu_s") or 0
        cells = f"{wall:.1f} | {pages / wall:.1f} | {cpu / pages:.4f} | {cpu / wall:.2f}"
        lines.append(
            f"| {result['added']['index_documents']} | {run.get('added')} | {pages} | {cells} | "
            f"{run.get('peak_tree_rss_mb')} | {run.get('server_peak_rss_mb', '-')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure each size, print the table, keep it in bench/results/."""
    parser = argparse.ArgumentParser(prog="bench/scale.py", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated share sizes")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per run")
    parser.add_argument(
        "--text",
        choices=("syllables", "english"),
        default="syllables",
        help="made-up words (about twice the chunks per KB) or English words",
    )
    parser.add_argument(
        "--shares",
        type=Path,
        help="keep each built share here and copy it on the next run (builds take minutes)",
    )
    parser.add_argument("--build-only", action="store_true", help="build the shares and stop")
    parser.add_argument(
        "--grow",
        type=int,
        default=0,
        help="then grow the largest share measured, and its index, to this many documents "
        "by copies, and measure the runs after a first ingest there (see above)",
    )
    parser.add_argument(
        "--add",
        type=int,
        default=0,
        help="with --grow: after the grown size's runs, ingest this many new documents into "
        "its index (a first ingest at that size)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="keep the shares and indexes here (default: a temporary folder, removed)",
    )
    parser.add_argument(
        "--grown-only",
        action="store_true",
        help="with --work from an earlier run: only grow (if not grown yet) and measure the "
        "grown size",
    )
    parser.add_argument(
        "--server",
        action="store_true",
        help="run against a Chroma server (chroma run) on each index, as a department "
        "install would: the HNSW graph then lives in the server, whose memory is given too",
    )
    parser.add_argument("--query-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--grow-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--share", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.query_worker:
        print(json.dumps(query_worker(args.query_worker, args.text)))
        return 0
    if args.grow_worker:
        print(json.dumps(grow_worker(args.share, args.grow_worker, args.grow)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",") if size]
    if args.grow and (not sizes or args.grow <= max(sizes)):
        parser.error("--grow needs a larger size than the largest of --sizes")
    if args.add and not args.grow:
        parser.error("--add needs --grow")
    if args.grown_only and not (args.grow and args.work):
        parser.error("--grown-only needs --grow and --work")
    if args.build_only:
        if args.shares is None:
            parser.error("--build-only needs --shares")
        with tempfile.TemporaryDirectory(prefix="docent-scale-") as tmp:
            for size in sizes:
                print(built_share(Path(tmp) / f"share-{size}", size, args.text, args.shares))
        return 0
    with tempfile.TemporaryDirectory(prefix="docent-scale-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = [
            measure_size(size, work, args.timeout, args.text, args.shares, server=args.server)
            for size in ([] if args.grown_only else sizes)
        ]
        if args.grow:
            grow_from = max(sizes)
            results.append(
                measure_size(
                    args.grow,
                    work,
                    args.timeout,
                    args.text,
                    args.shares,
                    grow_from=grow_from,
                    server=args.server,
                    add=args.add,
                )
            )
    text = table(results)
    print(text)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"scale-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS_DIR / f"scale-{stamp}.md").write_text(text + "\n")
    print(f"\nwritten: bench/results/scale-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
