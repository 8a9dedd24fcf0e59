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
_PARENTHESIS = re.compile(r"\s*\(([^()]*)\)")
_CODE = re.compile(r"`([^`]*)`")
PAGED = (".pdf",)


def plain(text: str) -> str:
    """``text`` with the terminal's terms replaced by a reader's and code marks dropped."""
    for pattern, words in _PHRASES:
        text = re.sub(pattern, words, text, flags=re.IGNORECASE)
    return _CODE.sub(r"“\1”", text)


def reasons(outcome: FileOutcome) -> str:
    """Why a file was skipped or what to know about it, each point said once.

    An outcome's reason often repeats a note in brackets ("no text (pages 1: ...)" and
    the note "pages 1: ..."): a point already made is not made again.
    """
    points: list[str] = []
    for part in [outcome.reason, *outcome.notes]:
        for point in [_PARENTHESIS.sub("", part), *_PARENTHESIS.findall(part)]:
            point = plain(point.strip(" ;"))
            if point and not any(point in made for made in points):
                points.append(point)
    return "; ".join(points)


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
