"""What the browser UI shows, as pure functions of the results (tested without Streamlit).

Everything that comes from a document or from the model is untrusted: it is escaped
before it reaches Streamlit's Markdown, so it can neither inject HTML nor links, images,
colours or LaTeX. An image in an answer would make the browser fetch a URL the model
wrote, which is a way to send the conversation anywhere: escaping ``![``, ``](`` and
every other ASCII punctuation character leaves only plain text. An answer unit is the
exception: it comes as Markdown already made safe (``rag.unit.markdown``: lists, code,
tables, URLs as code), and ``safe_markdown`` guards it without escaping it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.provenance import provenance
from app.ui.wording import PAGED
from app.uploads import safe_file_name
from ingest.report import shown

if TYPE_CHECKING:
    from app.api import ModelsReport, Status
    from app.eval.feedback import Feedback
    from ingest.report import IngestReport
    from rag.answer import Answer, Citation
    from rag.context import Source
    from rag.store import CollectionInfo
    from rag.summarize import Summary
    from rag.types import DocumentRecord

Tone = Literal["success", "warning", "info", "neutral"]

# rag.citations.CITATION without its import (numpy, the embedder): the UI must paint fast.
_MARKER = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")
# In Markdown kept as written: what is inert (an escape, a code span) or is not.
_RISKY = re.compile(
    r"\\[\s\S]|(`+)[\s\S]*?(?<!`)\1(?!`)"
    r"|<|\$|!\[|\]\(|\]:|://|www\.|:(?=[A-Za-z-]+\[)"
)
_DEFUSED = {"](": "]\\(", "]:": "\\]:", "www.": "www\\."}
# A fence opens a code block (a backtick fence's info string holds no backtick).
_FENCE = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
# Context shown either side of a quote in the source panel.
CONTEXT_CHARS = 500


def escape(text: str) -> str:
    """Text as Markdown that renders literally: every ASCII punctuation backslash-escaped.

    CommonMark lets any ASCII punctuation be escaped, so this defeats links, images,
    autolinks (``www\\.``, ``https\\://``), HTML, emphasis, Streamlit's ``:color[...]``
    directives and ``$`` LaTeX alike, while the text reads the same.
    """
    escaped = _PUNCTUATION.sub(r"\\\1", text)
    # A line break inside a paragraph: keep the model's line structure visible.
    return escaped.replace("\r", "").replace("\n", "  \n")


def neutralize_links(text: str) -> str:
    """Markdown for a downloaded file: readable as is, but with no link, image or HTML."""
    return (
        text.replace("<", "&lt;")
        .replace("![", "!\\[")
        .replace("](", "]\\(")
        .replace("://", "\\://")
        .replace("www.", "www\\.")
    )


def answer_markdown(text: str) -> str:
    """An answer's text, escaped, with its ``[n]`` citation markers shown as badges."""
    parts: list[str] = []
    last = 0
    for match in _MARKER.finditer(text):
        parts.append(escape(text[last : match.start()]))
        numbers = [n.strip() for n in match.group(1).split(",")]
        parts.append(" " + " ".join(f":blue-badge[{n}]" for n in numbers))
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


@dataclass(frozen=True)
class Verdict:
    """How an answer's state is shown: a tone and a sentence (plain text: escape to show)."""

    tone: Tone
    message: str


def verdict(answer: Answer) -> Verdict:
    """The line over an answer: where it is quoted from and what was verified; unverified;
    or not found. A quote is where it says it is, which is not "correct": the tone is neutral.
    """
    if answer.status == "answered":
        tone: Tone = "info" if answer.fallback else "neutral"
        return Verdict(tone, provenance(answer))
    if answer.status == "unverified":
        return Verdict(
            "warning",
            "Unverified: no sentence of this answer is supported by your documents. "
            "Check the passages below yourself.",
        )
    return Verdict(
        "info", "Not found in your documents. These are the closest passages, for reference."
    )


def quote_markdown(unit: str) -> str:
    """An answer unit as a block quote, every line quoted, its lists and code kept.

    A unit comes as safe Markdown (``rag.unit.markdown``); ``safe_markdown`` still guards
    it, so a unit from elsewhere (a saved answer, a model's sentence) can fetch nothing.
    """
    lines = safe_markdown(unit.replace("\r", "")).split("\n")
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def lead_markdown(answer: Answer) -> str:
    """The model's verified sentences above the units: escaped, marks as badges ("" if none)."""
    return answer_markdown(answer.lead) if answer.lead else ""


def safe_markdown(text: str) -> str:
    """Markdown kept as written, except what could fetch, link, colour or typeset.

    Outside code, every unescaped ``<``, ``$``, ``![``, ``](``, ``]:`` (a link's
    definition), ``://``, ``www.`` and ``:name[`` is escaped; an escaped character, a
    code span or a fenced block is left as it is, so text already made safe
    (``rag.unit.markdown``) passes unchanged.
    """
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        opener = _FENCE.match(line)
        if fence:
            out.append(line)
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence):
                fence = "" if not line.strip().strip(fence[0]) else fence
        elif opener:
            fence = opener.group(1)
            out.append(line)
        else:
            out.append(_RISKY.sub(_guarded, line))
    return "\n".join(out)


def _guarded(match: re.Match[str]) -> str:
    token = match.group()
    if token.startswith(("\\", "`")):  # an escape or a whole code span: already inert
        return token
    return _DEFUSED.get(token, "\\" + token)


def citation_label(citation: Citation) -> str:
    """The text of a citation chip: the document and the page, or a sheet's cells."""
    place = f", {citation.cells}" if citation.cells else ""
    if not place and citation.page:
        place = f", p. {citation.page}"
    return f"[{citation.number}] {shown(citation.title or citation.source)}{shown(place)}"


