"""The same passage from two files: keep the cleaner copy, name the other "also in".

An HTML page and the PDF made from it, or one file copied into two folders, put the same
text into the index twice; retrieval then returns it twice and one copy may be the worse
reading (words glued by a PDF without space characters). Two passages from different
sources are the same text when the character 5-grams of their letters and digits (spaces
and punctuation removed, so glued and spaced readings compare equal) overlap by
``SAME_TEXT`` or more. The copy with fewer broken words (tokens over 20 characters) is
kept, in the better rank of the two, and the other's source is listed in ``also_in``. Of
two copies that read alike, the one with a page (the PDF's) is kept, so the answer cites
its page and names the HTML page beside it (``reads_better``; retrieval's own grouping of
copies asks the same).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rag.types import Passage

SAME_TEXT = 0.8
"""Jaccard overlap of character 5-grams from which two passages are one text."""

SAME_READING = 0.02
# Punctuation that prose never leaves alone between spaces (dashes and ellipses it does).
_LONE = re.compile(r"[()\[\]{},.:;=]+")
"""Copies whose shares of broken words differ by no more than this read alike."""

_NOT_ALNUM = re.compile(r"[\W_]+")


def _grams(text: str) -> frozenset[str]:
    letters = _NOT_ALNUM.sub("", text.lower())
    return frozenset(letters[i : i + 5] for i in range(max(1, len(letters) - 4)))


def broken_share(text: str) -> float:
    """The share of whitespace-separated tokens that show a broken text layer: longer
    than 20 characters (glued words), or punctuation standing alone where a PDF's
    extraction spaced code and formulas out ("isinstance (obj , cls )")."""
    tokens = text.split()
    broken = sum(len(token) > 20 or _LONE.fullmatch(token) is not None for token in tokens)
    return broken / max(1, len(tokens))


class Copy(Protocol):
    """A copy of a text in one file: a chunk or a passage."""

    @property
    def text(self) -> str: ...

    @property
    def page(self) -> int: ...


def reads_better(copy: Copy, than: Copy) -> bool:
    """Whether ``copy`` of a text is the one to show rather than ``than``.

    The cleaner reading wins; of two that read alike (``SAME_READING``) the one with a page,
    so the citation names the PDF page; otherwise ``than``, the copy already in place.
    """
    mine, theirs = broken_share(copy.text), broken_share(than.text)
    if abs(mine - theirs) <= SAME_READING and bool(copy.page) != bool(than.page):
        return bool(copy.page)
    return mine < theirs


def fold_duplicates(passages: list[Passage]) -> list[Passage]:
    """Merge near-identical passages of different sources, keeping the cleaner one.

    Args:
        passages: Retrieved passages, best first.

    Returns:
        The passages without repeats, best first; a kept passage lists the sources of the
        copies folded into it in ``also_in``.
    """
    kept: list[Passage] = []
    grams: list[frozenset[str]] = []
    for passage in passages:
        mine = _grams(passage.text)
        for index, other in enumerate(kept):
            if other.source == passage.source or not mine or not grams[index]:
                continue
            if len(mine & grams[index]) / len(mine | grams[index]) >= SAME_TEXT:
                better, worse = (
                    (passage, other) if reads_better(passage, other) else (other, passage)
                )
                also = (*other.also_in, *passage.also_in, worse.source)
                kept[index] = replace(better, also_in=tuple(dict.fromkeys(also)))
                grams[index] = _grams(better.text)
                break
        else:
            kept.append(passage)
            grams.append(mine)
    return kept
