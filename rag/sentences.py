"""Retrieved passages cut into sentences that can stand as quotes, with their spans.

A sentence ends at ``.``, ``!`` or ``?`` followed by white space and a capital, a digit or
an opening quote or bracket, at a blank line, or at a line that is a heading. PDF text
wraps lines inside sentences, so a single line break is kept inside a sentence.

What is not a quote is dropped before ranking: headings (a short line without an end
full stop, a numbered section title), table-of-contents lines (dot leaders, or a title
ending in a page number), questions (an FAQ's heading restates the question and answers
nothing), and fragments with fewer than ``MIN_WORDS`` words. Every kept sentence keeps
the span of its text in its passage, so ``passage.char_start + start`` is its offset in
the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.retrieve import Passage

MIN_WORDS = 5
# A sentence shorter than this is joined to its neighbour.
JOIN_BELOW = 8
# Longer "sentences" are code listings or tables flattened by the loader: cut at a line.
MAX_CHARS = 480
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(\[`])|\n\s*\n")
_WORD = re.compile(r"[^\W_]+")
_DOT_LEADER = re.compile(r"(?:\.\s*){4,}|(?:\s\.){3,}")
_ENDS_IN_PAGE = re.compile(r"(?:\.\s*){3,}\s*[\divxlc]+\s*$", re.IGNORECASE)
# A paragraph may hold an ellipsis (". . ."): a contents entry is short or ends in a page.
_CONTENTS_WORDS = 12
# A numbered entry or running header ending in a page number: "7.31 Why ... 42",
# "Chapter 7: R Miscellanea 37".
_TOC_LINE = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*\.?|Chapter\s+\d+:|Appendix\s+[A-Z]:)\s+\S.*?\s\d{1,4}\s*$"
)
_NUMBERED_HEADING = re.compile(r"^\s*(?:\d+(?:\.\d+)+|[A-Z]\.\d+(?:\.\d+)*|\d+\.?)\s+[A-Z]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# A table row as the loaders write it ("Ward 4 | Night | 2 nurses"): a sentence of its own.
TABLE_ROW = re.compile(r"\S\s\|\s\S")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved passage.

    Attributes:
        text: The sentence as it stands in the passage (spaces inside not changed).
        passage: The passage it comes from.
        start: Offset of ``text`` in ``passage.text``.
        end: End offset (exclusive) in ``passage.text``.
        index: 0-based place of the sentence among the kept sentences of its passage.
        after_heading: The heading line just above it in the passage, or "" when a
            sentence or nothing stands between it and the passage's start.
    """

    text: str
    passage: Passage
    start: int
    end: int
    index: int
    after_heading: str = ""

    @property
    def doc_start(self) -> int:
        """Offset of the sentence in its document's text."""
        return self.passage.char_start + self.start

    @property
    def doc_end(self) -> int:
        """End offset (exclusive) of the sentence in its document's text."""
        return self.passage.char_start + self.end


def word_count(text: str) -> int:
    """Words (runs of letters and digits) in a text."""
    return len(_WORD.findall(text))


def _heading_kind(line: str, following: str) -> str:
    """``strong`` (contents, numbered title, question), ``weak`` (a short line) or ""."""
    stripped = line.strip()
    if not stripped or TABLE_ROW.search(stripped):
        return ""
    if _contents(stripped) or _TOC_LINE.match(stripped) or stripped.endswith("?"):
        return "strong"
    if _NUMBERED_HEADING.match(stripped) and not stripped.endswith((".", ":", ";", ",")):
        return "strong"
    ends = stripped.endswith((".", "!", ":", ";", ",", ")", '"'))
    next_line = following.strip()
    starts_sentence = not next_line or next_line[0].isupper() or next_line[0].isdigit()
    short = word_count(stripped) <= 8 and stripped[0].isupper()
    weak = not ends and short and starts_sentence and not _LIST_MARK.match(stripped)
    return "weak" if weak else ""


def _contents(line: str) -> bool:
    """Whether a line is a contents entry by its dot leader (not a paragraph's ellipsis)."""
    if not _DOT_LEADER.search(line):
        return False
    return word_count(line) <= _CONTENTS_WORDS or bool(_ENDS_IN_PAGE.search(line))


