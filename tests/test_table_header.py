"""A table's header row is never an answer by itself: a question in its words ("the nurse
in charge of the night shift") used to be answered with "Ward | Shift | Nurse in charge"."""

from __future__ import annotations

from rag.sentences import split_passage
from rag.types import Passage

TABLE = (
    "Night cover by ward:\n"
    "Ward | Shift | Staff on duty | Nurse in charge\n"
    "Ward 3 | Night | 2 nurses | Omar Haddad\n"
    "Ward 4 | Night | 3 nurses | Anna Smith"
)


def passage(text: str) -> Passage:
    return Passage(
        "d:00000", text, "d", "rota.xlsx", "Rota", 1, "", 0, len(text), 0, 0.0, None, 0.0
    )


def test_the_header_row_is_no_candidate_and_every_row_under_it_is() -> None:
    found = [s.text for s in split_passage(passage(TABLE))]
    assert "Ward | Shift | Staff on duty | Nurse in charge" not in found
    assert "Ward 3 | Night | 2 nurses | Omar Haddad" in found
    assert "Ward 4 | Night | 3 nurses | Anna Smith" in found
    # The row after the header is headed by it.
    first = next(s for s in split_passage(passage(TABLE)) if s.text.startswith("Ward 3"))
    assert first.after_heading == "Ward | Shift | Staff on duty | Nurse in charge"


def test_a_lone_row_is_still_a_candidate() -> None:
    text = "Contact for the keys:\nAnna Smith | Controlled drug keys | bleep 4432"
    assert "Anna Smith | Controlled drug keys | bleep 4432" in [
        s.text for s in split_passage(passage(text))
    ]
