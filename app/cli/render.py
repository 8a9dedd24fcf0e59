"""Plain-text rendering of reports and listings (pure functions, tested without a terminal)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from app.api import ModelsReport, Status
from app.provenance import provenance
from ingest.report import IngestReport, shown
from rag.store import CollectionInfo
from rag.types import DocumentRecord

if TYPE_CHECKING:
    from app.sync_runs import SyncRun
    from rag.answer import Answer
    from rag.summarize import Summary


# Lines a section of the ingest report lists before it points to --json for the rest.
REPORT_LINES = 20


def _capped(title: str, rows: list[str]) -> list[str]:
    """A titled section of at most ``REPORT_LINES`` rows; the rest counted, not listed."""
    if not rows:
        return []
    listed = rows[:REPORT_LINES]
    more = len(rows) - len(listed)
    tail = [f"  ... and {more} more (all of them in --json)"] if more else []
    return [f"{title}:", *listed, *tail]


def _skipped(report: IngestReport) -> list[str]:
    """Skipped files grouped by reason: the count and the first few of each."""
    groups: dict[str, list[str]] = {}
    for outcome in report.files:
        if outcome.status == "skipped":
            groups.setdefault(outcome.reason, []).append(outcome.source)
    rows = []
    for reason, sources in sorted(groups.items(), key=lambda item: -len(item[1])):
        if len(sources) == 1:
            rows.append(f"  {_at(sources[0], reason)}")
        else:
            examples = ", ".join(map(shown, sources[:3])) + (", ..." if len(sources) > 3 else "")
            rows.append(f"  {len(sources)} files ({examples}): {shown(reason)}")
    return rows


def ingest_report(report: IngestReport) -> str:
    """The closing report of an ingest: counts, every failure, then summaries of the rest.

    Failures are listed in full (each needs a person's attention); skips are grouped by
    reason, and notes, moves and removals are listed up to ``REPORT_LINES`` each, so the
    report of a 100k-file share stays readable. ``--json`` holds every file.
    """
    counts = report.counts()
    verb = "would be" if report.dry_run else ""
    summary = ", ".join(f"{n} {verb + ' ' if verb else ''}{status}" for status, n in counts.items())
    lines = [
        f"Collection `{report.collection}`: {len(report.files)} files: {summary}.",
    ]
    if not report.dry_run:
        rate = f" ({report.pages / report.seconds:.1f} pages/s)" if report.seconds else ""
        lines.append(
            f"{report.chunks_written} chunks written ({report.chunks_embedded} embedded), "
            f"{report.pages} pages, {report.seconds:.1f} s{rate}."
        )
    if report.recovered:
        lines.append(f"Repaired {report.recovered} document(s) left half-written by a stopped run.")
    if report.failed:
        lines += ["Failed:", *(f"  {_at(o.source, o.reason)}" for o in report.failed)]
    if counts["skipped"]:
        lines += ["Skipped:", *_skipped(report)]
    notes = [f"  {_at(o.source, note)}" for o in report.files for note in o.notes]
    moved = [
        f"  {_at(o.source, o.reason)}" for o in report.files if o.status == "updated" and o.reason
    ]
    lines += _capped("Notes", moved + notes)
    lines += _capped(
        "Indexed for no one (the share lets no mapped principal read them)",
        [f"  {shown(source)}" for source in report.unreadable],
    )
    lines += _capped("Removed (files gone)", [f"  {shown(source)}" for source in report.pruned])
    lines += _capped(
        "Gone from disk but still indexed (run again with --prune to remove)",
        [f"  {shown(source)}" for source in report.missing],
    )
    if report.interrupted:
        lines.append(f"Stopped: {shown(report.interrupted)}")
    return "\n".join(lines)


def _at(source: str, text: str) -> str:
    return f"{shown(source)}: {shown(text)}"


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    """A left-aligned text table."""
    body = [headers, *rows]
    widths = [max(len(row[i]) for row in body) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in body
    )


def collections(infos: list[CollectionInfo]) -> str:
    """The collections listing."""
    if not infos:
        return "No collections yet. Create one with `docent ingest PATH --collection NAME`."
    return table(
        ["NAME", "DOCUMENTS", "CHUNKS", "EMBEDDER", "CREATED"],
        ([i.name, str(i.documents), str(i.chunks), i.embedder, i.created_at] for i in infos),
    )


def documents(records: list[DocumentRecord]) -> str:
    """The documents listing."""
    if not records:
        return "No documents in this collection."
    return table(
        ["SOURCE", "TITLE", "PAGES", "CHUNKS", "INGESTED"],
        (
            [
                shown(r.source),
                shown(r.title[:40]),
                str(r.pages or "-"),
                str(r.chunks),
                r.ingested_at,
            ]
            for r in records
        ),
    )


def status(state: Status) -> str:
    """The status page."""
    docs = sum(c.documents for c in state.collections)
    chunks = sum(c.chunks for c in state.collections)
    lines = [
        f"Index:        {state.index}",
        f"Collections:  {len(state.collections)} ({docs} documents, {chunks} chunks)",
        *(f"  {c.name}: {c.documents} documents, {c.chunks} chunks" for c in state.collections),
        f"Embedder:     {state.embedder} ({state.embedder_backend})",
        f"  weights:    {state.embedder_dir}",
        f"  check:      {state.embedder_weights}",
        "Versions:     " + ", ".join(f"{k} {v}" for k, v in state.versions.items()),
    ]
    if state.chat_runtime:
        lines.append("Chat runtime: embedded llama.cpp")
        lines += [f"  {name + ':':<18}{value}" for name, value in state.chat_runtime.items()]
    if state.scheduled:
        lines.append(f"Scheduled:    {len(state.scheduled)} (last run of each, docent scheduler)")
        lines += [f"  {scheduled_run(run)}" for run in state.scheduled]
    return "\n".join(lines)


def scheduled_run(run: SyncRun) -> str:
    """A scheduled run in a line or two: what, when, what it came to, and when next."""
    into = f" -> {run.collection}" if run.collection else ""
    head = f"{run.source} ({run.kind} {shown(run.target)}{into}): {run.result}"
    when = f"started {run.started_at}" + (f", ended {run.finished_at}" if run.finished_at else "")
    line = f"{head}, {when}"
    if tally := run.tally():
        line += f"; {tally}"
    if run.next_run:
        line += f"; next {run.next_run}"
    return line + (f"\n    {shown(run.error)}" if run.error else "")


def _quote(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return f"“{flat[:limit]}…”" if len(flat) > limit else f"“{flat}”"


def _where(title: str, source: str, page: int, cells: str = "") -> str:
    """Title, file and place: a sheet's cells ("Rota!A12:D12") where known, else the page."""
    place = f", {shown(cells)}" if cells else f", page {page}" if page else ""
    return f"{shown(title)} ({shown(source)}){place}"


def quoted_answer(answer: Answer) -> str:
    """An answer as evidence: where it is quoted from, then each unit and its place.

    A unit keeps its lines (a list, a command); each is made safe for a terminal.
    """
    lead = answer.lead
    lines = [shown(lead)] if lead else []
    lines.append(provenance(answer))
    for sentence in answer.sentences:
        cited = sentence.citation
        shown_lines = [shown(line) for line in sentence.text.splitlines() if line.strip()]
        lines.append(f"[{cited.number}] {shown_lines[0] if shown_lines else ''}")
        lines += [f"    {line}" for line in shown_lines[1:]]
        span = f"chars {cited.char_start}-{cited.char_end}"
        lines.append(f"    {_where(cited.title, cited.source, cited.page, cited.cells)}, {span}")
        if cited.also_in:
            lines.append(f"    also in: {', '.join(cited.also_in)}")
    return "\n".join(lines)


def answer_footer(answer: Answer) -> str:
    """What follows a streamed answer: its verified sources, or why there are none."""
    lines: list[str] = []
    if answer.status == "not_found":
        if answer.evidence:
            lines.append("Closest passages (none answers the question well enough):")
            lines += [
                f"  [{s.number}] {_where(s.title, s.source, s.page)}: {_quote(s.text)}"
                for s in answer.evidence
            ]
        return "\n".join(lines)
    if answer.status == "unverified":
        lines.append(
            "UNVERIFIED: no sentence of this answer is supported by the sources. "
            "Check the evidence yourself:"
        )
        lines += [
            f"  [{s.number}] {_where(s.title, s.source, s.page)}: {_quote(s.text)}"
            for s in answer.evidence
        ]
        return "\n".join(lines)
    lines.append("Sources:")
    for c in answer.citations:
        place = _where(c.title, c.source, c.page, c.cells)
        lines.append(f"  [{c.number}] {place}: {_quote(c.quote)}")
        if c.also_in:
            lines.append(f"      also in: {', '.join(c.also_in)}")
    if answer.rejected:
        numbers = ", ".join(f"[{n}]" for n in answer.rejected)
        lines.append(f"Removed citations that their source does not support: {numbers}")
    return "\n".join(lines)


def summary(result: Summary) -> str:
    """A summary with its document and how it was made."""
    focus = f", focus: {result.focus}" if result.focus else ""
    return (
        f"Summary of {result.title} ({result.source}), {result.length}{focus}:\n\n"
        f"{result.text}\n\n({result.made()})"
    )


def _state(report: ModelsReport) -> str:
    """The backend's state once: its preflight's error, or ready with what it adds."""
    if report.problem:
        return report.problem
    detail = report.backend.get("state", "")
    if not detail or detail.startswith("ready"):
        return detail or "ready"
    return f"ready ({detail})"


def models(report: ModelsReport) -> str:
    """The model catalog, the configured backend and a recommendation."""
    rows = (
        [
            e.tag,
            f"{e.parameters_b:g}B",
            e.quantization,
            f"{e.download_gb:g} GB",
            f"{e.ram_gb:g} GB",
            str(e.context),
            e.notes,
        ]
        for e in report.catalog
    )
    backend = ", ".join(f"{k}: {v}" for k, v in report.backend.items() if k != "state")
    best = report.recommended
    lines = [
        table(["OLLAMA MODEL", "PARAMS", "QUANT", "DOWNLOAD", "RAM", "CONTEXT", "NOTES"], rows),
        "",
        f"Configured: {backend}",
        f"  state: {_state(report)}",
        f"Recommended for this machine ({report.ram_bytes / 2**30:.0f} GiB RAM): {best.tag}",
        f"  ollama pull {best.tag}",
        f"  DOCENT_CHAT_BACKEND=ollama DOCENT_CHAT_MODEL={best.tag}",
    ]
    return "\n".join(lines)
