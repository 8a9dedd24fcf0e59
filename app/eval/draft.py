"""Drafting questions from a collection's own documents, without any model.

Three rules, in this order of trust:

1. ``heading-question``: a heading that is a question ("How do I reset my password?") is
   asked as it stands; its answer is the text below it.
2. ``definition``: a sentence that defines a term ("A bridge day is a working day
   between ...") becomes "What is a bridge day?", answered by the sentence itself.
3. ``heading``: any other short heading ("Annual leave") becomes "What does <title> say
   about annual leave?", answered by the text below it.

Each draft names its source, page and expected quote (the first sentence below the
heading, or the defining sentence), and is kept only if that quote is found in the
collection's index by the relevance rule of ``rag.metrics``, so a draft never points at
text retrieval cannot return. Drafts carry the origin ``drafted`` until reviewed.

The documents' headings are read from the original files when they are still there
unchanged (parsed in an isolated process, as ingest parses them); otherwise from the
indexed chunks, which keep only the heading a chunk starts under.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.eval.questions import EvalQuestion
from rag.citations import split_sentences
from rag.metrics import relevant_ids, words

_DEFINITION = re.compile(
    r"^(?P<term>(?:(?:A|An|The)\s+)?[A-Za-z][\w-]*(?:\s+[a-z][\w-]*){0,3}?)\s+"
    r"(?P<verb>means|refers to|(?:is|are)(?=\s+(?:a|an|the|any|one)\b))\s"
)
_PRONOUNS = {"it", "this", "that", "there", "he", "she", "they", "we", "you", "these", "those"}
_QUOTE_WORDS = 40
_RULES = ("heading-question", "definition", "heading")


@dataclass(frozen=True)
class Passage:
    """Text under one heading on one page of a document."""

    source: str
    title: str
    page: int
    heading: str
    text: str


def draft(
    passages: Sequence[Passage], indexed: dict[str, list[str]], count: int
) -> list[EvalQuestion]:
    """Up to ``count`` drafted questions, question headings first.

    Args:
        passages: The documents' text under their headings, in reading order.
        indexed: The collection's chunks as ``source\\x00chunk id -> words``, to check that
            each expected quote is found in the index.
        count: Most questions drafted.
    """
    by_rule: dict[str, list[EvalQuestion]] = {rule: [] for rule in _RULES}
    for candidate in _candidates(passages):
        by_rule[candidate.note].append(candidate)
    chosen: dict[str, EvalQuestion] = {}
    for rule in _RULES:
        for candidate in by_rule[rule]:
            if len(chosen) >= count:
                return list(chosen.values())
            if candidate.id not in chosen and _indexed(candidate, indexed):
                chosen[candidate.id] = candidate
    return list(chosen.values())


def _indexed(question: EvalQuestion, indexed: dict[str, list[str]]) -> bool:
    prefix = f"{question.source}\x00"
    ours = {key: tokens for key, tokens in indexed.items() if key.startswith(prefix)}
    return bool(relevant_ids(question.expected_quote, ours))


def _candidates(passages: Iterable[Passage]) -> Iterator[EvalQuestion]:
    seen: set[tuple[str, str]] = set()
    for passage in passages:
        first = _first_sentences(passage.text)
        place = (passage.source, passage.heading)
        if passage.heading and first and place not in seen:
            seen.add(place)
            question = _heading_question(passage)
            if question:
                rule = "heading-question" if question == passage.heading else "heading"
                yield _question(question, passage, first, rule)
        for sentence in _sentences(passage.text):
            if asked := definition_question(sentence):
                yield _question(asked, passage, sentence, "definition")


def _question(text: str, passage: Passage, quote: str, rule: str) -> EvalQuestion:
    pages = (passage.page,) if passage.page else ()
    return EvalQuestion(
        question=text,
        source=passage.source,
        pages=pages,
        expected_quote=quote,
        origin="drafted",
        note=rule,
        section=" ".join(passage.heading.split()),
    )


def _heading_question(passage: Passage) -> str:
    heading = " ".join(passage.heading.split())
    if heading.endswith("?") and len(words(heading)) >= 3:
        return heading
    if not 1 <= len(words(heading)) <= 8 or not re.search(r"[A-Za-z]", heading):
        return ""
    subject = heading.rstrip(":.")
    if not subject[:2].isupper():
        subject = subject[0].lower() + subject[1:]
    title = passage.title.strip() or passage.source
    if words(title) == words(heading):
        return f"What is said about {subject}?"
    return f"What does {title} say about {subject}?"


def definition_question(sentence: str) -> str:
    """ "What is X?" for a sentence that defines X; "" for any other sentence."""
    match = _DEFINITION.match(sentence.strip())
    if not match or len(words(sentence)) < 6:
        return ""
    term = match.group("term")
    if term.split()[0].lower() in _PRONOUNS:
        return ""
    term = term[0].lower() + term[1:] if term.split()[0] in ("A", "An", "The") else term
    match match.group("verb"):
        case "means" | "refers to":
            return f"What does {term} mean?"
        case "are":
            return f"What are {term}?"
        case _:
            return f"What is {term}?"


def _sentences(text: str) -> list[str]:
    return [" ".join(text[a:b].split()) for a, b in split_sentences(text)]


def _first_sentences(text: str) -> str:
    """The first sentence(s) of a text, about ``_QUOTE_WORDS`` words at most."""
    kept: list[str] = []
    for sentence in _sentences(text):
        if kept and len(words(" ".join([*kept, sentence]))) > _QUOTE_WORDS:
            break
        kept.append(sentence)
    return " ".join(kept) if len(words(" ".join(kept))) >= 3 else ""
