"""Records of the index: chunks and the document registry as stored (codec: ``rag.codec``),
passages as retrieved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Calibrated by bench/retrieval.py (results/gate.json) with the default int8 embedder: the
# best dense similarity below which >= 90% of questions whose documents are not indexed
# are refused (the figures: docs/architecture.md, "Decisions").
GATE_THRESHOLD = 0.441


Length = Literal["short", "medium", "detailed"]
"""How long a summary is."""


def chunk_id(doc_id: str, position: int) -> str:
    """The stable id of a chunk: its document's sha256 and its position in the document.

    Re-ingesting the same bytes yields the same ids, so writes are idempotent upserts.
    """
    return f"{doc_id}:{position:05d}"


@dataclass(frozen=True)
class Heading:
    """A heading that opens a section of a document."""

    offset: int  # offset in the document's text where the section's text begins
    level: int  # 1 = top as the format states it; 0 = unknown
    text: str


@dataclass(frozen=True)
class SheetRow:
    """Where a line of a document's text stands in a spreadsheet: one row of one sheet.

    Attributes:
        sheet: The sheet's name (a CSV or TSV file's stem).
        start: Offset of the line in the text it belongs to (the section's, in a loader;
            the document's, in a chunk).
        end: End offset (exclusive) of the line.
        row: The row's 1-based number in the file (hidden rows left out still count).
        first: 1-based number of the first column the line holds.
        last: 1-based number of the last column the line holds.
        header: The line is the table's header row (or its copy leading a later block).
    """

    sheet: str
    start: int
    end: int
    row: int
    first: int
    last: int
    header: bool = False


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, as embedded and stored.

    Attributes:
        id: ``chunk_id(doc_id, position)``.
        text: The passage itself, exactly as it stands in the document text.
        embed_text: What is embedded: the passage led by its title and heading, so a
            passage that never names its topic is still found by it.
        doc_id: sha256 of the document's bytes.
        position: 0-based index of the chunk in its document.
        source: Path of the file relative to its ingest root, with ``/`` separators.
        title: The document's title.
        page: 1-based page number for paged formats (PDF), 0 otherwise.
        heading: The nearest heading above the passage, or "".
        char_start: Offset of the passage in the document's text.
        char_end: End offset (exclusive) of the passage in the document's text.
        labels: Access labels carried by the document.
        ingested_at: ISO-8601 UTC time of the ingest that stored it.
        headings: The headings whose section starts in this chunk and in no earlier one of
            its document (chunks overlap): together, the chunks of a document hold its
            outline, each heading once.
        rows: The spreadsheet rows the chunk's lines stand in (document offsets); () for
            other formats and for chunks stored before rows were kept.
    """

    id: str
    text: str
    embed_text: str
    doc_id: str
    position: int
    source: str
    title: str
    page: int
    heading: str
    char_start: int
    char_end: int
    labels: tuple[str, ...] = ()
    ingested_at: str = ""
    headings: tuple[Heading, ...] = ()
    rows: tuple[SheetRow, ...] = ()


@dataclass(slots=True)
class DocumentRecord:
    """What the index knows of one source file: the registry row behind incremental sync.

    ``doc_id`` is the content sha256 whose chunks are complete in the index. ``pending``
    and ``stale`` make replacing a document crash-safe: ``pending`` names a sha256 whose
    chunks are being written, ``stale`` one whose chunks are being removed. A run that
    finds either set finishes or rolls back that step before doing anything else.
    """

    key: str
    root: str
    source: str
    doc_id: str = ""
    pending: str = ""
    stale: str = ""
    size: int = 0
    mtime_ns: int = 0
    title: str = ""
    pages: int = 0
    chunks: int = 0
    ingested_at: str = ""
    notes: str = ""
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its metadata and scores.

    Attributes:
        id: The chunk id.
        text: The chunk's text, verbatim from the document.
        doc_id: sha256 of the document.
        source: Source path of the document.
        title: Document title.
        page: 1-based page, 0 for formats without pages.
        heading: The heading in effect at the start of the chunk.
        char_start: Start offset in the document text.
        char_end: End offset (exclusive) in the document text.
        position: 0-based index of the chunk in its document.
        dense: Cosine similarity to the query, also for chunks only the lexical side
            found (computed from their stored vectors).
        lexical: BM25 score, None when the lexical side did not find it.
        score: Fused (reciprocal rank fusion) score.
        also_in: Other sources holding the same text (``rag.duplicates``), cleaner first.
        headings: The headings whose sections open inside the chunk (``Chunk.headings``):
            a short section packed after another's end is named by its own heading.
        rows: The spreadsheet rows of the chunk (``Chunk.rows``).
    """

    id: str
    text: str
    doc_id: str
    source: str
    title: str
    page: int
    heading: str
    char_start: int
    char_end: int
    position: int
    dense: float
    lexical: float | None
    score: float
    also_in: tuple[str, ...] = ()
    headings: tuple[Heading, ...] = ()
    rows: tuple[SheetRow, ...] = ()

    @property
    def named(self) -> str:
        """Every heading the passage stands under or opens, as one text."""
        return " ".join([self.heading, *(h.text for h in self.headings)])