def split_passage(passage: Passage) -> list[Sentence]:
    """The quotable sentences of one passage, in order, with what heads them."""
    text = passage.text
    kept: list[Sentence] = []
    heading = ""
    for start, end, is_heading in regions(text):
        if is_heading:
            heading = " ".join(text[start:end].split())
            continue
        for a, b in _joined(text, _pieces(text, start, end)):
            if word_count(text[a:b]) < MIN_WORDS:
                continue
            kept.append(Sentence(text[a:b], passage, a, b, len(kept), heading))
            heading = ""
    return kept


def _joined(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans with a short sentence joined to the one after it (the last one: before it),
    within a paragraph: a blank line may part two sections of a chunk.

    "This is called lexical scope." says little alone, and a reader needs its neighbour.
    """
    joined: list[tuple[int, int]] = []
    pending: int | None = None
    for a, b in spans:
        if pending is not None and _PARAGRAPH_BREAK.search(text, pending, a):
            joined.append((pending, _rstrip(text, pending, a)))
            pending = None
        start = a if pending is None else pending
        pending = None
        if word_count(text[start:b]) < JOIN_BELOW and b - start < MAX_CHARS:
            pending = start
            continue
        joined.append((start, b))
    if pending is not None:
        last = spans[-1][1]
        apart = joined and _PARAGRAPH_BREAK.search(text, joined[-1][1], pending)
        if joined and not apart and last - joined[-1][0] <= MAX_CHARS:
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((pending, last))
    return joined


def regions(text: str) -> list[tuple[int, int, bool]]:
    """The text cut at its heading lines: (start, end, is_heading), in order.

    A weak heading (a short line) counts only where a sentence has just ended. A table
    row is a region of its own: each row can answer alone (with its header); the first
    row of a table, its header, counts as a heading.
    """
    runs: list[tuple[int, int, bool]] = []
    body_start: int | None = None
    offset = 0
    lines = text.split("\n")
    for number, line in enumerate(lines):
        a, b = offset, offset + len(line)
        offset = b + 1
        following = lines[number + 1] if number + 1 < len(lines) else ""
        kind = _heading_kind(line, following)
        heading = kind == "strong" or (kind == "weak" and _ends_sentence(text, body_start, a))
        row = bool(TABLE_ROW.search(line))
        if row and not (number and TABLE_ROW.search(lines[number - 1])):
            # A table's first row, with rows under it, is its header: it answers nothing
            # alone (each row below is shown with it).
            heading = heading or bool(TABLE_ROW.search(following))
        if heading or row:
            if body_start is not None:
                runs.append((body_start, _rstrip(text, body_start, a), False))
                body_start = None
            runs.append((a + len(line) - len(line.lstrip()), _rstrip(text, a, b), heading))
        elif body_start is None and line.strip():
            body_start = a + len(line) - len(line.lstrip())
    if body_start is not None:
        runs.append((body_start, _rstrip(text, body_start, len(text)), False))
    return [run for run in runs if run[1] > run[0]]


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within ``text[start:end]``, stripped, long ones cut at a line."""
    spans: list[tuple[int, int]] = []
    region = text[start:end]
    at = 0
    for match in [*_BOUNDARY.finditer(region), None]:
        stop = match.start() if match else len(region)
        if match and region[match.start() : match.start() + 1] in "\"')]":
            stop += 1
        piece = region[at:stop]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append(_capped(text, start + at + lead, start + at + lead + len(piece.strip())))
        if match:
            at = match.end()
    return spans


def _ends_sentence(text: str, body_start: int | None, line_start: int) -> bool:
    """Whether the body text before a line ends a sentence (so the line may be a heading)."""
    if body_start is None:
        return True
    return text[body_start:line_start].rstrip().endswith((".", "!", "?", ":", ";"))


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _capped(text: str, start: int, end: int) -> tuple[int, int]:
    if end - start <= MAX_CHARS:
        return start, end
    cut = text.rfind("\n", start, start + MAX_CHARS)
    if cut <= start:
        cut = text.rfind(" ", start, start + MAX_CHARS)
    return start, _rstrip(text, start, cut if cut > start else start + MAX_CHARS)
