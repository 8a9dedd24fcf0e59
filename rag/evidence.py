"""Sentence-level evidence: the retrieved passages' sentences ranked for a question.

Each quotable sentence (``rag.sentences``) scores a weighted sum of what
``bench/answers.py`` measured to find the answering sentence:

* ``cosine``: the embedder's similarity of the sentence to the question;
* ``lexical``: BM25 of the question's stemmed terms in the sentence, with document
  frequencies taken over the candidate sentences, divided by the best candidate's;
* ``passage``: the similarity of the sentence's passage to the question (a sentence of
  the passage that answers is worth more than a similar sentence elsewhere);
* ``heading``: the similarity of the heading above the sentence to the question, halved
  with each sentence between them (an FAQ's answer starts under its question);
* ``named``: how far that heading names the question's topic in its own words
  (``heading_match``), however many sentences stand between them (a manual's section
  answers its title all along);
* ``unit``: the similarity of the sentence's answer unit (``rag.unit``: the sentence with
  the list or rows it introduces, its paragraph) to the question: what the reader is
  shown, so a lead-in whose list answers ranks by the list;

A question whose own words are missing from every retrieved passage
(``unmatched_terms``) asks about something the documents do not name. A passage whose
heading names what the question asks (``heading_match``: the same content words) is
evidence however far its embedding lies from the question: a manual's section "Scope"
answers "Scope" though its text never says the word.

A sentence that adds fewer than ``MIN_NEW_WORDS`` content words to the question's own
(a figure counts; words about the question, such as "answer", do not) only restates it,
whatever the passage says, and is never a candidate, unless it introduces what follows
it ("leave is granted in this order:"). Layout debris is never a candidate. The same sentence
reached through two overlapping passages counts once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.embedder import Embedder
from rag.layout import debris
from rag.lexical_terms import STOPWORDS, indexed_form, query_terms
from rag.retrieve import Passage
from rag.sentences import TABLE_ROW, Sentence, split_passage
from rag.unit import UnitConfig, introduces
from rag.unit import build as build_unit

MIN_NEW_WORDS = 1
# Share of content words a heading and a question must have in common to name one topic.
HEADING_MATCH = 0.75
# A question this close to the heading of the best sentence's section asks what that
# section is about: the section's opening answers it (``opening_first``).
OPENS_MATCH = 0.5
# How many of the best-ranked sentences' sections are looked at for the one it names.
OPENS_WINDOW = 5
_SECTION_NUMBER = re.compile(r"^\s*(?:[A-Z]\.)?\d+(?:\.\d+)*\.?\s+")
# Words that talk about the question instead of answering it ("The answer to this
# question, according to the document, is ..."), in their stemmed form.
_FILLER = frozenset(
    indexed_form(word)
    for word in "answer answers question questions ask asked query source sources document "
    "documents text information regarding following according".split()
)
# A question's word counts as named when a passage holds a word this close to it in the
# embedder's space ("advance" and "ahead"): the unmatched-word refusal is not for synonyms.
NEAR_WORD = 0.45
_WORD_CACHE = 50_000
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]{2,}")
_TERM = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# A number, or a code holding a digit ("E-4471-B", "3.11", "ggplot2"), as one token.
_LITERAL = re.compile(r"[A-Za-z0-9]*\d[A-Za-z0-9]*(?:[.\-/][A-Za-z0-9]+)*")
_BM25_K1 = 1.2
_BM25_B = 0.75
_HEADING_DECAY = 0.5


@dataclass(frozen=True)
class RankWeights:
    """How the features of a sentence add up to its score (tuned by ``bench/answers.py``)."""

    cosine: float = 1.0
    lexical: float = 0.0
    passage: float = 0.3
    heading: float = 0.25
    named: float = 0.25
    unit: float = 0.5
    literal: float = 0.3


@dataclass(frozen=True)
class RankedSentence:
    """A candidate sentence with its score and the features behind it."""

    sentence: Sentence
    score: float
    cosine: float
    lexical: float
    passage: float
    heading: float
    named: float = 0.0
    unit: float = 0.0
    literal: float = 0.0


# Words any question may use without naming its topic ("how many days do staff get").
_STOP_STEMS = frozenset(indexed_form(word) for word in STOPWORDS)
_GENERIC = frozenset(
    indexed_form(word)
    for word in "get make use work need want tell find give take happen way thing many much "
    "long often kind type best possible far advance ahead soon early late allowed able "
    "must".split()
)


def unmatched_terms(question: str, passages: Sequence[Passage]) -> list[str]:
    """The question's stemmed words that no passage holds, in its text, heading or title.

    A question about something no retrieved passage names ("a Shiny dashboard" asked of
    R manuals that never mention Shiny) is about a topic the documents do not cover,
    however close its other words come.
    """
    held = {
        word for p in passages for word in indexed_form(f"{p.text} {p.named} {p.title}").split()
    }
    words = dict.fromkeys(w for term in query_terms(question) for w in term.split())
    return [word for word in words if word not in held and word not in _GENERIC]


def _content_words(text: str) -> set[str]:
    return {word for term in query_terms(text) for word in term.split()} - _GENERIC


def heading_match(question: str, heading: str) -> float:
    """How far a heading names the question's topic: shared content words over all of both.

    The heading's section number ("10.7 Scope") is not a word of it.
    """
    asked = _content_words(question)
    named = _content_words(_SECTION_NUMBER.sub("", heading))
    return len(asked & named) / len(asked | named) if asked and named else 0.0


def named_by_heading(question: str, passage: Passage) -> bool:
    """Whether the passage stands under a heading that names what the question asks."""
    return any(
        heading_match(question, heading) >= HEADING_MATCH
        for heading in (passage.heading, *(h.text for h in passage.headings))
    )


def section_of(sentence: Sentence) -> tuple[str, int, bool]:
    """The section a sentence stands in by its passage's stored outline: its heading, the
    heading's offset in the document (-1: the section opened before the passage), and
    whether the sentence opens it (only blank space between)."""
    passage = sentence.passage
    opened = [h for h in passage.headings if h.offset <= sentence.doc_start]
    if not opened:
        return passage.heading, -1, False
    # Of headings opened at one offset (a chapter's and its first question's), the last.
    own = max(reversed(opened), key=lambda h: h.offset)
    gap = passage.text[own.offset - passage.char_start : sentence.start]
    return own.text, own.offset, not gap.strip()


def opening_first(
    question: str, ranked: list[RankedSentence], window: int = OPENS_WINDOW
) -> list[RankedSentence]:
    """The ranked sentences, a section's opening first when the question names that
    section by its heading (``OPENS_MATCH``).

    A question that is a section's title ("Contrasts", "How can add-on packages be
    used?") asks what the section says, and a section states that first: its best-
    matching later sentence ("Second, the whole behavior can be changed ...") is a
    detail of it. Of the sections the ``window`` best sentences stand in, the one whose
    heading names the question best is taken (a chapter's "Control files and their
    fields" gives way to its "Syntax of control files"), when its opening is a candidate;
    a section other than the best sentence's only when its heading names the question
    outright (``HEADING_MATCH``).
    """
    openings: dict[tuple[str, str], RankedSentence] = {}
    for candidate in ranked:
        heading, _, opens = section_of(candidate.sentence)
        key = (candidate.sentence.passage.doc_id, heading)
        if opens and key not in openings:
            openings[key] = candidate
    best: tuple[float, RankedSentence] | None = None
    top = (ranked[0].sentence.passage.doc_id, section_of(ranked[0].sentence)[0]) if ranked else None
    for candidate in ranked[:window]:
        key = (candidate.sentence.passage.doc_id, section_of(candidate.sentence)[0])
        match = heading_match(question, key[1])
        # Another section than the best sentence's must be named outright: "Claims" half
        # names "How much can I claim for a hotel?", whose answer stands under "Limits".
        floor = OPENS_MATCH if key == top else HEADING_MATCH
        if key in openings and match >= floor and (best is None or match > best[0]):
            best = (match, openings[key])
    if best is None or best[1] is ranked[0]:
        return ranked
    return [best[1], *(r for r in ranked if r is not best[1])]


def gated(question: str, passages: Sequence[Passage], gate: float) -> list[Passage]:
    """The passages that count as evidence: close enough to the question, or named by it.

    Passages below the gate are weak evidence: they only distract.
    """
    return [p for p in passages if (p.dense or 0.0) >= gate or named_by_heading(question, p)]


def _literals(text: str) -> set[str]:
    return {token.strip(".-/").lower() for token in _LITERAL.findall(text)}


def literal_match(question: str, text: str) -> float:
    """The share of the question's numbers and codes ("Ward 4", "bleep 2231",
    "E-4471-B", "3.11") that ``text`` holds as written (0 when the question has none).

    In a table row its words count too ("Tuesday"): a table's rows say the same kind of
    thing, and which one answers turns on the values in its cells."""
    wanted, held = _literals(question), _literals(text)
    if TABLE_ROW.search(text):
        wanted |= _content_words(question)
        held |= set(indexed_form(text).split())
    return len(wanted & held) / len(wanted) if wanted else 0.0


def new_words(text: str, question: str) -> set[str]:
    """The stemmed content words of ``text`` that the question does not already hold."""
    own = set(query_terms(question))
    return {term for term in query_terms(text) if term not in own and term not in _FILLER}


def _restates(sentence: Sentence, question: str) -> bool:
    """A restatement that introduces nothing: "leave is granted in this order:" restates
    the question, but its unit (the list after it) answers it."""
    return restates(sentence.text, question) and not introduces(sentence.text)


def restates(text: str, question: str) -> bool:
    """Whether a sentence only restates the question (adds too few words of its own)."""
    return len(new_words(text, question)) < MIN_NEW_WORDS


class SentenceRanker:
    """Ranks the sentences of retrieved passages for a question."""

    def __init__(
        self,
        embedder: Embedder,
        weights: RankWeights | None = None,
        unit: UnitConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.weights = weights or RankWeights()
        self.unit = unit or UnitConfig()
        self._word_vectors: dict[str, np.ndarray] = {}

    def unmatched(self, question: str, passages: Sequence[Passage]) -> list[str]:
        """``unmatched_terms`` without the words a passage names by a synonym.

        Each missing word is compared with the passages' own words in the embedder's
        space; one within ``NEAR_WORD`` of a held word is named after all.
        """
        missing = unmatched_terms(question, passages)
        if not missing:
            return []
        raw = {indexed_form(w): w.lower() for w in _PLAIN_WORD.findall(question)}
        asked = [raw[stem] for stem in missing if stem in raw]
        held = sorted(
            {
                w.lower()
                for p in passages
                for w in _PLAIN_WORD.findall(f"{p.named} {p.text}")
                if indexed_form(w) not in _STOP_STEMS
            }
        )
        if not asked or not held:
            return missing
        vectors = self._words([*asked, *held])
        near = (vectors[: len(asked)] @ vectors[len(asked) :].T).max(axis=1)
        close = {indexed_form(w) for w, best in zip(asked, near, strict=True) if best >= NEAR_WORD}
        return [stem for stem in missing if stem not in close]

    def names(self, question: str, missing: Sequence[str]) -> list[str]:
        """The question's words among ``missing`` (stems no passage holds) that name a
        thing rather than say something: a product, package or person ("iPhone", "NumPy",
        "ggplot2", "Gini", "reticulate"). Documents that never name it do not cover it,
        however close their other words come, while a missing everyday word ("cram",
        "hood") is often the asker's own wording for what the documents say otherwise.

        A name is a word with a capital after its first letter and lower case too, a word
        of letters and digits, a capitalized word not opening the question that the
        embedder's vocabulary holds only in pieces, or a lower-case word it splits into
        three or more (a coined term). All-capital abbreviations ("PC") are not names here.
        """
        if not missing:
            return []
        found = []
        words = _TERM.findall(question)
        pieces = dict(zip(words, self.embedder.tokens.count(words), strict=True)) if words else {}
        for place, word in enumerate(words):
            if indexed_form(word) not in missing:
                continue
            mixed = any(c.isupper() for c in word[1:]) and any(c.islower() for c in word)
            coded = any(c.isdigit() for c in word)
            capital = word[0].isupper() and word[1:].islower() and place > 0
            if (
                mixed
                or coded
                or (capital and pieces[word] >= 2)
                or (word.islower() and pieces[word] >= 3)
            ):
                found.append(word)
        return list(dict.fromkeys(found))

    def _words(self, words: list[str]) -> np.ndarray:
        """Unit vectors of single words, cached (a passage's words recur across questions)."""
        new = [w for w in dict.fromkeys(words) if w not in self._word_vectors]
        if new:
            if len(self._word_vectors) + len(new) > _WORD_CACHE:
                self._word_vectors.clear()
            self._word_vectors.update(zip(new, self.embedder.encode(new), strict=True))
        return np.stack([self._word_vectors[w] for w in words])

    def candidates(self, question: str, passages: Sequence[Passage]) -> list[Sentence]:
        """Quotable sentences of the passages, each once, restatements and layout debris
        (running headers, page numbers, table fragments: ``rag.unit.debris``) left out."""
        seen: set[tuple[str, int]] = set()
        found: list[Sentence] = []
        for passage in passages:
            for sentence in split_passage(passage):
                key = (passage.doc_id, sentence.doc_start)
                if key in seen or debris(sentence.text) or _restates(sentence, question):
                    continue
                seen.add(key)
                found.append(sentence)
        return found

    def rank(self, question: str, passages: Sequence[Passage]) -> list[RankedSentence]:
        """Every candidate sentence, best first (a named section's opening before its
        later sentences: ``opening_first``)."""
        sentences = self.candidates(question, passages)
        if not sentences:
            return []
        return opening_first(question, score(self.features(question, sentences), self.weights))

    def _unit_cosines(self, query: np.ndarray, sentences: list[Sentence]) -> list[float]:
        """Each sentence's answer unit's similarity to the question (a unit shared by
        several sentences, as a list's items share theirs, is embedded once)."""
        spans = [build_unit(s, None, self.unit) for s in sentences]
        keys = [(u.passages[0].id, u.start, u.end) for u in spans]
        texts = dict(zip(keys, (u.quote for u in spans), strict=True))
        order = list(texts)
        vectors = self.embedder.encode([texts[k] for k in order]) if order else np.zeros((0, 0))
        by_key = dict(zip(order, (vectors @ query).tolist() if order else [], strict=True))
        return [float(by_key[k]) for k in keys]

    def features(self, question: str, sentences: list[Sentence]) -> list[RankedSentence]:
        """The unweighted features of each sentence (score 0): for ranking and tuning."""
        headings = [_heading_of(s) for s in sentences]
        titles = sorted({h for h, _ in headings if h})
        vectors = self.embedder.encode([question, *(s.text for s in sentences), *titles])
        query = vectors[0]
        cosines = vectors[1 : 1 + len(sentences)] @ query
        by_title = dict(zip(titles, vectors[1 + len(sentences) :] @ query, strict=True))
        lexical = _bm25(question, [s.text for s in sentences])
        units = self._unit_cosines(query, sentences)
        return [
            RankedSentence(
                sentence=s,
                score=0.0,
                cosine=float(cosines[i]),
                lexical=float(lexical[i]),
                passage=float(s.passage.dense or 0.0),
                heading=float(by_title[h]) * _HEADING_DECAY**distance if h else 0.0,
                named=heading_match(question, h),
                unit=units[i],
                literal=literal_match(question, s.text),
            )
            for i, (s, (h, distance)) in enumerate(zip(sentences, headings, strict=True))
        ]


def score(features: list[RankedSentence], weights: RankWeights) -> list[RankedSentence]:
    """The features weighted into scores, best first (ties keep document order)."""
    w = weights
    scored = [
        RankedSentence(
            f.sentence,
            w.cosine * f.cosine
            + w.lexical * f.lexical
            + w.passage * f.passage
            + w.heading * f.heading
            + w.named * f.named
            + w.unit * f.unit
            + w.literal * f.literal,
            f.cosine,
            f.lexical,
            f.passage,
            f.heading,
            f.named,
            f.unit,
            f.literal,
        )
        for f in features
    ]
    return sorted(scored, key=lambda r: -r.score)


def _heading_of(sentence: Sentence) -> tuple[str, int]:
    """The heading above a sentence and how many sentences stand between them."""
    if sentence.after_heading:
        return sentence.after_heading, 0
    siblings = split_passage(sentence.passage)
    for distance, earlier in enumerate(reversed(siblings[: sentence.index]), start=1):
        if earlier.after_heading:
            # Every row of a table stands under its header row, however many rows between.
            rows = siblings[earlier.index : sentence.index + 1]
            in_table = all(TABLE_ROW.search(row.text) for row in rows)
            return earlier.after_heading, 0 if in_table else distance
    return sentence.passage.heading, sentence.index


def _bm25(question: str, texts: list[str]) -> np.ndarray:
    """BM25 of the question's terms in each text, divided by the best text's score."""
    terms = query_terms(question)
    docs = [indexed_form(text).split() for text in texts]
    if not terms or not docs:
        return np.zeros(len(texts))
    average = sum(len(d) for d in docs) / len(docs) or 1.0
    frequency = Counter(term for d in docs for term in set(d))
    scores = np.zeros(len(docs))
    for i, doc in enumerate(docs):
        counts = Counter(doc)
        for term in terms:
            tf = counts.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (len(docs) - frequency[term] + 0.5) / (frequency[term] + 0.5))
            norm = tf + _BM25_K1 * (1 - _BM25_B + _BM25_B * len(doc) / average)
            scores[i] += idf * tf * (_BM25_K1 + 1) / norm
    best = scores.max()
    return scores / best if best > 0 else scores
