"""Summary points checked against their pages, with the real embedder."""

from __future__ import annotations

import pytest

from models.embedder import Embedder
from rag.summary_check import SummaryChecker, points

PAGE = (
    "Northwind Clinic was opened in the harbour district. Every employee receives 27 days "
    "of annual leave per year. After probation the notice period is three months."
)


def test_points_are_bullets_or_sentences() -> None:
    assert points("- One thing here.\n* Another thing.\n2. A third thing.") == [
        "One thing here.",
        "Another thing.",
        "A third thing.",
    ]
    assert points("First point here. Second point there.") == [
        "First point here.",
        "Second point there.",
    ]


@pytest.mark.slow
def test_an_invented_point_is_dropped_and_a_supported_one_kept(embedder: Embedder) -> None:
    note = (
        "- Every employee receives 27 days of annual leave per year.\n"
        "- The clinic offers health insurance to all staff.\n"
        "- Northwind Clinic was founded in 1987.\n"
        "- After probation the notice period is three months."
    )
    result = SummaryChecker(embedder).check(note, [PAGE])
    assert result.kept == [
        "Every employee receives 27 days of annual leave per year.",
        "After probation the notice period is three months.",
    ]
    assert result.unsupported == [
        "The clinic offers health insurance to all staff.",
        "Northwind Clinic was founded in 1987.",
    ]


@pytest.mark.slow
def test_a_point_that_swaps_a_term_of_its_sentence_is_dropped(embedder: Embedder) -> None:
    # Seen with a 0.5B model: the rest of the sentence copied, its subject replaced by a
    # term from elsewhere in the part.
    text = (
        "Circular imports are fine where both modules use the import form of import. "
        "They fail when the second module wants to grab a name out of the first. "
        "Many unrelated paragraphs follow here about other topics of the language. "
        "A function that assigns to a global variable needs a global declaration."
    )
    note = (
        "- Global declarations are fine where both modules use the import form of import.\n"
        "- Circular imports are fine where both modules use the import form of import."
    )
    result = SummaryChecker(embedder).check(note, [text])
    assert result.kept == [
        "Circular imports are fine where both modules use the import form of import."
    ]
    assert result.unsupported == [
        "Global declarations are fine where both modules use the import form of import."
    ]
