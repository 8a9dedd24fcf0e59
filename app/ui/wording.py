"""Plain words for the pages staff read: what the terminal says, said for a reader.

The CLI's ingest report speaks to an administrator (chunks, OCR, text layers); the
Library page shows the same outcomes to anyone who adds a document, so its table and
progress lines use these words instead. Technical detail stays on the Status page.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingest.report import shown

if TYPE_CHECKING:
    from ingest.report import FileOutcome, IngestReport

# Terminal phrases and what a reader is told instead (first match wins, case-insensitive).
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"no text layer; needs OCR", "scanned, so its text cannot be read"),
    (r"no extractable text", "no readable text"),
    (r"\bneeds OCR\b", "needs its text recognised first"),
    (r"\bchunks?\b", "passages"),
    (r"\bMIME type\b", "file type"),
)
# "The PDF is damaged or not a PDF: <the parser's own message>; <fix>": the parser's
# message ("Failed to load document (PDFium: Data format error).") tells a reader nothing.
_PARSER_MESSAGE = re.compile(r"(\bdamaged or not an? [^:;]+): [^;]*")
_PARENTHESIS = re.compile(r"\s*\(([^()]*)\)")
_CODE = re.compile(r"`([^`]*)`")
PAGED = (".pdf",)


def plain(text: str) -> str:
    """``text`` with the terminal's terms replaced by a reader's and code marks dropped."""
    for pattern, words in _PHRASES:
        text = re.sub(pattern, words, text, flags=re.IGNORECASE)
    return _CODE.sub(r"“\1”", text)


def reasons(outcome: FileOutcome) -> str:
    """Why a file was skipped or failed, in one sentence: what went wrong, then the fix.

    Each point is said once: an outcome's reason often repeats a note in brackets ("no
    text (pages 1: ...)" and the note "pages 1: ..."), and the bracket is then dropped.
    Other brackets stay where they are ("repair it (e.g. print it to a new PDF)").
    """
    notes = [_tidy(note) for note in outcome.notes]
    points: list[str] = []
    for part in [_tidy(_PARSER_MESSAGE.sub(r"\1", outcome.reason)), *notes]:
        point = _PARENTHESIS.sub(lambda m: _unless_said(m, notes), part)
        point = plain(point)
        if point and not any(point in made for made in points):
            points.append(point)
    return "; ".join(points)


def _tidy(text: str) -> str:
    # A clause that ends a sentence of its own before "; " reads as ".;".
    return re.sub(r"\.\s*;", ";", text).strip(" ;.")


def _unless_said(bracket: re.Match[str], notes: list[str]) -> str:
    return "" if _tidy(bracket.group(1)) in notes else bracket.group()


def upload_rows(report: IngestReport) -> list[dict[str, str]]:
    """The Library page's table of an ingest: file, outcome, pages (paged files only), why."""
    return [
        {
            "file": shown(outcome.source),
            "outcome": outcome.status,
            "pages": str(outcome.pages) if outcome.source.lower().endswith(PAGED) else "",
            "reason": shown(reasons(outcome)),
        }
        for outcome in report.files
    ]
