"""A file's text quality, so an administrator sees a badly read file before a reader does.

The figure is the share of recognised words: tokens of letters that look like words of a
language (at most 20 characters, with a vowel, not a long run of consonants), over all
tokens that contain letters. Glued words ("Permissionisgrantedtomake"), OCR debris
("lI1|rn") and mojibake lower it; numbers, code and punctuation are not counted. Pages read
by OCR are named in the file's notes beside it.
"""

from __future__ import annotations

import re

from ingest.document import ParsedDocument

MAX_WORD = 20
"""Tokens longer than this are glued words, not words."""

QUALITY_PREFIX = "text quality: "
"""How the figure starts in a file's notes (the Library page reads it back)."""

_TOKEN = re.compile(r"\S+")
_EDGES = re.compile(r"^\W+|\W+$")
_WORD = re.compile(r"^[^\W\d_]+(['\u2019-][^\W\d_]+)*$")
_VOWEL = re.compile(r"[aeiouyàâäéèêëîïôöûüæœåøáíóú]|[^\x00-\u024f]", re.IGNORECASE)
_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")


def recognised_share(text: str) -> float | None:
    """The share (0-1) of letter-bearing tokens that are recognisable words (None: none)."""
    seen = good = 0
    for token in _TOKEN.findall(text):
        if not _LETTER.search(token):
            continue
        seen += 1
        word = _EDGES.sub("", token)
        # Tokens with digits or symbols (versions, paths, code) are judged by length only.
        plain = bool(_WORD.match(word))
        good += len(word) <= MAX_WORD and (
            not plain
            or (bool(_VOWEL.search(word) or len(word) <= 3) and not _CONSONANTS.search(word))
        )
    return good / seen if seen else None


def quality_note(document: ParsedDocument) -> str | None:
    """The note giving a parsed file's text quality ("text quality: 98% words recognised")."""
    share = recognised_share("\n".join(section.text for section in document.sections))
    if share is None:
        return None
    ocr = f", {len(document.ocr_pages)} page(s) by OCR" if document.ocr_pages else ""
    return f"{QUALITY_PREFIX}{100 * share:.0f}% words recognised{ocr}"


def quality_from_notes(notes: str) -> str:
    """The quality figure found in a stored file's notes ("98%, 2 page(s) by OCR"), or ""."""
    for note in notes.split("; "):
        if note.startswith(QUALITY_PREFIX):
            return note.removeprefix(QUALITY_PREFIX).replace(" words recognised", "")
    return ""
