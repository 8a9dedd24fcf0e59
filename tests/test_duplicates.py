"""The same passage from two files is shown once, the cleaner copy, with "also in"."""

from __future__ import annotations

from dataclasses import replace

from rag.duplicates import fold_duplicates
from rag.retrieve import Passage

SPACED = (
    "Permission is granted to make and distribute verbatim copies of this manual provided "
    "the copyright notice and this permission notice are preserved on all copies."
)
GLUED = (
    "Permissionisgrantedtomake and distribute verbatimcopiesofthismanual provided "
    "the copyright notice and thispermissionnoticearepreserved on all copies."
)


def passage(source: str, text: str, score: float) -> Passage:
    return Passage(
        id=f"{source}:0",
        text=text,
        doc_id=source,
        source=source,
        title=source,
        page=1,
        heading="",
        char_start=0,
        char_end=len(text),
        position=0,
        dense=score,
        lexical=None,
        score=score,
    )


def test_cleaner_copy_is_kept_in_the_better_rank_and_the_other_listed() -> None:
    other = passage("notes.txt", "Backups run every night and are kept for thirty days.", 0.5)
    folded = fold_duplicates(
        [passage("manual.pdf", GLUED, 0.9), other, passage("manual.html", SPACED, 0.8)]
    )
    assert [p.source for p in folded] == ["manual.html", "notes.txt"]
    assert folded[0].text == SPACED
    assert folded[0].also_in == ("manual.pdf",)
    assert folded[1].also_in == ()


def test_same_source_and_different_text_are_not_folded() -> None:
    a = passage("a.pdf", SPACED, 0.9)
    b = passage("a.pdf", SPACED, 0.8)
    c = passage("c.pdf", "Sick leave of more than three days needs a doctor's note.", 0.7)
    assert fold_duplicates([a, b, c]) == [a, b, c]


def test_a_pdf_copy_with_code_spaced_out_gives_way_to_the_clean_html() -> None:
    clean = "Use the built-in function isinstance(obj, cls) to check an object's class here."
    spaced = "Use the built-in function isinstance (obj , cls ) to check an object's class here."
    folded = fold_duplicates(
        [passage("faq.pdf", spaced, 0.9), replace(passage("faq.html", clean, 0.8), page=0)]
    )
    assert [p.source for p in folded] == ["faq.html"] and folded[0].also_in == ("faq.pdf",)
