"""Incremental, crash-safe sync of folders into a collection.

For each file: a size/mtime fast path, then its sha256, decides whether it is new,
changed or unchanged; unchanged files cost no parsing and no embedding. New and changed
files are parsed in isolated workers, several at once (``parse_workers``, one per core by
default), and chunked in background threads a few files ahead of the embedder, whose
sessions use the cores the parsers leave idle; then they are embedded and written under a
small journal kept in the document registry:

1. the registry row records ``pending = new sha`` (nothing else changes yet);
2. the new chunks are upserted, into Chroma and the BM25 index (ids derived from the
   sha, so rewriting is idempotent);
3. the row is committed: ``doc_id = new sha``, ``stale = old sha``;
4. the old version's chunks are deleted and ``stale`` is cleared.

A run first finishes or rolls back any step a killed run left half-done
(``recover``), so after SIGKILL at any point the next run ends with exactly the chunk
set of a clean run, and a changed document is never missing from the index.

A run leaves a copy of the registry beside an embedded index (``rag.registry_copy``); when
every file of the next run is unchanged, that run settles from the copy and never opens
Chroma (nor imports it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.ahead import ahead
from ingest.chunker import Chunker, Piece
from ingest.document import LoaderError, ParsedDocument, page_ranges
from ingest.isolation import Loader, ParseLimits, parse_isolated
from ingest.journal import recover as recover
from ingest.loaders import SUFFIXES, load
from ingest.progress import Progress as Progress
from ingest.progress import WorkProgress
from ingest.quality import quality_note
from ingest.report import FileOutcome, IngestReport, Status
from ingest.scan import SourceFile, gone, scan
from models.embedder import Embedder
from models.weights import sha256_file
from rag.store import Collection, CollectionError, Index
from rag.types import Chunk, DocumentRecord, chunk_id

# Parsed files waiting for the embedder, beyond one per parse worker: bounds memory.
_PREFETCH = 2
# Chunks embedded in one call: the embedder sorts them by length into batches, so a large
# window pads little. Writes still go in `write_batch` steps.
_EMBED_WINDOW = 512


@dataclass(frozen=True)
class IngestConfig:
    """How files become chunks.

    Attributes:
        chunk_tokens: Largest embedded text in word pieces (the embedder reads 256).
        overlap_tokens: Word pieces repeated between consecutive chunks.
        parse_timeout_seconds: Time one file may take to parse.
        parse_memory_mb: Memory one file's parser may use.
        max_file_bytes: Larger files are skipped.
        write_batch: Chunks stored per write (embedding takes up to 512 at a time).
        parse_workers: Files parsed at once, each in its own worker process.
        ocr_page_seconds: Parse time added per page read by OCR.
        parse_max_seconds: Longest one file may take to parse, OCR included.
    """

    chunk_tokens: int = 256
    overlap_tokens: int = 32
    parse_timeout_seconds: float = 120.0
    parse_memory_mb: int = 2048
    max_file_bytes: int = 256 * 1024 * 1024
    write_batch: int = 64
    parse_workers: int = 2
    ocr_page_seconds: float = 30.0
    parse_max_seconds: float = 1800.0


@dataclass(slots=True)
class _Plan:
    """A file that needs parsing, and what the registry knew of it."""

    file: SourceFile
    doc_id: str
    previous: DocumentRecord | None


@dataclass
class _Prepared:
    """A file parsed and chunked (no pieces when parsing failed)."""

    plan: _Plan
    parsed: ParsedDocument | LoaderError
    pieces: list[Piece]


@dataclass
class _Run:
    collection: Collection | None
    records: dict[str, DocumentRecord]
    report: IngestReport
    progress: Progress | None
    labels: list[str]
    planned: dict[str, SourceFile] = field(default_factory=dict)
    by_doc: dict[str, DocumentRecord] = field(default_factory=dict)
    now: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        # Content hash -> committed row, so finding a moved file's twin is not a scan.
        self.by_doc = {r.doc_id: r for r in self.records.values() if r.doc_id}

    def outcome(self, outcome: FileOutcome) -> None:
        self.report.files.append(outcome)
        if self.progress:
            self.progress.file_done(outcome)


class Ingestor:
    """Syncs folders into a collection of an index.

    Args:
        index: The index to write to.
        config: Chunking and parsing limits.
        loaders: Parser per file extension (top-level functions; they run in workers);
            default Docent's loaders.
    """

    def __init__(
        self,
        index: Index,
        config: IngestConfig,
        loaders: Mapping[str, Loader] | None = None,
    ) -> None:
        self.index = index
        self.embedder: Embedder = index.embedder
        self.config = config
        # `load` checks the bytes against the extension before the format's parser runs.
        self.loaders = loaders if loaders is not None else dict.fromkeys(SUFFIXES, load)
        self.chunker = Chunker(self.embedder.tokens, config.chunk_tokens, config.overlap_tokens)
        self.limits = ParseLimits(
            config.parse_timeout_seconds,
            config.parse_memory_mb << 20,
            config.ocr_page_seconds,
            config.parse_max_seconds,
        )

    def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        labels: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Sync files into a collection and report what happened to each.

        Args:
            paths: Folders (ingest roots) and files.
            collection: The collection, created if missing (unless ``dry_run``).
            labels: Access labels given to the documents ingested in this run.
            prune: Remove documents whose files are gone from the given folders.
            dry_run: Decide and report, but parse, embed and write nothing.
            progress: Receives progress events.

        Raises:
            DocentError: A path is missing, the collection is unusable, or the index is
                locked by another writer.
        """
        started = time.perf_counter()
        files = scan(paths)
        report = IngestReport(collection=collection, dry_run=dry_run)
        if progress:
            progress.start(len(files))
        if dry_run:
            self._sync(
                files, paths, self._open_if_exists(collection), report, progress, labels, prune
            )
        else:
            with self.index.writer_lock():
                if not self._settle_unchanged(
                    files, paths, collection, report, progress, labels, prune
                ):
                    target = self.index.collection(collection, create=True)
                    # One read of the registry serves the repair and the sync.
                    records = target.records()
                    report.recovered = recover(target, records)
                    target.sync_lexical()
                    self._sync(files, paths, target, report, progress, labels, prune, records)
                    self.index.keep_registry_copy(target)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _settle_unchanged(
        self,
        files: list[SourceFile],
        paths: Sequence[Path],
        name: str,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
    ) -> bool:
        """Settle the run from the registry copy if no file needs the index; say whether it did.

        Every file must be skipped before the registry is consulted (link, type, size) or
        match its committed row in size, mtime and labels, with no half-done step anywhere
        in the registry; then the run is exactly what ``_sync`` would do, without a write.
        Documents whose files are gone are reported as missing (with ``--prune`` removing
        them needs the index, so such a run takes the usual path).
        """
        records = self.index.registry_copy(name)
        if records is None or any(r.pending or r.stale for r in records.values()):
            return False
        if prune and gone(records, files, paths):
            return False
        chosen = sorted(set(labels))
        for file in files:
            if self._skip_reason(file):
                continue
            record = records.get(file.key)
            if not (record and _same_stat(record, file) and sorted(record.labels) == chosen):
                return False
        run = _Run(None, records, report, progress, chosen)
        for file in files:
            self._triage(run, file)
        self._gone(run, files, paths, prune)
        return True

    def _skip_reason(self, file: SourceFile) -> str:
        """Why the file is skipped whatever the registry holds (a link, its type, its size)."""
        if file.link:
            return "symbolic link, not followed (ingest the folder it points to)"
        if file.special:
            return f"{file.special}, not a regular file: not read"
        suffix = file.path.suffix.lower()
        if suffix not in self.loaders:
            kinds = ", ".join(sorted(self.loaders))
            return f"unsupported file type `{suffix or 'none'}` (Docent reads {kinds})"
        if file.size == 0:
            return "empty file (0 bytes): nothing to index"
        if file.size > self.config.max_file_bytes:
            limit = self.config.max_file_bytes / 2**20
            return (
                f"too large ({file.size / 2**20:.0f} MB > {limit:.0f} MB); "
                "raise DOCENT_MAX_FILE_MB to include it"
            )
        return ""

    def _open_if_exists(self, name: str) -> Collection | None:
        try:
            return self.index.collection(name)
        except CollectionError as error:
            if "does not exist" in error.message:
                return None
            raise

    def _sync(
        self,
        files: list[SourceFile],
        paths: Sequence[Path],
        collection: Collection | None,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
        rows: list[DocumentRecord] | None = None,
    ) -> None:
        if rows is None:
            rows = collection.records() if collection else []
        records = {r.key: r for r in rows}
        run = _Run(collection, records, report, progress, sorted(set(labels)))
        plans = [plan for file in files if (plan := self._triage(run, file)) is not None]
        if collection is None or report.dry_run:
            for plan in plans:
                status: Status = "updated" if plan.previous else "added"
                run.outcome(FileOutcome(str(plan.file.path), plan.file.source, status))
        elif plans:
            if isinstance(progress, WorkProgress):
                progress.planned(len(plans), sum(plan.file.size for plan in plans))
            # Warm the model while the first files parse; an all-unchanged run never loads it.
            self.embedder.start_loading()
            for prepared in self._prepare_ahead(plans):
                run.outcome(self._store(run, collection, prepared))
        self._gone(run, files, paths, prune)

    def _triage(self, run: _Run, file: SourceFile) -> _Plan | None:
        """Settle a file without parsing when possible; else return what to parse."""

        def settle(status: Status, reason: str = "") -> None:
            run.outcome(FileOutcome(str(file.path), file.source, status, reason))

        if reason := self._skip_reason(file):
            settle("skipped", reason)
            return None
        previous = run.records.get(file.key)
        if previous and _same_stat(previous, file):
            self._keep(run, previous, file)
            return None
        try:
            doc_id = sha256_file(file.path)
        except OSError as error:
            settle("failed", f"cannot read the file ({error.strerror}); check its permissions")
            return None
        if previous and previous.doc_id == doc_id:
            self._touch(run, previous, file)
            self._keep(run, previous, file)
            return None
        if doc_id in run.planned:
            settle("skipped", f"same content as {run.planned[doc_id].source}, indexed in this run")
            return None
        twin = run.by_doc.get(doc_id)
        if twin is not None and twin.doc_id == doc_id and twin.key in run.records:
            if (Path(twin.root) / twin.source).exists():
                settle("skipped", f"same content as {twin.source}, which is already indexed")
                return None
            self._move(run, twin, file)
            settle("updated", f"moved from {twin.source}; no re-embedding needed")
            return None
        run.planned[doc_id] = file
        return _Plan(file, doc_id, previous)

    def _keep(self, run: _Run, record: DocumentRecord, file: SourceFile) -> None:
        """Settle an unchanged file; relabel it when this run gives it other access labels.

        The labels of a run are the document's labels from then on: the chunks are updated
        in place (Chroma and BM25), then the registry row, so a crash in between is redone
        by the next run.
        """
        if sorted(record.labels) == run.labels:
            run.outcome(FileOutcome(str(file.path), file.source, "unchanged"))
            return
        if run.collection is not None and not run.report.dry_run:
            run.collection.relabel_document(record.doc_id, run.labels)
            record.labels = list(run.labels)
            run.collection.put_record(record)
        reason = f"access labels now {', '.join(run.labels) or 'none'}; no re-embedding needed"
        run.outcome(FileOutcome(str(file.path), file.source, "updated", reason))

    def _touch(self, run: _Run, record: DocumentRecord, file: SourceFile) -> None:
        """Record a new mtime for identical content, so the fast path works next time."""
        if run.collection is None or run.report.dry_run:
            return
        record.size, record.mtime_ns = file.size, file.mtime_ns
        run.collection.put_record(record)

    def _move(self, run: _Run, twin: DocumentRecord, file: SourceFile) -> None:
        """Point an indexed document at its new path (a rename or move)."""
        if run.collection is None or run.report.dry_run:
            return
        run.collection.move_document(twin.doc_id, file.source)
        moved = DocumentRecord(
            **{
                **twin.__dict__,
                "key": file.key,
                "root": str(file.root),
                "source": file.source,
                "size": file.size,
                "mtime_ns": file.mtime_ns,
            }
        )
        run.collection.put_record(moved)
        run.collection.delete_record(twin.key)
        del run.records[twin.key]
        run.records[moved.key] = run.by_doc[moved.doc_id] = moved

    def _prepare_ahead(self, plans: list[_Plan]) -> Iterator[_Prepared]:
        """Parse and chunk files in background threads, a few ahead of the embedder.

        Each thread waits on its own parsing process and the embedder releases the GIL,
        so ``parse_workers`` files are parsed (a long OCR file among them does not hold up
        the rest) while the one before is embedded; files come out as they are ready.
        """
        workers = max(self.config.parse_workers, 1)
        return ahead(plans, self._prepare, _PREFETCH, workers)

    def _prepare(self, plan: _Plan) -> _Prepared:
        parsed = self._parse(plan.file.path)
        pieces = [] if isinstance(parsed, LoaderError) else self.chunker.split(parsed)
        return _Prepared(plan, parsed, pieces)

    def _parse(self, path: Path) -> ParsedDocument | LoaderError:
        loader = self.loaders[path.suffix.lower()]
        try:
            return parse_isolated(path, loader, self.limits)
        except LoaderError as error:
            return error

    def _store(self, run: _Run, collection: Collection, prepared: _Prepared) -> FileOutcome:
        """Embed and write one chunked file under the journal protocol."""
        plan, parsed, pieces = prepared.plan, prepared.parsed, prepared.pieces
        file = plan.file
        if isinstance(run.progress, WorkProgress):
            run.progress.storing(file.source, file.size)
        status: Status = "updated" if plan.previous and plan.previous.doc_id else "added"
        kept = "; the previously indexed version is kept" if status == "updated" else ""
        if isinstance(parsed, LoaderError):
            return FileOutcome(str(file.path), file.source, "failed", f"{parsed}{kept}")
        notes = list(parsed.notes)
        quality = quality_note(parsed)
        notes += [quality] if quality else []
        if parsed.empty_pages:
            notes.append(f"pages {page_ranges(parsed.empty_pages)}: no text layer; needs OCR")
        if not pieces:
            reason = "no extractable text" + (f" ({notes[-1]})" if parsed.empty_pages else "")
            return FileOutcome(str(file.path), file.source, "failed", reason + kept, notes=notes)
        record = plan.previous or DocumentRecord(
            key=file.key, root=str(file.root), source=file.source
        )
        record.pending = plan.doc_id
        collection.put_record(record)
        run.records[record.key] = record
        chunks = [
            self._chunk(run, plan.doc_id, i, piece, parsed, file) for i, piece in enumerate(pieces)
        ]
        self._write(run, collection, chunks)
        old = record.doc_id
        record.doc_id, record.pending, record.stale = plan.doc_id, "", old
        record.size, record.mtime_ns, record.title = file.size, file.mtime_ns, parsed.title
        record.pages, record.chunks, record.ingested_at = parsed.pages, len(chunks), run.now
        record.notes, record.labels = "; ".join(notes), run.labels
        collection.put_record(record)
        run.by_doc[plan.doc_id] = record
        if old:  # a new file has no old version: its row is final already (one write less)
            if old != plan.doc_id:
                collection.delete_document_chunks(old)
            record.stale = ""
            collection.put_record(record)
        run.report.pages += parsed.pages
        return FileOutcome(
            str(file.path), file.source, status, chunks=len(chunks), pages=parsed.pages, notes=notes
        )

    @staticmethod
    def _chunk(
        run: _Run,
        doc_id: str,
        position: int,
        piece: Piece,
        parsed: ParsedDocument,
        file: SourceFile,
    ) -> Chunk:
        return Chunk(
            id=chunk_id(doc_id, position),
            text=piece.text,
            embed_text=piece.embed_text,
            doc_id=doc_id,
            position=position,
            source=file.source,
            title=parsed.title,
            page=piece.page,
            heading=piece.heading,
            char_start=piece.char_start,
            char_end=piece.char_end,
            labels=tuple(run.labels),
            ingested_at=run.now,
        )

    def _write(self, run: _Run, collection: Collection, chunks: list[Chunk]) -> None:
        """Embed chunks a window at a time (identical texts once) and store them in steps."""
        step = self.config.write_batch
        for first in range(0, len(chunks), _EMBED_WINDOW):
            window = chunks[first : first + _EMBED_WINDOW]
            unique = list(dict.fromkeys(chunk.embed_text for chunk in window))
            row = {text: i for i, text in enumerate(unique)}
            vectors = self.embedder.encode(unique)[[row[c.embed_text] for c in window]]
            run.report.chunks_embedded += len(unique)
            for start in range(0, len(window), step):
                batch = window[start : start + step]
                collection.upsert_chunks(batch, vectors[start : start + step])
                run.report.chunks_written += len(batch)
                if run.progress:
                    run.progress.chunks_done(len(batch))

    def _gone(self, run: _Run, files: list[SourceFile], paths: Sequence[Path], prune: bool) -> None:
        """Find (and with ``prune``, remove) documents whose files are gone."""
        for record in gone(run.records, files, paths):
            if not prune or run.collection is None or run.report.dry_run:
                (run.report.pruned if prune else run.report.missing).append(record.source)
                continue
            run.collection.remove_document(record)
            del run.records[record.key]
            run.by_doc.pop(record.doc_id, None)
            run.report.pruned.append(record.source)


def _same_stat(record: DocumentRecord, file: SourceFile) -> bool:
    """Whether a committed row has the file's size and mtime: unchanged, without reading it."""
    return bool(record.doc_id) and (record.size, record.mtime_ns) == (file.size, file.mtime_ns)
