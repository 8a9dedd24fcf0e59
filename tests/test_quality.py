"""The text-quality figure shown per file in the ingest report and the Library page."""

from __future__ import annotations

from ingest.document import ParsedDocument, Section
from ingest.quality import quality_from_notes, quality_note, recognised_share


def test_clean_prose_scores_high_and_glued_words_low() -> None:
    clean = "Permission is granted to make and distribute verbatim copies of this manual."
    glued = "Permissionisgrantedtomake anddistributeverbatimcopies ofthismanualprovided here."
    assert recognised_share(clean) == 1.0
    share = recognised_share(glued)
    assert share is not None and share <= 0.5


def test_numbers_and_code_are_not_counted_against_a_file() -> None:
    assert recognised_share("1 2 3 4 -- = {}") is None
    assert recognised_share("Run `make test` in ./src (v1.2).") == 1.0


def test_note_names_ocr_pages_and_reads_back() -> None:
    document = ParsedDocument(
        title="Scan", sections=[Section("Sick leave needs a note.", page=2)], ocr_pages=[2]
    )
    note = quality_note(document)
    assert note == "text quality: 100% words recognised, 1 page(s) by OCR"
    assert quality_from_notes(f"pages 2: read by OCR (no text layer); {note}") == (
        "100%, 1 page(s) by OCR"
    )
    assert quality_from_notes("") == ""