def _flat(text: str) -> str:
    return _SPACE.sub(" ", text)


def highlighted(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """Markdown of a passage with ``text[start:end]`` highlighted, all of it escaped.

    Args:
        text: The passage.
        start: Start of the quote in ``text``.
        end: End of the quote in ``text``.
        context: Characters kept either side of the quote.
    """
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    before, quote, after = text[max(0, start - context) : start], text[start:end], text[end:]
    lead = "… " if start > context else ""
    tail = " …" if len(after) > context else ""
    after = after[:context]
    marked = f":orange-background[{escape(_flat(quote).strip())}]" if quote.strip() else ""
    return f"{lead}{escape(_flat(before))}{marked}{escape(_flat(after))}{tail}".strip()


def cited_passage(answer: Answer, citation: Citation) -> str:
    """The cited source's text with the quote highlighted (just the quote if not found)."""
    source = next((s for s in answer.evidence if s.number == citation.number), None)
    if source is None:
        return f":orange-background[{escape(_flat(citation.quote))}]"
    offset = citation.char_start - source.char_start
    return highlighted(source.text, offset, offset + (citation.char_end - citation.char_start))


def evidence_passage(source: Source, limit: int = 2 * CONTEXT_CHARS) -> str:
    """One closest passage (not-found and unverified answers), escaped and shortened."""
    text = _flat(source.text).strip()
    return escape(text[:limit]) + (" …" if len(text) > limit else "")


def report_rows(report: IngestReport) -> list[dict[str, str | int]]:
    """The per-file rows of an ingest report, as the CLI reports them."""
    return [
        {
            "file": shown(outcome.source),
            "outcome": outcome.status,
            "chunks": outcome.chunks,
            "pages": outcome.pages,
            "reason": shown("; ".join(x for x in [outcome.reason, *outcome.notes] if x)),
        }
        for outcome in report.files
    ]


def report_headline(report: IngestReport) -> tuple[Tone, str]:
    """One sentence over an ingest report, and whether it went well."""
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
    tone: Tone = "warning" if report.failed else "success"
    files = len(report.files)
    noun = "file" if files == 1 else "files"
    gone = f"; {len(report.pruned)} removed (file gone)" if report.pruned else ""
    return tone, f"{files} {noun} into {report.collection}: {counts or 'nothing to do'}{gone}."


def document_rows(
    records: list[DocumentRecord], query: str = ""
) -> list[dict[str, str | int | None]]:
    """The library table, filtered by a case-insensitive search over file and title.

    Pages are counted for paged formats (PDF) only: None (a blank cell) for the others,
    whose page count is 0 as stored, which would read as an empty document.
    """
    needle = query.strip().lower()
    return [
        {
            "file": shown(r.source),
            "title": shown(r.title),
            "pages": r.pages if r.source.lower().endswith(PAGED) else None,
            "chunks": r.chunks,
            "ingested": r.ingested_at.replace("T", " ")[:19],
        }
        for r in sorted(records, key=lambda r: r.source.lower())
        if needle in r.source.lower() or needle in r.title.lower()
    ]


def summary_markdown(summary: Summary) -> str:
    """The summary page and its Markdown download: what, how long, the text and its pages."""
    focus = f", focus: {summary.focus}" if summary.focus else ""
    lines = [
        f"# Summary of {summary.title or summary.source}",
        "",
        f"{summary.source}, {summary.length}{focus}.",
        "",
        summary.text,
        "",
        f"{summary.made()}.",
    ]
    return "\n".join(lines) + "\n"


def summary_file_name(summary: Summary) -> str:
    """The download name of a summary: ``<document stem>-summary.md``."""
    stem = safe_file_name(Path(summary.source).stem) or "document"
    return f"{stem}-summary.md"


@dataclass(frozen=True)
class Health:
    """One component's state on the Status page."""

    component: str
    ok: bool
    detail: str


def health(state: Status, models: ModelsReport) -> list[Health]:
    """The index, the embedder and the chat backend: working or not, and the fix."""
    docs = sum(c.documents for c in state.collections)
    chat = ", ".join(f"{k}: {v}" for k, v in models.backend.items())
    return [
        Health(
            "Index",
            True,
            f"{state.index}: {len(state.collections)} collections, {docs} documents",
        ),
        Health(
            "Embedder",
            not state.embedder_weights.startswith("PROBLEM"),
            f"{state.embedder} ({state.embedder_backend}), weights {state.embedder_weights}",
        ),
        Health("Chat model", not models.problem, models.problem or f"ready ({chat})"),
    ]


def collection_rows(infos: list[CollectionInfo]) -> list[dict[str, str | int]]:
    """The index statistics table: one row per collection."""
    return [
        {
            "collection": i.name,
            "documents": i.documents,
            "chunks": i.chunks,
            "embedder": f"{i.embedder} ({i.dimension})",
            "created": i.created_at.replace("T", " ")[:19],
        }
        for i in infos
    ]


def feedback_rows(entries: list[Feedback]) -> list[dict[str, str]]:
    """Readers' feedback for the administrators' table, newest first.

    A table cell is plain text, never Markdown or HTML, so what a reader wrote is shown
    as written; ``shown`` still makes control and direction characters visible.
    """
    return [
        {
            "time": f.time.replace("T", " ")[:16],
            "collection": shown(f.collection),
            "rating": "helpful" if f.helpful else "not helpful",
            "question": shown(f.question),
            "comment": shown(f.note),
            "answer is in": shown(f.source) + (f", p. {f.page}" if f.page else ""),
            "user": shown(f.user),
        }
        for f in sorted(entries, key=lambda f: f.time, reverse=True)
    ]
