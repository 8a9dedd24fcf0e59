"""What a reader gets from a shown answer: coverage, the gold's first sentence, length,
and presentation defects found by detectors.

A shown answer is a list of pieces, one per quote or answer unit, each as the reader sees
it (Markdown: backslash escapes, code fences, tables). Every figure reads the pieces
through ``plain`` (escapes and fences undone, citation marks dropped), so the Markdown
that makes a unit safe to render neither helps nor hurts a match.

* **coverage**: the share of the gold answer's content words (``words`` less stop words,
  each counted once) that the shown text holds.
* **first sentence**: whether the shown text holds the gold answer's first sentence: a run
  of at least 80% of its words, in order (a word lost at a PDF line break is forgiven).
* **words**: the shown text's length in words, median and p95 over answered questions.
* **defects**: detectors, one per kind (``DETECTORS``), run on each piece; an answer is
  counted once per kind it shows. Words glued together (a PDF's lost spaces) have no
  detector: only a reader (the graded sample) finds them.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.metrics import nearest_rank, words

# Words too common to say whether a text holds an answer's content.
STOP_WORDS = frozenset(
    "a about above after again all also am an and any are as at be because been before being "
    "below between both but by can could did do does doing done down during each either else "
    "etc few for from further had has have having he her here hers him his how i if in into "
    "is it its itself just may me might more most must my no nor not now of off on once only "
    "or other our out over own same shall she should so some such than that the their them "
    "then there these they this those through to too under until up upon us very via was we "
    "were what when where which while who whom why will with would yes you your".split()
)
FIRST_SENTENCE_SHARE = 0.8

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>&~$:\"'])")
_FENCE = re.compile(r"^\s*(?:`{3,}|~{3,})[\w+-]*\s*$", re.MULTILINE)
_CITATION_MARK = re.compile(r"(?<!\\)\[\d+\]")
_TABLE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*$", re.MULTILINE)
_INLINE_CODE = re.compile(r"(`+)\s?(.*?)\s?\1", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def plain(shown: str) -> str:
    """Shown Markdown as the words a reader reads: escapes, fences, code spans, table
    rules and citation marks ("[1]") undone; lines kept."""
    text = _FENCE.sub("", shown)
    text = _TABLE_RULE.sub("", text)
    text = _CITATION_MARK.sub("", text)
    text = _INLINE_CODE.sub(lambda m: m.group(2), text)
    return _ESCAPE.sub(r"\1", text)


def content_words(text: str) -> set[str]:
    """The words of a text that carry its content."""
    return {w for w in words(text) if w not in STOP_WORDS and len(w) > 1}


def coverage(shown: str, gold: str) -> float:
    """Share of the gold answer's content words the shown text holds (0..1)."""
    wanted = content_words(gold)
    return len(wanted & content_words(plain(shown))) / len(wanted) if wanted else 0.0


def first_sentence(gold: str) -> str:
    """The gold answer's first sentence of at least four words."""
    pieces = [p for p in _SENTENCE_END.split(" ".join(gold.split())) if p]
    return next((p for p in pieces if len(words(p)) >= 4), pieces[0] if pieces else "")


def holds_first_sentence(shown: str, gold: str) -> bool:
    """Whether the shown text holds the gold answer's first sentence (see the module)."""
    wanted = words(first_sentence(gold))
    if not wanted:
        return False
    need = max(1, math.ceil(FIRST_SENTENCE_SHARE * len(wanted)))
    return _longest_common_run(words(plain(shown)), wanted) >= need


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def shown_words(pieces: Sequence[str]) -> int:
    """Words a reader reads in an answer's pieces."""
    return sum(len(words(plain(p))) for p in pieces)


# --- presentation defects: each detector takes one shown piece ---------------------------

_NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+)+\.?|\d+\.|[A-Z]\.\d+(?:\.\d+)*\.?)\s+\S")
_DOT_LEADERS = re.compile(r"(?:\.\s?){4,}\s*\d+\s*$")
_RUNNING_HEADER = re.compile(
    r"^(?:chapter|appendix|part)\s+[\dIVXLC]+\b|\b(?:chapter|appendix)\s+\d+\s*:\s", re.I
)
_ENDS_SENTENCE = re.compile(r"[.!?:;)\]\"'`]\s*$")


def layout_line(piece: str) -> bool:
    """A heading, contents or running-header line shown alone ("9.4. How can I keep a
    log ...?", "CHAPTER 3. CHOOSING A ...", "Chapter 7: R Miscellanea 37")."""
    text = " ".join(plain(piece).split())
    if not text or "\n" in plain(piece).strip():
        return False
    count = len(words(text))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return True
    if _DOT_LEADERS.search(text) or (_RUNNING_HEADER.search(text) and count <= 16):
        return True
    if _NUMBERED_HEADING.match(text) and count <= 16 and not text.endswith((".", ":")):
        return True
    return count <= 8 and not _ENDS_SENTENCE.search(text)


_MARKDOWN_ROW = re.compile(r"^\s*\|.*\|\s*$")


def table_debris(piece: str) -> bool:
    """A table flattened into prose ("| ... Description :: Release :; ..."); a Markdown
    table, a code block and a code span are not."""
    fenced = False
    for line in piece.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        text = plain(_INLINE_CODE.sub("", line))
        if fenced or (_MARKDOWN_ROW.match(text) and "::" not in text):
            continue
        if re.search(r"\s::\s|\s:;\s|:;\s*$", text) or text.count("|") >= 2:
            return True
    return False


