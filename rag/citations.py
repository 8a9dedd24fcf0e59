"""Citations: parsed from the model's answer and checked against the sources they name.

A small model cites wrongly as often as it cites rightly, so no citation is shown on the
model's word alone. Each sentence of the answer is compared with each sentence of the
source it cites: a citation is *verified* when the best-matching source sentence supports
it, lexically (the share of the answer sentence's content words found in that source
sentence) and semantically (cosine similarity of their embeddings). The bounds are
calibrated by ``bench/answers.py`` on FAQ answers (true pairs) against other passages of
the same corpus (false pairs). Every figure in a sentence must appear in the supporting source
sentence. Uncited sentences that a source clearly supports get that
citation attached, so an answer from a model that forgot to cite is still traceable;
citations that fail the check are dropped from the text and listed as rejected. A
sentence that only restates the question (``rag.evidence.restates``) is never verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from models.embedder import Embedder
from rag.evidence import restates


@dataclass(frozen=True)
class Citation:
    """A verified pointer from an answer sentence to the passage that supports it.

    Attributes:
        number: The number of the source (and of the quote, in an answer of quotes).
        source: Source path of the document.
        title: Document title.
        page: 1-based page, 0 for formats without pages.
        doc_id: sha256 of the document.
        quote: The source's sentence, verbatim.
        char_start: Document offset of the quote.
        char_end: Document offset just after the quote.
        attributed: The model gave no (or a wrong) number; the check found this source.
        also_in: Other documents holding the same passage (``rag.duplicates``).
        sheet: The spreadsheet sheet the quote stands in, "" for other formats.
        cells: Its cell range with the sheet's name ("Rota!A12:D12", ``rag.cells``), ""
            when the quote is not in a sheet's rows (or was indexed before rows were kept).
    """

    number: int
    source: str
    title: str
    page: int
    doc_id: str
    quote: str
    char_start: int
    char_end: int
    attributed: bool = False
    also_in: tuple[str, ...] = ()
    sheet: str = ""
    cells: str = ""


CITATION = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_LEADING_CITATIONS = re.compile(r"(?:\[\d{1,2}(?:\s*,\s*\d{1,2})*\]\s*)+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_STOP = frozenset(
    (
        "a an and are as at be been but by can do does for from has have how i if in into is it "
        "its may not of on or our should so such than that the their them then there these they "
        "this to was we were what when where which who will with would you your "
        # question and answer filler: "the answer is", "how many", "according to the source"
        "answer answers many much according source sources document documents text"
    ).split()
)

# Calibrated by bench/answers.py (true pairs: gold answer sentences and their passages;
# false pairs: the same sentences against other passages of the corpus).
_SHORT_CLAIM = 4
LEXICAL_SUPPORT = 0.75
SEMANTIC_SUPPORT = 0.6


@dataclass(frozen=True)
class SourceText:
    """What a citation number refers to: the text shown to the model as ``[number]``."""

    number: int
    text: str


@dataclass(frozen=True)
class Support:
    """How well one source supports one answer sentence."""

    number: int
    lexical: float
    semantic: float
    quote_start: int  # span of the best-matching sentence in the source text
    quote_end: int

    @property
    def verified(self) -> bool:
        """Whether the support clears both calibrated bounds.

        Both are required: similar wording alone passes "the notice period after probation
        is 6 months" against "the probation period is 6 months".
        """
        return self.lexical >= LEXICAL_SUPPORT and self.semantic >= SEMANTIC_SUPPORT


@dataclass
class CheckedSentence:
    """One sentence of the answer with the citations that survived the check."""

    text: str
    cited: list[int]
    verified: list[Support] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    attributed: bool = False


def content_words(text: str) -> set[str]:
    """Lower-cased words that carry meaning (stop words and single letters dropped)."""
    return {
        w
        for w in (m.group().lower() for m in _WORD.finditer(text))
        if w not in _STOP and len(w) > 1
    }


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of a text.

    Citation marks written after the full stop ("X is Y. [1]") belong to the sentence
    before them: left on their own they would be a sentence without words, never checked.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in [*_SENTENCE.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(piece.strip())))
            _attach_leading_citations(text, spans)
        if match:
            start = match.end()
    return spans


def _attach_leading_citations(text: str, spans: list[tuple[int, int]]) -> None:
    """Move the citation marks that open the last span onto the end of the span before it."""
    if len(spans) < 2:
        return
    (prev_start, prev_end), (start, end) = spans[-2], spans[-1]
    marks = _LEADING_CITATIONS.match(text, start, end)
    if not marks:
        return
    rest = text[marks.end() : end]
    if any(ch.isalnum() for ch in rest):
        # "[3] C is D." on a line of its own reads as a reference list entry: leave it.
        if "\n" not in text[prev_end:start]:
            spans[-2] = (prev_start, start + len(marks.group().rstrip()))
            spans[-1] = (marks.end(), end)
    else:  # nothing but marks (and a stray full stop): all of it joins the sentence
        del spans[-1]
        spans[-1] = (prev_start, end)


def parse_citations(sentence: str) -> tuple[str, list[int]]:
    """Strip ``[n]`` / ``[n, m]`` markers from a sentence; return the text and the numbers."""
    numbers: list[int] = []
    for match in CITATION.finditer(sentence):
        numbers += [int(n) for n in match.group(1).split(",")]
    return CITATION.sub("", sentence).strip(), list(dict.fromkeys(numbers))


class CitationChecker:
    """Verifies an answer's citations against its numbered sources."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def check(
        self, answer: str, sources: list[SourceText], question: str = ""
    ) -> list[CheckedSentence]:
        """Split the answer into sentences and verify each one's citations.

        A short sentence ("The answer is 27.") is checked together with the question,
        which is what gives it its meaning.
        """
        by_number = {source.number: source for source in sources}
        sentences = [parse_citations(answer[a:b]) for a, b in split_sentences(answer)]
        windows = {s.number: split_sentences(s.text) for s in sources}
        plain = [_claim(text, question) for text, _ in sentences]
        vectors = self.embedder.encode(plain) if plain else np.zeros((0, 0))
        window_texts = [(n, a, b) for n, spans in windows.items() for a, b in spans]
        window_vectors = self.embedder.encode([by_number[n].text[a:b] for n, a, b in window_texts])
        checked: list[CheckedSentence] = []
        for index, (text, cited) in enumerate(sentences):
            supports = {
                number: self._support(
                    plain[index],
                    vectors[index],
                    number,
                    by_number[number].text,
                    window_texts,
                    window_vectors,
                    own=content_words(text),
                )
                for number in by_number
            }
            checked.append(_judge(text, cited, supports, question))
        return checked

    def support(self, sentence: str, source: str) -> Support:
        """The best support ``source`` gives one sentence (for calibration and inspection)."""
        windows = [(1, a, b) for a, b in split_sentences(source)]
        vectors = self.embedder.encode([sentence, *(source[a:b] for _, a, b in windows)])
        own = content_words(sentence)
        return self._support(sentence, vectors[0], 1, source, windows, vectors[1:], own=own)

    @staticmethod
    def _support(
        sentence: str,
        vector: np.ndarray,
        number: int,
        source: str,
        windows: list[tuple[int, int, int]],
        window_vectors: np.ndarray,
        own: set[str],
    ) -> Support:
        words = content_words(sentence)
        figures = set(_NUMBER.findall(sentence))
        best = Support(number, 0.0, 0.0, 0, 0)
        for row, (owner, start, end) in enumerate(windows):
            # A passage that lacks a figure the sentence states cannot support it, however
            # similar the wording ("25 days" is not supported by "27 days").
            if owner != number or not figures <= set(_NUMBER.findall(source[start:end])):
                continue
            window_words = content_words(source[start:end])
            if not own & window_words:
                continue  # the question alone cannot make a sentence supported
            lexical = len(words & window_words) / len(words) if words else 0.0
            semantic = float(window_vectors[row] @ vector)
            if lexical + semantic > best.lexical + best.semantic:
                best = Support(number, lexical, semantic, start, end)
        return best


def _claim(sentence: str, question: str) -> str:
    """What a sentence asserts: itself, or with its question when it is too short alone."""
    if question and len(content_words(sentence)) < _SHORT_CLAIM:
        return f"{question} {sentence}"
    return sentence


def _judge(
    text: str, cited: list[int], supports: dict[int, Support], question: str = ""
) -> CheckedSentence:
    sentence = CheckedSentence(text=text, cited=cited)
    if not content_words(text):
        return sentence
    if question and restates(text, question):
        # "The answer to this question is: <its subject>." answers nothing, whatever
        # passage holds those words (a table of contents does).
        sentence.rejected = list(cited)
        return sentence
    for number in cited:
        support = supports.get(number)
        if support is not None and support.verified:
            sentence.verified.append(support)
        else:
            sentence.rejected.append(number)
    if not sentence.verified:
        strongest = max(supports.values(), key=lambda s: s.lexical + s.semantic, default=None)
        if strongest is not None and strongest.verified:
            sentence.verified.append(strongest)
            sentence.attributed = True
    return sentence
