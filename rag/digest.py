"""Extractive summaries: the document's outline, each part shown by its central sentences.

A small model's summary of a document is mostly invented or empty (its points fail the
check against the pages), and a larger one is slow on a CPU. What needs no model is what
a careful reader does first: take the document's outline (the headings the loaders read
from PDF font sizes and bookmarks, DOCX styles, HTML and Markdown headings, stored with
each chunk as ``Chunk.headings``), and under each top-level part quote the sentences that
carry it. Every point is a verbatim span of the document with its page, grown into its
answer unit (``rag.unit``), so a lead-in comes with its list and a table row with its
header; nothing is written that the document does not say.

The parts are the document's top-level sections: the shallowest heading level that
occurs more than once (a lone title above them is not a part). A document without
headings is cut into runs of pages. ``short`` shows the largest few parts, ``detailed``
nearly all of them; a focus keeps the parts whose passages are nearest to it.

A part's central sentences are found by their words: each sentence is a TF-IDF vector
over the document's sentences, the part's centroid is their sum, and sentences are taken
by their cosine to it (a section's opening sentence, which usually states what the section
is about, counts for more), each new one unlike those already taken. Headings, contents
lines, questions and layout debris are never candidates (``rag.sentences``,
``rag.layout.debris``). A 300-page manual is summarized in seconds: nothing is embedded
except, with a focus, the focus and the sentences of the passages nearest to it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.layout import debris, inline, kind
from rag.lexical_terms import STOPWORDS, indexed_form
from rag.retrieve import passage_of
from rag.sentences import Sentence, split_passage, word_count
from rag.types import Chunk, Heading, Passage
from rag.unit import Unit, UnitConfig, build, overlaps

# Parts shown and points per part, by length. ``detailed`` shows every part up to its cap.
PARTS = {"short": 5, "medium": 10, "detailed": 60}
POINTS = {"short": 1, "medium": 2, "detailed": 3}
# With many parts, ``detailed`` shows fewer points in each (about this many in all).
DETAILED_POINTS = 60
# A part with fewer words than this is a heading with no text of its own.
MIN_PART_WORDS = 3
# Front matter, never taken for the part that says what the document is.
_MATTER = re.compile(
    r"^(?:[A-Z]\.?\s+|\d+\.?\s+)?(?:appendix|appendices|index|glossary|bibliography|references|"
    r"licen[cs]e|copyright|contents|table of contents|acknowledg|colophon|about this)",
    re.IGNORECASE,
)
# A document without headings is cut into runs of about this many words.
RUN_WORDS = 1500
# Text before the first top-level heading is a part of its own when it is this long.
OPENING_WORDS = 40
# A section's opening sentence: how much more it counts than its cosine alone; more for
# the part's own opening (its first few hundred characters), which says what it is about.
OPENING_BONUS = 0.15
PART_OPENING_BONUS = 0.3
PART_OPENING_CHARS = 300
# A sentence this much like one already taken (cosine of their words) is not taken.
SAME = 0.6
# Sentences shorter than this (in words) count for less: they rarely carry a part.
SHORT_WORDS = 8
LONG_WORDS = 40
# With a focus: a part is kept when its nearest passage is within this of the best part's.
FOCUS_MARGIN = 0.1
# Sentences of a part's passages nearest to the focus that are embedded and ranked.
FOCUS_PASSAGES = 3
# A sentence that carries a part has this many words, this share of them plain words.
MIN_PROSE_WORDS = 6
PROSE_SHARE = 0.7
# A sentence that points at what follows it, which its unit must then hold.
_POINTS_ON = re.compile(r"\b(?:the following|as follows|below|these steps)\b", re.IGNORECASE)
# A running header a PDF left inside the text: "Chapter 7: Reading data from files 34".
_RUNNING = re.compile(r"^(?:chapter|appendix|section)\s+[\w.]+:\s.{3,80}?\s\d{1,4}\b", re.I)
SYMBOLS_MOST = 2
# A table flattened into "name: value; name: value" pairs, not a sentence.
_LABEL = re.compile(r"\b\w+:\s")
LABELS_MOST = 3
_NUMBER = re.compile(r"^[(]?\d+(?:[.,:]\d+)*[%)]?[.,;:]?$")
_CAPITAL = re.compile(r"^[\"'“‘(]?[A-Z]")
_PLAIN = re.compile(r"^[(\"'“‘]?[^\W\d_][^\W\d_'’-]*[)\"'”’.,;:!?]*$")
_URL = re.compile(r"\b(?:https?|ftp)\s*:\s*//|\bwww\.", re.IGNORECASE)
# A side remark boxed as a tip or a note, as HTML manuals set them (a table's one cell).
_ASIDE = re.compile(r"^\W*(?:tip|caution|note|notes|warning|important|hint)\b", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*((?:\d+|[A-Z])(?:\.\d+)*)\.?\s+\S")
_WORD = re.compile(r"[^\W\d_][^\W_]*")

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Point:
    """One point of a summary.

    Attributes:
        text: What is shown: the unit as safe Markdown, or the model's checked sentence.
        page: The 1-based page it stands on (0 for formats without pages).
        quote: The verbatim span of the document ("" for a model's sentence).
        start: Offset of the quote in the document's text.
        end: End offset (exclusive) of the quote.
        kind: ``quote`` (the document's words) or ``model`` (a sentence the model wrote,
            checked against the part's text).
    """

    text: str
    page: int
    quote: str = ""
    start: int = 0
    end: int = 0
    kind: str = "quote"


@dataclass
class Part:
    """A top-level part of the document's outline.

    Attributes:
        heading: The part's heading ("" for a run of pages of a document without headings).
        level: Its heading level (0 when it has none).
        start: Offset of its text in the document's text.
        end: End offset (exclusive).
        chunks: The document's chunks that hold some of its text, in order.
        first_page: Its first page (0 for formats without pages).
        last_page: Its last page.
        words: How long it is, in words.
        points: What the summary shows of it.
        fallback: The model's points for it all failed the check: its quotes are shown.
    """

    heading: str
    level: int
    start: int
    end: int
    chunks: list[Chunk] = field(default_factory=list)
    first_page: int = 0
    last_page: int = 0
    words: int = 0
    points: list[Point] = field(default_factory=list)
    fallback: bool = False

    @property
    def pages(self) -> str:
        """The page reference of this part, e.g. "p. 3" or "pp. 3-5" ("" without pages)."""
        if not self.first_page:
            return ""
        if self.first_page == self.last_page:
            return f"p. {self.first_page}"
        return f"pp. {self.first_page}-{self.last_page}"

    @property
    def label(self) -> str:
        """The heading, or the pages of a part without one."""
        return self.heading or self.pages.replace("pp.", "Pages").replace("p.", "Page")

    def text(self) -> str:
        """The part's text, each stretch of the document once, in order."""
        pieces: list[str] = []
        covered = self.start
        for chunk in self.chunks:
            lo, hi = max(covered, chunk.char_start, self.start), min(chunk.char_end, self.end)
            if hi > lo:
                pieces.append(chunk.text[lo - chunk.char_start : hi - chunk.char_start])
                covered = hi
        return "".join(pieces).strip()


def outline(chunks: Sequence[Chunk], title: str = "") -> list[Part]:
    """The document's top-level parts, in order, each with its chunks and pages."""
    if not chunks:
        return []
    headings = outline_headings(chunks)
    top = _top_level(headings, title)
    starts = [h for h in headings if h.level == top] if top is not None else []
    if not starts:
        return _runs(chunks)
    end = max(chunk.char_end for chunk in chunks)
    parts: list[Part] = []
    first = starts[0].offset
    begin = min(chunk.char_start for chunk in chunks)
    if first > begin:
        opening = Part(title, 0, begin, first)
        _fill(opening, chunks)
        if opening.words >= OPENING_WORDS:
            parts.append(opening)
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        part = Part(here.text, here.level, here.offset, after.offset if after else end)
        _fill(part, chunks)
        # A heading with no text of its own ("THREE" above "Binary packages", both set
        # large) is no part of the outline.
        if part.chunks and part.words >= MIN_PART_WORDS:
            parts.append(part)
    return parts


def outline_headings(chunks: Sequence[Chunk]) -> list[Heading]:
    """The document's headings in order: as stored, or from each chunk's heading."""
    # Several headings may open at one offset (a chapter's, then its first section's):
    # all are kept, in their order.
    stored = [h for chunk in chunks for h in chunk.headings if h.text.strip()]
    if stored:
        return sorted(dict.fromkeys(stored), key=lambda h: h.offset)
    # Chunks stored before the outline was: a heading where a chunk's heading changes.
    found: list[Heading] = []
    for chunk in chunks:
        heading = " ".join(chunk.heading.split())
        if heading and (not found or found[-1].text != heading):
            found.append(Heading(chunk.char_start, _numbered_level(heading), heading))
    return found


def _numbered_level(heading: str) -> int:
    """A heading's level by its numbering ("3.1.2 Archives": 3), 1 when it has none."""
    match = _NUMBERING.match(heading)
    return match.group(1).count(".") + 1 if match else 1


def _top_level(headings: Sequence[Heading], title: str) -> int | None:
    """The shallowest heading level that parts the document (a lone title does not)."""
    counts = Counter(max(h.level, 1) for h in headings)
    for level in sorted(counts):
        if counts[level] >= 2:
            return level
    deeper = [level for level in counts if counts[level] >= 1]
    return max(deeper) if deeper and len(headings) > 1 else None


def _fill(part: Part, chunks: Sequence[Chunk]) -> None:
    """Give a part the chunks that hold its text, its pages and its length."""
    part.chunks = [c for c in chunks if c.char_start < part.end and c.char_end > part.start]
    pages = [c.page for c in part.chunks if c.page]
    part.first_page, part.last_page = (min(pages), max(pages)) if pages else (0, 0)
    part.words = word_count(part.text())


def _runs(chunks: Sequence[Chunk]) -> list[Part]:
    """A document without headings, cut into runs of about ``RUN_WORDS`` words at chunk ends
    (and at page ends, where it has pages)."""
    parts: list[Part] = []
    current: list[Chunk] = []
    words = 0
    for chunk in chunks:
        current.append(chunk)
        words += word_count(chunk.text)
        if words >= RUN_WORDS:
            parts.append(_run(current))
            current, words = [], 0
    if current:
        parts.append(_run(current))
    return parts


def _run(chunks: list[Chunk]) -> Part:
    part = Part("", 0, chunks[0].char_start, chunks[-1].char_end)
    _fill(part, chunks)
    return part


def chosen(parts: Sequence[Part], length: str) -> list[Part]:
    """The parts a summary of this length shows, in document order: the largest, and the
    first (what the document is, unless it is front matter such as a contents or a
    licence) when it is not among them."""
    most = PARTS.get(length, PARTS["medium"])
    if len(parts) <= most:
        return list(parts)
    largest = sorted(range(len(parts)), key=lambda i: -parts[i].words)[:most]
    first = next((i for i in range(len(parts)) if not _MATTER.match(parts[i].heading)), 0)
    return [parts[i] for i in sorted({first, *largest})]


def points_per_part(length: str, parts: int) -> int:
    """How many points each part shows."""
    each = POINTS.get(length, POINTS["medium"])
    if length == "detailed" and parts:
        each = max(1, min(each, DETAILED_POINTS // parts))
    return each


@dataclass(frozen=True)
class Candidate:
    """A sentence of a part, with the next chunk its unit may run into."""

    sentence: Sentence
    after: Passage | None
    opening: float


class Extractor:
    """Chooses each part's central sentences and shows them as units.

    Args:
        unit_words: Most words of a point (a longer unit is cut and ends in "...").
    """

    def __init__(self, unit_words: int = 80) -> None:
        self.config = UnitConfig(words=unit_words)
        self._idf: dict[str, float] = {}
        # Each part's candidates, found once: ``learn`` reads them all, ``points`` again.
        self._found: dict[int, list[Candidate]] = {}

    def learn(self, parts: Sequence[Part]) -> None:
        """Count the document's words over all its parts' sentences (the IDF)."""
        frequency: Counter[str] = Counter()
        total = 0
        for part in parts:
            for candidate in self.candidates(part):
                frequency.update(set(_terms(candidate.sentence.text)))
                total += 1
        self._idf = {t: math.log((1 + total) / (1 + n)) + 1 for t, n in frequency.items()}

    def candidates(self, part: Part) -> list[Candidate]:
        """The part's quotable sentences, each once (chunks overlap), in order."""
        if id(part) not in self._found:
            self._found[id(part)] = self._candidates(part)
        return self._found[id(part)]

    def _candidates(self, part: Part) -> list[Candidate]:
        found: dict[int, Candidate] = {}
        passages = [passage_of(chunk) for chunk in part.chunks]
        for i, passage in enumerate(passages):
            after = passages[i + 1] if i + 1 < len(passages) else None
            for sentence in split_passage(passage):
                if not part.start <= sentence.doc_start < part.end or not prose(sentence.text):
                    continue
                kept = found.get(sentence.doc_start)
                if kept is None or sentence.doc_end > kept.sentence.doc_end:
                    found[sentence.doc_start] = Candidate(sentence, after, _opening(part, sentence))
        return [found[offset] for offset in sorted(found)]

    def points(
        self,
        part: Part,
        count: int,
        boost: Callable[[list[Candidate]], list[float]] | None = None,
    ) -> list[Point]:
        """The part's ``count`` central sentences as points, in document order.

        Args:
            boost: With a focus, a score per candidate added to its centrality; only
                candidates with a boost above zero are taken.
        """
        candidates = self.candidates(part)
        if not candidates or count < 1:
            return []
        vectors = [self._vector(c.sentence.text) for c in candidates]
        centroid: dict[str, float] = {}
        for vector in vectors:
            for term, weight in vector.items():
                centroid[term] = centroid.get(term, 0.0) + weight
        scores = [
            _cosine(vector, centroid) * _length_factor(c.sentence.text) + c.opening
            for c, vector in zip(candidates, vectors, strict=True)
        ]
        if boost is not None:
            extra = boost(candidates)
            scores = [s + e if e > 0 else -1.0 for s, e in zip(scores, extra, strict=True)]
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])
        headings = sorted(
            (h for c in part.chunks for h in c.headings if part.start <= h.offset < part.end),
            key=lambda h: h.offset,
        )
        taken: list[int] = []
        units: list[Unit] = []
        for i in order:
            if len(taken) >= count or scores[i] < 0:
                break
            if any(_cosine(vectors[i], vectors[j]) > SAME for j in taken):
                continue
            unit = build(
                candidates[i].sentence, candidates[i].after, self.config, whole_section=False
            )
            if any(overlaps(unit, other) for other in units) or not unit.markdown.strip():
                continue
            if unit.quote.rstrip().endswith(":"):
                continue  # a lead-in whose list or code could not be shown with it
            if any(unit.doc_start < h.offset < unit.doc_end for h in headings):
                continue  # it runs on into the next section
            if _points_on_nothing(candidates[i].sentence, unit):
                continue  # "you issue the following command ..." without the command
            taken.append(i)
            units.append(unit)
        shown = sorted(zip(taken, units, strict=True), key=lambda pair: pair[1].doc_start)
        return [_point(unit, _question(headings, unit.doc_start)) for _, unit in shown]

    def _vector(self, text: str) -> dict[str, float]:
        counts = Counter(_terms(text))
        return {t: n * self._idf.get(t, 1.0) for t, n in counts.items()}


def _opening(part: Part, sentence: Sentence) -> float:
    """How much a sentence counts for opening its part (what the part is about) or one of
    its sections."""
    if sentence.doc_start - part.start < PART_OPENING_CHARS:
        return PART_OPENING_BONUS
    return OPENING_BONUS if sentence.after_heading else 0.0


def prose(text: str) -> bool:
    """Whether a sentence can carry a part: prose, not a list item, table row, command,
    path or layout debris (those reach a summary inside the unit of the sentence that
    introduces them)."""
    first = text.strip().split("\n", 1)[0]
    if _ASIDE.match(first) or _RUNNING.match(first):
        return False
    if sum(unicodedata.category(c) == "So" for c in text) >= SYMBOLS_MOST:
        return False  # a PDF's ornaments (☛ ✟) around a running header or a box
    if debris(text) or kind(first) != "text" or len(_URL.findall(text)) > 1:
        return False
    tokens = text.split()
    if len(tokens) < MIN_PROSE_WORDS or not _CAPITAL.match(text.strip()):
        return False
    if len(_LABEL.findall(text)) >= LABELS_MOST:  # "Git command: ...; function: ..."
        return False
    # Numbers count as words ("27 days"); a lone mark a PDF spaced out ("1 .") does not count.
    counted = [token for token in tokens if any(c.isalnum() for c in token)]
    words = sum(1 for token in counted if _PLAIN.match(token) or _NUMBER.match(token))
    return words >= PROSE_SHARE * len(counted)


def _points_on_nothing(sentence: Sentence, unit: Unit) -> bool:
    """Whether a sentence points at what follows it ("the following command") and neither
    it nor its unit holds that."""
    found = _POINTS_ON.search(sentence.text)
    if found is None or "\n" in sentence.text[found.end() :].strip():
        return False
    return unit.doc_end <= sentence.doc_end + 1


def _question(headings: Sequence[Heading], offset: int) -> str:
    """The question heading a point stands under (an FAQ's), or "": a point that answers
    it ("Yes. The coding style ... is PEP 8.") means nothing without it."""
    above = [h for h in headings if h.offset <= offset]
    return above[-1].text if above and above[-1].text.rstrip().endswith("?") else ""


def _point(unit: Unit, question: str = "") -> Point:
    page = unit.passages[0].page
    text = (
        f"*{inline(' '.join(question.split()))}*\n\n{unit.markdown}" if question else unit.markdown
    )
    return Point(text, page, unit.quote, unit.doc_start, unit.doc_end)


def _terms(text: str) -> list[str]:
    """A sentence's content words, folded and stemmed."""
    words = (w.lower() for w in _WORD.findall(text))
    return [indexed_form(w) for w in words if w not in STOPWORDS and len(w) > 1]


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    dot = sum(v * large.get(t, 0.0) for t, v in small.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _length_factor(text: str) -> float:
    """Short sentences rarely carry a part; long ones are lists or tables run together,
    and hold many of the part's words without being about it."""
    words = word_count(text)
    if words < SHORT_WORDS:
        return 0.6
    if words <= LONG_WORDS:
        return 1.0
    return max(0.6, 1.0 - (words - LONG_WORDS) / (2 * LONG_WORDS))


def part_vectors(
    parts: Sequence[Part],
    stored: dict[str, np.ndarray],
    embed: Callable[[list[str]], np.ndarray],
    title: str = "",
) -> list[dict[str, np.ndarray]]:
    """Each part's passages' vectors, by chunk id: a chunk wholly inside the part keeps its
    stored vector; one it shares with the next part (a run of short sections is one chunk)
    is embedded anew for the part's own stretch of it, led by the title and heading as the
    chunker leads a passage."""
    shared: list[tuple[int, str, str]] = []
    found: list[dict[str, np.ndarray]] = []
    for index, part in enumerate(parts):
        mine: dict[str, np.ndarray] = {}
        for chunk in part.chunks:
            if part.start <= chunk.char_start and chunk.char_end <= part.end:
                if chunk.id in stored:
                    mine[chunk.id] = stored[chunk.id]
                continue
            lo = max(part.start, chunk.char_start) - chunk.char_start
            hi = min(part.end, chunk.char_end) - chunk.char_start
            header = " — ".join(x for x in (title.strip(), part.heading.strip()) if x)
            shared.append((index, chunk.id, f"{header}\n{chunk.text[lo:hi]}".strip()))
        found.append(mine)
    if shared:
        vectors = embed([text for _, _, text in shared])
        for (index, chunk_id, _), vector in zip(shared, vectors, strict=True):
            found[index][chunk_id] = vector
    return found


def focus_scores(focus: np.ndarray, vectors: Sequence[dict[str, np.ndarray]]) -> list[float]:
    """Each part's nearness to a focus: the cosine of its nearest passage."""
    return [max((float(v @ focus) for v in mine.values()), default=-1.0) for mine in vectors]


def focused(parts: Sequence[Part], scores: Sequence[float], gate: float, most: int) -> list[Part]:
    """The parts about the focus: near it (above ``gate``) and within ``FOCUS_MARGIN`` of the
    nearest part, at most ``most`` of them, in document order."""
    if not scores or max(scores) < gate:
        return []
    best = max(scores)
    near = [i for i, s in enumerate(scores) if s >= gate and s >= best - FOCUS_MARGIN]
    near = sorted(near, key=lambda i: -scores[i])[:most]
    return [parts[i] for i in sorted(near)]


def nearest_chunks(focus: np.ndarray, vectors: dict[str, np.ndarray]) -> set[str]:
    """Ids of the ``FOCUS_PASSAGES`` passages of a part nearest to the focus."""
    ranked = sorted(vectors, key=lambda chunk_id: -float(vectors[chunk_id] @ focus))
    return set(ranked[:FOCUS_PASSAGES])