_DANGLING = re.compile(
    r"^(?:however|but|on the other hand|otherwise|therefore|thus|hence|also|instead|"
    r"alternatively|moreover|furthermore|consequently|nevertheless|in (?:any|that|this|"
    r"such a|either) cases?|as a result|in addition|besides|then|so|"
    r"second(?:ly)?|third(?:ly)?|finally|lastly|conversely|in contrast|by contrast|"
    r"it|its|this|these|those|they|them|that|such|he|she|the latter|the former|"
    r"the same|both of these|each of these)\b",
    re.IGNORECASE,
)


def dangling_opening(piece: str) -> bool:
    """A piece that opens with a connective or a pronoun ("However", "It", "This")."""
    text = plain(piece).lstrip(" \t\n-*•>#").lstrip()
    return bool(_DANGLING.match(text))


def link_removed(piece: str) -> bool:
    """A link replaced by "(link removed)" in the text."""
    return "link removed" in plain(piece).lower()


_SPACED_URL = re.compile(
    r"\b(?:https?|ftp|file)\s+:\s*/\s*/|\b(?:https?|ftp)\s*:\s+/\s*/|\bwww\s+\.\s*\w"
    r"|\w\s+\.\s+(?:org|com|net|edu|gov|io|de|uk)\b",
    re.IGNORECASE,
)


def spaced_url(piece: str) -> bool:
    """A URL shown with spaces in it ("https : // www . x . org")."""
    return bool(_SPACED_URL.search(plain(piece)))


_SPACED_CODE = re.compile(r"[A-Za-z_]\w* \. [A-Za-z_]\w*|\w\s*\(\s+\)")


def spaced_code(piece: str) -> bool:
    """Code shown with spaces inside it, as a PDF's monospace text comes out
    ("S . rst rip ( )" where the document has "S.rstrip()")."""
    return bool(_SPACED_CODE.search(plain(piece)))


_STRIPPED = re.compile(
    r"(?:^|[\s/(\"'=])_+(?:\.\w|_\s|_$|\s)"  # "__.deb", "_ _" where <name>_<version> stood
    r"|\w//\w"  # "/usr/share/doc//copyright": an empty path segment, not "://"
    r"|(?:^|\s)-_\w"  # "-_foo" where "-<opt>_foo" stood
)


def stripped_placeholder(piece: str) -> bool:
    """Angle-bracket placeholders lost from the text ("__.ext" where the document has
    "<name>_<version>.ext", "/usr/share/doc//copyright")."""
    return bool(_STRIPPED.search(plain(piece)))


def dangling_lead_in(piece: str) -> bool:
    """A lead-in ending in ":" with nothing after it."""
    text = plain(piece).rstrip()
    return text.endswith(":") and not text.endswith("::")


_CLOSED = re.compile(r"(?:[.!?:;)\]\"'”’`]|\.\.\.)\s*$")
_LIST_OR_ROW = re.compile(r"^\s*(?:[-*+]\s|\d{1,2}[.)]\s|\|)")


def truncated(piece: str) -> bool:
    """A piece whose prose stops mid-sentence ("the axis line (line style"); a piece cut
    at the length cap ends in "..." and is not counted, nor one ending in a list, table
    or code block."""
    lines = [line for line in piece.rstrip().splitlines() if line.strip()]
    if not lines or _FENCE.match(lines[-1]) or _LIST_OR_ROW.match(lines[-1]):
        return False
    text = plain(lines[-1]).rstrip()
    return bool(text) and not _CLOSED.search(text)


DETECTORS: dict[str, Callable[[str], bool]] = {
    "layout_line": layout_line,
    "table_debris": table_debris,
    "dangling_opening": dangling_opening,
    "link_removed": link_removed,
    "spaced_url": spaced_url,
    "spaced_code": spaced_code,
    "stripped_placeholder": stripped_placeholder,
    "dangling_lead_in": dangling_lead_in,
    "truncated": truncated,
}


def defects(pieces: Sequence[str]) -> list[str]:
    """The kinds of defect an answer's pieces show, each kind once."""
    return [kind for kind, found in DETECTORS.items() if any(found(p) for p in pieces)]


@dataclass(frozen=True)
class Scores:
    """One answer's automatic scores against its gold answer."""

    coverage: float
    first_sentence: bool
    words: int
    defects: tuple[str, ...]


def scores(pieces: Sequence[str], gold: str, text: str | None = None) -> Scores:
    """One answer's automatic scores against its gold answer: defects by piece, the rest
    on ``text`` (the whole shown text; the pieces joined when not given)."""
    text = "\n\n".join(pieces) if text is None else text
    return Scores(
        round(coverage(text, gold), 3),
        holds_first_sentence(text, gold),
        shown_words([text]),
        tuple(defects(pieces)),
    )


def reading(answers: Sequence[tuple[str, Sequence[str]]]) -> dict[str, object]:
    """Reading figures of (gold answer, shown pieces) pairs; a refusal has no pieces.

    Coverage and first sentence are shares over all answerable questions (a refusal
    covers nothing); length is over the answered ones; defects count answers.
    """
    if not answers:
        return {}
    scored = [scores(pieces, gold) for gold, pieces in answers if pieces]
    n = len(answers)
    lengths = [float(s.words) for s in scored]
    return {
        "answerable": n,
        "answered": len(scored),
        "coverage": round(sum(s.coverage for s in scored) / n, 3),
        "first_sentence": round(sum(s.first_sentence for s in scored) / n, 3),
        "words_median": round(statistics.median(lengths), 1) if lengths else 0.0,
        "words_p95": nearest_rank(lengths, 0.95) if lengths else 0.0,
        "with_defect": sum(bool(s.defects) for s in scored),
        "defects": {kind: sum(kind in s.defects for s in scored) for kind in DETECTORS},
    }
