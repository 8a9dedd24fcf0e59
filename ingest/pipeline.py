"""Incremental, crash-safe sync of folders into a collection.

For each file: a size/mtime fast path, then its sha256, decides whether it is new,
changed or unchanged; unchanged files cost no parsing and no embedding. New and changed
files are parsed in isolated workers, several at once (``parse_workers``, one per core by
default), chunked, and embedded in background threads ahead of the writes, whose sessions
use the cores the parsers leave idle (``ingest.flow``). The chunks of the files ready are
embedded and written a window at a time (many small files to a window, a large file over
several), under a small journal kept in the document registry:

1. the registry rows of the window's files record ``pending = new sha`` (nothing else
   changes yet);
2. the new chunks are upserted, into Chroma and the BM25 index (ids derived from the
   sha, so rewriting is idempotent);
3. the rows of the files whose last chunks were written are committed:
   ``doc_id = new sha``, ``stale = old sha``;
4. the old versions' chunks are deleted and ``stale`` is cleared.

Files are found, decided and submitted one at a time (``ingest.scan``), and at most a few
dozen are in flight; the registry rows the run consults wait in a temporary SQLite file
(``rag.registry_rows``), so memory does not grow with the number of files in the share.

A run first finishes or rolls back any step a killed run left half-done
(``recover``), so after SIGKILL at any point the next run ends with exactly the chunk
set of a clean run, and a changed document is never missing from the index.

A run leaves a copy of the registry beside an embedded index (``rag.registry_copy``); when
every file of the next run is unchanged, that run settles from the copy and never opens
Chroma (nor imports it).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np

from ingest.chunker import Chunker, Piece
from ingest.document import LoaderError, ParsedDocument, page_ranges
from ingest.flow import Flow, Window
from ingest.isolation import Loader, ParseLimits, parse_isolated
from ingest.journal import recover as recover
from ingest.loaders import SUFFIXES, load
from ingest.progress import Progress as Progress
from ingest.progress import WorkProgress
from ingest.quality import quality_note
from ingest.report import FileOutcome, IngestReport, Outcomes, Status
from ingest.scan import Folders
from ingest.source import Readable, Source, SourceFile, SourceUnavailable
from models.embedder import Embedder
from rag.registry_rows import RegistryRows
from rag.store import Collection, CollectionError, Index
from rag.types import Chunk, DocumentRecord, chunk_id

# Chunks embedded and stored at once: the embedder sorts them by length and shares them
# between its sessions, and the writes of a window go in `write_batch` steps.
_EMBED_WINDOW = 512
# Files in flight (decided, and not yet stored), at most; and their bytes, once more files
# than parse workers are in flight. Bounds memory whatever the size of the share.
_IN_FLIGHT_FILES = 96
_IN_FLIGHT_BYTES = 64 << 20
# Registry rows of unchanged files with a new mtime, written together.
_TOUCH_BATCH = 256
# Documents whose files are gone, removed together by `--prune`.
_PRUNE_BATCH = 500
# How far a run has seen a row's file (``RegistryRows.find``): by the survey's walk, and by
# the walk that decides the files; a row put during the run is of a file it found.
_SURVEYED, _FOUND = 1, 2


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
    """A file that needs parsing, its bytes, and what the registry knew of it."""

    file: SourceFile
    readable: Readable
    previous: DocumentRecord | None

    @property
    def doc_id(self) -> str:
        """The sha256 of the bytes being parsed."""
        return self.readable.doc_id

    @property
    def status(self) -> Status:
        """What the file will be once stored: a new document, or a new version of one."""
        return "updated" if self.previous and self.previous.doc_id else "added"


@dataclass(slots=True)
class _Prepared:
    """A file parsed and chunked (no pieces when parsing failed)."""

    plan: _Plan
    parsed: ParsedDocument | LoaderError
    pieces: list[Piece]
    # What it will be once stored (decided before its row changes).
    status: Status = "added"
    # Set when its first chunks are stored: the row being written.
    record: DocumentRecord | None = None


@dataclass
class _Survey:
    """A first look at the files, by ``stat`` alone: how many, and the work they need.

    Attributes:
        files: Files found.
        work_files: Files whose size or mtime differ from their row (or that have none).
        work_bytes: Their bytes.
        settled: Every file's outcome when each is settled by its ``stat`` (skipped, or
            unchanged with the same labels); None as soon as one is not.
        unseen: Registry rows under the roots whose files were not found.
        unreadable: Files the source's permissions let no mapped principal read.
    """

    files: int = 0
    work_files: int = 0
    work_bytes: int = 0
    settled: Outcomes | None = field(default_factory=Outcomes)
    unseen: int = 0
    unreadable: list[str] = field(default_factory=list)


@dataclass
class _Run:
    source: Source
    collection: Collection | None
    records: RegistryRows
    report: IngestReport
    progress: Progress | None
    labels: list[str]
    # The ingest roots among the paths: their rows whose files are not found are gone.
    folders: set[str]
    # Content hash -> source of each file planned in this run (a copy is indexed once).
    planned: dict[str, str] = field(default_factory=dict)
    touched: list[DocumentRecord] = field(default_factory=list)
    in_flight_bytes: int = 0
    now: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

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
        paths: Sequence[Path] | Source,
        collection: str,
        *,
        labels: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Sync files into a collection and report what happened to each.

        Args:
            paths: Folders (ingest roots) and files, or another source of files (an SMB
                share: ``ingest.smb.SmbShare``), closed when the run ends.
            collection: The collection, created if missing (unless ``dry_run``).
            labels: Access labels given to the documents ingested in this run.
            prune: Remove documents whose files are gone from the given folders.
            dry_run: Decide and report, but parse, embed and write nothing.
            progress: Receives progress events.

        A source that stops answering mid-run (``SourceUnavailable``) ends the run with
        ``report.interrupted`` saying so: no file is taken for gone and no document of a
        file not yet read is changed.

        Raises:
            DocentError: A path is missing, the collection is unusable, or the index is
                locked by another writer.
        """
        started = time.perf_counter()
        source = paths if not isinstance(paths, Sequence) else Folders(paths)
        report = IngestReport(collection=collection, dry_run=dry_run)
        try:
            if dry_run:
                self._dry_run(source, collection, report, progress, labels, prune)
            else:
                self._write_run(source, collection, report, progress, labels, prune)
        finally:
            source.close()
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _dry_run(
        self,
        source: Source,
        collection: str,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
    ) -> None:
        target = self._open_if_exists(collection)
        rows = RegistryRows(target.iter_records() if target else ())
        try:
            self._sync(source, target, report, progress, labels, prune, rows)
        except SourceUnavailable as error:
            report.interrupted = _interrupted(error)
        finally:
            rows.close()

    def _write_run(
        self,
        source: Source,
        collection: str,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
    ) -> None:
        with self.index.writer_lock():
            copy = self.index.registry_copy(collection)
            written: Collection | None = None
            try:
                settled, survey = self._settle_unchanged(
                    copy, source, report, progress, labels, prune
                )
                if not settled:
                    written = self.index.collection(collection, create=True)
                    self._sync_index(source, written, report, progress, labels, prune, survey, copy)
            except SourceUnavailable as error:
                report.interrupted = _interrupted(error)
            finally:
                if copy is not None:
                    copy.close()
            if written is not None:
                # Read afresh, a page at a time, once the run's rows are let go.
                self.index.keep_registry_copy(written)

    def _sync_index(
        self,
        source: Source,
        target: Collection,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
        survey: _Survey | None,
        copy: RegistryRows | None,
    ) -> None:
        """Repair what a killed run left, then sync (``copy``: the exact registry copy)."""
        # The copy is what Chroma holds (see rag.registry_copy): no second read. Else one
        # read serves the repair and the sync.
        rows = copy if copy is not None else RegistryRows(target.iter_records())
        try:
            report.recovered = recover(target, rows)
            target.sync_lexical()
            self._sync(source, target, report, progress, labels, prune, rows, survey)
        finally:
            if copy is None:
                rows.close()

    def _survey(
        self,
        source: Source,
        records: RegistryRows,
        labels: list[str],
    ) -> _Survey:
        """Walk the files once, reading only their ``stat`` (see ``_Survey``)."""
        survey = _Survey()
        for file in source.files():
            survey.files += 1
            record = records.find(file.key, _SURVEYED)
            if reason := self._skip_reason(file):
                if survey.settled is not None:
                    survey.settled.append(FileOutcome(file.path, file.source, "skipped", reason))
                continue
            if file.labels == ():
                survey.unreadable.append(file.source)
            same = record is not None and _same_stat(record, file)
            if not same:
                survey.work_files += 1
                survey.work_bytes += file.size
            if same and record is not None and sorted(record.labels) == _labels(labels, file):
                if survey.settled is not None:
                    survey.settled.append(FileOutcome(file.path, file.source, "unchanged"))
            else:
                survey.settled = None
        survey.unseen = records.count_unseen(source.roots(), _SURVEYED)
        return survey

    def _settle_unchanged(
        self,
        records: RegistryRows | None,
        source: Source,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
    ) -> tuple[bool, _Survey | None]:
        """Settle the run from the registry copy if no file needs the index.

        Every file must be skipped before the registry is consulted (link, type, size) or
        match its committed row in size, mtime and labels, with no half-done step anywhere
        in the registry; then the run is exactly what ``_sync`` would do, without a write.
        Documents whose files are gone are reported as missing (with ``--prune`` removing
        them needs the index, so such a run takes the usual path).

        Args:
            records: The registry copy (``Index.registry_copy``), None when there is none.

        Returns:
            Whether the run was settled, and the survey made on the copy (exact for the
            registry the run opens otherwise; None when there was no usable copy).
        """
        if records is None or records.any_half_done():
            return False, None
        chosen = sorted(set(labels))
        survey = self._survey(source, records, chosen)
        if survey.settled is None or (prune and survey.unseen):
            return False, survey
        if progress:
            progress.start(survey.files)
            for outcome in survey.settled:
                progress.file_done(outcome)
        if report.files:
            report.files += survey.settled
        else:
            report.files = survey.settled  # no second copy of 100k outcomes
        report.missing += [r.source for r in records.unseen(source.roots(), _SURVEYED)]
        report.unreadable += survey.unreadable
        return True, survey

    def _skip_reason(self, file: SourceFile) -> str:
        """Why the file is skipped whatever the registry holds (a link, its type, its size)."""
        if file.link:
            return "symbolic link, not followed (ingest the folder it points to)"
        if file.special:
            return f"{file.special}, not a regular file: not read"
        suffix = PurePosixPath(file.source).suffix.lower()
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
        source: Source,
        collection: Collection | None,
        report: IngestReport,
        progress: Progress | None,
        labels: Sequence[str],
        prune: bool,
        rows: RegistryRows,
        survey: _Survey | None = None,
    ) -> None:
        run = _Run(source, collection, rows, report, progress, sorted(set(labels)), source.roots())
        if survey is None:
            survey = self._survey(source, rows, run.labels)
        if progress:
            progress.start(survey.files)
        # The survey's walk counted the files; this one decides them (a file may have
        # changed in between: what is found now is what counts).
        plans = (plan for file in source.files() if (plan := self._triage(run, file)) is not None)
        if collection is None or report.dry_run:
            for plan in plans:
                plan.readable.discard()
                status: Status = "updated" if plan.previous else "added"
                run.outcome(FileOutcome(plan.file.path, plan.file.source, status))
        else:
            self._flow(run, collection, plans, survey)
            self._write_touched(run)
        self._gone(run, prune)

    def _triage(self, run: _Run, file: SourceFile) -> _Plan | None:
        """Settle a file without parsing when possible; else return what to parse."""

        def settle(status: Status, reason: str = "") -> None:
            run.outcome(FileOutcome(file.path, file.source, status, reason))

        previous = run.records.find(file.key, _FOUND)
        if reason := self._skip_reason(file):
            settle("skipped", reason)
            return None
        if file.labels == ():
            run.report.unreadable.append(file.source)
        if previous and _same_stat(previous, file):
            self._keep(run, previous, file)
            return None
        try:
            readable = run.source.read(file)
        except OSError as error:
            why = error.strerror or str(error)
            settle("failed", f"cannot read the file ({why}); check its permissions")
            return None
        doc_id = readable.doc_id
        if previous and previous.doc_id == doc_id:
            readable.discard()
            self._touch(run, previous, file)
            self._keep(run, previous, file)
            return None
        if doc_id in run.planned:
            readable.discard()
            settle("skipped", f"same content as {run.planned[doc_id]}, indexed in this run")
            return None
        twin = run.records.by_content(doc_id)
        if twin is not None:
            readable.discard()
            if run.source.exists(twin.root, twin.source):
                settle("skipped", f"same content as {twin.source}, which is already indexed")
                return None
            self._move(run, twin, file)
            settle("updated", f"moved from {twin.source}; no re-embedding needed")
            return None
        run.planned[doc_id] = file.source
        return _Plan(file, readable, previous)

    def _keep(self, run: _Run, record: DocumentRecord, file: SourceFile) -> None:
        """Settle an unchanged file; relabel it when it has other access labels now."""
        if self._relabel(run, record, file):
            labels = _labels(run.labels, file)
            reason = f"access labels now {', '.join(labels) or 'none'}; no re-embedding needed"
            run.outcome(FileOutcome(file.path, file.source, "updated", reason))
        else:
            run.outcome(FileOutcome(file.path, file.source, "unchanged"))

    @staticmethod
    def _relabel(run: _Run, record: DocumentRecord, file: SourceFile) -> bool:
        """Give an indexed document the file's labels now, if they differ; whether they did.

        The labels of a run (or those its source's permissions give the file) are the
        document's labels from then on: the chunks are updated in place (Chroma and BM25),
        then the registry row, so a crash in between is redone by the next run.
        """
        labels = _labels(run.labels, file)
        if sorted(record.labels) == labels:
            return False
        if run.collection is not None and not run.report.dry_run:
            run.collection.relabel_document(record.doc_id, labels)
            record.labels = list(labels)
            run.collection.put_record(record)
            run.records.put(record, _FOUND)
        return True

    def _touch(self, run: _Run, record: DocumentRecord, file: SourceFile) -> None:
        """Record a new mtime for identical content, so the fast path works next time.

        The rows are written a few hundred at a time (a copied share touches them all);
        one lost in a crash only costs its file a hash on the next run.
        """
        if run.collection is None or run.report.dry_run:
            return
        record.size, record.mtime_ns = file.size, file.mtime_ns
        run.records.put(record, _FOUND)
        run.touched.append(record)
        if len(run.touched) >= _TOUCH_BATCH:
            self._write_touched(run)

    @staticmethod
    def _write_touched(run: _Run) -> None:
        if run.collection is not None and run.touched:
            run.collection.put_records(run.touched)
        run.touched = []

    def _move(self, run: _Run, twin: DocumentRecord, file: SourceFile) -> None:
        """Point an indexed document at its new path (a rename or move), with its labels."""
        if run.collection is None or run.report.dry_run:
            return
        run.collection.move_document(twin.doc_id, file.source)
        moved = replace(
            twin,
            key=file.key,
            root=file.root,
            source=file.source,
            size=file.size,
            mtime_ns=file.mtime_ns,
            labels=list(twin.labels),
        )
        run.collection.put_record(moved)
        run.collection.delete_record(twin.key)
        run.records.delete(twin.key)
        run.records.put(moved, _FOUND)
        self._relabel(run, moved, file)

    def _flow(
        self, run: _Run, collection: Collection, plans: Iterable[_Plan], survey: _Survey
    ) -> None:
        """Parse, embed and store the planned files, the stages overlapping (``ingest.flow``).

        Files are decided and submitted here one at a time; before more are submitted,
        the windows embedded already are stored, and while too many files are in flight
        (``_IN_FLIGHT_FILES``, ``_IN_FLIGHT_BYTES``) the next window is waited for.
        """
        flow: Flow[_Plan, _Prepared] | None = None
        workers = max(self.config.parse_workers, 1)
        try:
            for plan in plans:
                if flow is None:
                    if isinstance(run.progress, WorkProgress):
                        run.progress.planned(
                            max(survey.work_files, 1), max(survey.work_bytes, plan.file.size)
                        )
                    # Warm the model while the first files parse; a run with nothing to
                    # parse never loads it.
                    self.embedder.start_loading()
                    flow = Flow(
                        functools.partial(self._prepare, source=run.source),
                        _chunk_count,
                        self._embed,
                        workers,
                        _EMBED_WINDOW,
                    )
                while flow.in_flight > workers and (
                    flow.in_flight >= _IN_FLIGHT_FILES
                    or run.in_flight_bytes + plan.file.size > _IN_FLIGHT_BYTES
                ):
                    self._store(run, collection, flow.next())
                flow.submit(plan)
                run.in_flight_bytes += plan.file.size
                for window in flow.ready():
                    self._store(run, collection, window)
            if flow is not None:
                flow.close()
                while (last := flow.next()) is not None:
                    self._store(run, collection, last)
        finally:
            if flow is not None:
                flow.stop()

    def _prepare(self, plan: _Plan, source: Source) -> _Prepared:
        try:
            parsed = self._parse(plan)
            changed = not isinstance(parsed, LoaderError) and source.changed(plan.file)
        finally:
            plan.readable.discard()
        if changed:
            # Text of one version must never be stored under another version's hash (the
            # next run would take the file for unchanged): the next run reads it again.
            parsed = LoaderError(
                "the file changed while it was being read (someone is saving it); "
                "it is read again at the next run"
            )
        pieces = [] if isinstance(parsed, LoaderError) else self.chunker.split(parsed)
        return _Prepared(plan, parsed, pieces, plan.status)

    def _parse(self, plan: _Plan) -> ParsedDocument | LoaderError:
        loader = self.loaders[PurePosixPath(plan.file.source).suffix.lower()]
        try:
            return parse_isolated(plan.readable.path, loader, self.limits)
        except LoaderError as error:
            return error

    def _embed(self, runs: Sequence[tuple[_Prepared, int, int]]) -> tuple[np.ndarray, int]:
        """Vectors of the chunks of ``runs`` (identical texts embedded once); texts embedded."""
        texts = [p.pieces[i].embed_text for p, start, end in runs for i in range(start, end)]
        unique = list(dict.fromkeys(texts))
        row = {text: i for i, text in enumerate(unique)}
        return self.embedder.encode(unique)[[row[text] for text in texts]], len(unique)

    def _store(self, run: _Run, collection: Collection, window: Window[_Prepared] | None) -> None:
        """Write one embedded window under the journal protocol (see the module docstring)."""
        if window is None:
            return
        starting = [part.item for part in window.parts if part.first]
        pending = []
        for prepared in starting:
            file = prepared.plan.file
            if isinstance(run.progress, WorkProgress):
                run.progress.storing(file.source, file.size)
            if prepared.pieces:
                prepared.record = self._pending(run, prepared)
                pending.append(prepared.record)
        collection.put_records(pending)
        chunks = [
            self._chunk(run, part.item, i)
            for part in window.parts
            for i in range(part.start, part.end)
        ]
        run.report.chunks_embedded += window.embedded
        step = self.config.write_batch
        for start in range(0, len(chunks), step):
            batch = chunks[start : start + step]
            collection.upsert_chunks(batch, window.vectors[start : start + step])
            run.report.chunks_written += len(batch)
            if run.progress:
                run.progress.chunks_done(len(batch))
        finished = [part.item for part in window.parts if part.last]
        committed = [p.record for p in finished if p.record is not None]
        for prepared in finished:
            if prepared.record is not None:
                self._commit(run, prepared, prepared.record)
        collection.put_records(committed)
        replaced = [r for r in committed if r.stale]
        collection.delete_documents_chunks(
            sorted({r.stale for r in replaced} - {r.doc_id for r in replaced})
        )
        for record in replaced:
            record.stale = ""
            run.records.put(record, _FOUND)
        collection.put_records(replaced)
        for prepared in finished:
            run.in_flight_bytes -= prepared.plan.file.size
            run.outcome(self._outcome(run, prepared))

    @staticmethod
    def _pending(run: _Run, prepared: _Prepared) -> DocumentRecord:
        """The file's registry row, marked as being written (step 1 of the journal)."""
        plan, file = prepared.plan, prepared.plan.file
        record = plan.previous or DocumentRecord(key=file.key, root=file.root, source=file.source)
        record.pending = plan.doc_id
        run.records.put(record, _FOUND)
        return record

    @staticmethod
    def _commit(run: _Run, prepared: _Prepared, record: DocumentRecord) -> None:
        """The row once every chunk of the file is stored (step 3: ``stale`` = old version)."""
        plan, file = prepared.plan, prepared.plan.file
        assert isinstance(prepared.parsed, ParsedDocument)
        old = record.doc_id
        record.doc_id, record.pending, record.stale = plan.doc_id, "", old
        record.size, record.mtime_ns, record.title = file.size, file.mtime_ns, prepared.parsed.title
        record.pages, record.chunks = prepared.parsed.pages, len(prepared.pieces)
        record.ingested_at = run.now
        record.notes, record.labels = "; ".join(_notes(prepared.parsed)), _labels(run.labels, file)
        run.records.put(record, _FOUND)

    @staticmethod
    def _outcome(run: _Run, prepared: _Prepared) -> FileOutcome:
        parsed, file, status = prepared.parsed, prepared.plan.file, prepared.status
        kept = "; the previously indexed version is kept" if status == "updated" else ""
        if isinstance(parsed, LoaderError):
            return FileOutcome(file.path, file.source, "failed", f"{parsed}{kept}")
        notes = _notes(parsed)
        if not prepared.pieces:
            reason = "no extractable text" + (f" ({notes[-1]})" if parsed.empty_pages else "")
            return FileOutcome(file.path, file.source, "failed", reason + kept, notes=notes)
        run.report.pages += parsed.pages
        chunks = len(prepared.pieces)
        return FileOutcome(
            file.path, file.source, status, chunks=chunks, pages=parsed.pages, notes=notes
        )

    @staticmethod
    def _chunk(run: _Run, prepared: _Prepared, position: int) -> Chunk:
        piece, file, doc_id = prepared.pieces[position], prepared.plan.file, prepared.plan.doc_id
        assert isinstance(prepared.parsed, ParsedDocument)
        return Chunk(
            id=chunk_id(doc_id, position),
            text=piece.text,
            embed_text=piece.embed_text,
            doc_id=doc_id,
            position=position,
            source=file.source,
            title=prepared.parsed.title,
            page=piece.page,
            heading=piece.heading,
            char_start=piece.char_start,
            char_end=piece.char_end,
            labels=tuple(_labels(run.labels, file)),
            ingested_at=run.now,
            headings=piece.headings,
            rows=piece.rows,
        )

    def _gone(self, run: _Run, prune: bool) -> None:
        """Find (and with ``prune``, remove) documents whose files are gone.

        Removed ``_PRUNE_BATCH`` at a time: each removal filters the index by content hash,
        which costs as much for one document as for a thousand.
        """
        batch: list[DocumentRecord] = []
        for record in run.records.unseen(run.folders, _FOUND):
            if not prune or run.collection is None or run.report.dry_run:
                (run.report.pruned if prune else run.report.missing).append(record.source)
                continue
            batch.append(record)
            if len(batch) >= _PRUNE_BATCH:
                self._prune(run, batch)
                batch = []
        self._prune(run, batch)

    @staticmethod
    def _prune(run: _Run, records: list[DocumentRecord]) -> None:
        """Remove these documents from the index, then from the run's rows and report them."""
        if not records:
            return
        assert run.collection is not None
        run.collection.remove_documents(records)
        for record in records:
            run.records.delete(record.key)
            run.report.pruned.append(record.source)


def _chunk_count(prepared: _Prepared) -> int:
    return len(prepared.pieces)


def _notes(parsed: ParsedDocument) -> list[str]:
    """The report's notes on a parsed file: its own, its text quality, pages needing OCR."""
    notes = list(parsed.notes)
    quality = quality_note(parsed)
    notes += [quality] if quality else []
    if parsed.empty_pages:
        notes.append(f"pages {page_ranges(parsed.empty_pages)}: no text layer; needs OCR")
    return notes


def _labels(labels: list[str], file: SourceFile) -> list[str]:
    """The labels a file's document gets: its source's (from the share's permissions), or
    else the run's."""
    return list(file.labels) if file.labels is not None else labels


def _interrupted(error: SourceUnavailable) -> str:
    """What a report says of a run its source stopped."""
    return str(error)


def _same_stat(record: DocumentRecord, file: SourceFile) -> bool:
    """Whether a committed row has the file's size and mtime: unchanged, without reading it."""
    return bool(record.doc_id) and (record.size, record.mtime_ns) == (file.size, file.mtime_ns)
