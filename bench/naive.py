"""The naive RAG pipeline a user would write with LangChain, as a retrieval baseline.

``PyPDFLoader`` (one document per page), ``BSHTMLLoader`` (one per file, navigation and
all) and a DOCX file's paragraphs, split by ``RecursiveCharacterTextSplitter`` (1000
characters, 200 overlap), embedded with the same MiniLM model as Docent and searched by
exact cosine (what Chroma's similarity search returns on a collection this small). The
chunks and their vectors are kept in the work folder, so a corpus is embedded once.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.metrics import words

CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200


@dataclass(frozen=True)
class NaiveChunk:
    """A chunk of the naive pipeline: its text, file and PDF page (0: none)."""

    id: str
    text: str
    source: str
    page: int


@dataclass
class NaiveIndex:
    """The naive pipeline's chunks and their unit vectors."""

    chunks: list[NaiveChunk]
    vectors: np.ndarray

    def search(self, vector: Sequence[float], k: int = 10) -> list[NaiveChunk]:
        """The ``k`` chunks nearest to a query vector, best first."""
        query = np.asarray(vector, dtype=np.float32)
        cosine = self.vectors @ (query / max(float(np.linalg.norm(query)), 1e-12))
        return [self.chunks[i] for i in np.argsort(-cosine, kind="stable")[:k]]

    def words(self) -> dict[str, list[str]]:
        """Chunk id -> the words the relevance rule compares."""
        return {chunk.id: words(chunk.text) for chunk in self.chunks}


def _documents(folders: Sequence[Path]) -> list[tuple[str, str, int]]:
    """(text, source, page) per loaded document, as LangChain's loaders give them."""
    from bs4 import XMLParsedAsHTMLWarning
    from docx import Document as Docx
    from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader

    loaded: list[tuple[str, str, int]] = []
    for path in sorted(p for folder in folders for p in folder.rglob("*") if p.is_file()):
        source = f"{path.parent.name}/{path.name}"
        if path.suffix == ".pdf":
            for page in PyPDFLoader(str(path)).load():
                loaded.append((page.page_content, source, int(page.metadata["page"]) + 1))
        elif path.suffix == ".html":
            with warnings.catch_warnings():  # XHTML (DocBook's) read as HTML, as browsers do
                warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
                html = BSHTMLLoader(str(path), open_encoding="utf-8").load()[0].page_content
            loaded.append((html, source, 0))
        elif path.suffix == ".docx":
            text = "\n".join(paragraph.text for paragraph in Docx(str(path)).paragraphs)
            loaded.append((text, source, 0))
    return loaded


def build(folders: Sequence[Path], embedder: Embeddings, cache: Path) -> NaiveIndex:
    """Load, split and embed the folders' files, or read them back from ``cache``."""
    listing, vectors = cache.with_suffix(".json"), cache.with_suffix(".npy")
    if listing.exists() and vectors.exists():
        chunks = [NaiveChunk(**row) for row in json.loads(listing.read_text())]
        return NaiveIndex(chunks, np.load(vectors))
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = [
        NaiveChunk(f"naive-{n}", text, source, page)
        for n, (text, source, page) in enumerate(
            (piece, source, page)
            for document, source, page in _documents(folders)
            for piece in splitter.split_text(document)
        )
    ]
    matrix = np.asarray(embedder.embed_documents([c.text for c in chunks]), dtype=np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    listing.write_text(json.dumps([asdict(chunk) for chunk in chunks]))
    np.save(vectors, matrix)
    return NaiveIndex(chunks, matrix)
