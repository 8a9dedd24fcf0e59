"""The Library page's tables read cleanly: one sentence per failure, pages only where paged."""

from __future__ import annotations

import pytest

from app.ui import present, wording
from ingest.report import FileOutcome, IngestReport
from rag.types import DocumentRecord

# As ``ingest.loaders`` word them, with the parser's own message where they quote it.
DAMAGED_PDF = (
    "the PDF is damaged or not a PDF: Failed to load document (PDFium: Data format error).; "
    "re-export or repair it (e.g. print it to a new PDF)"
)
DAMAGED_DOCX = (
    "the Word file is damaged or not a .docx: File is not a zip file; "
    "open it in Word or LibreOffice and save it again as .docx"
)


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        (
            DAMAGED_PDF,
            "the PDF is damaged or not a PDF; re-export or repair it (e.g. print it to a new PDF)",
        ),
        (
            DAMAGED_DOCX,
            "the Word file is damaged or not a .docx; "
            "open it in Word or LibreOffice and save it again as .docx",
        ),
        (
            "this .pdf file is not a PDF (its content looks like a ZIP archive); "
            "rename it with the right extension or re-export it",
            "this .pdf file is not a PDF (its content looks like a ZIP archive); "
            "rename it with the right extension or re-export it",
        ),
    ],
)
def test_a_failure_reads_as_what_failed_then_the_fix(reason: str, said: str) -> None:
    rows = wording.upload_rows(
        IngestReport("board", files=[FileOutcome("x", "x.pdf", "failed", reason)])
    )
    assert rows[0]["reason"] == said
    assert ".;" not in said and "PDFium" not in said


def test_a_bracket_repeating_a_note_is_said_once() -> None:
    scanned = FileOutcome(
        "a.pdf",
        "a.pdf",
        "skipped",
        "no extractable text (pages 1-2: no text layer; needs OCR)",
        notes=["pages 1-2: no text layer; needs OCR"],
    )
    assert (
        wording.reasons(scanned)
        == "no readable text; pages 1-2: scanned, so its text cannot be read"
    )


def test_the_documents_table_counts_pages_of_paged_formats_only() -> None:
    records = [
        DocumentRecord("k1", "/r", "plan.PDF", title="Plan", pages=3, chunks=4),
        DocumentRecord("k2", "/r", "notes.docx", title="Notes", chunks=2),
        DocumentRecord("k3", "/r", "guide.md", title="Guide", chunks=1),
        DocumentRecord("k4", "/r", "intranet.html", title="Intranet", chunks=1),
    ]
    pages = {row["file"]: row["pages"] for row in present.document_rows(records)}
    assert pages == {"guide.md": None, "intranet.html": None, "notes.docx": None, "plan.PDF": 3}
