"""The numbered sources the model reads: retrieved passages merged, ordered and budgeted.

Passages of the same document and page that are neighbours (adjacent positions or
overlapping character spans) become one source, so the model reads a passage once and
in one piece. The merged text is rebuilt from the chunks' character spans: an overlap is
written once, and the whitespace between two chunks is kept at its length, so that
``source.char_start + i`` is the document offset of ``source.text[i]`` (citations quote
by offset). Sources keep the relevance order of their best passage and are numbered from
1; the list stops before the token budget would be exceeded. Only a first source that
alone exceeds the budget is cut, at the last sentence end that fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.retrieve import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD_END = re.compile(r"\s+")


@dataclass(frozen=True)
class Source:
    """One numbered source shown to the model.

    Attributes:
        number: 1-based number the answer cites.
        passages: The merged passages, in document order.
        text: Their text, overlaps written once.
        source: Source path of the document.
        title: Document title.
        page: 1-based page, 0 for formats without pages.
        char_start: Document offset of ``text[0]``.
        char_end: Document offset just after the text.
    """

    number: int
    passages: list[Passage]
    text: str
    source: str
    title: str
    page: int
    char_start: int
    char_end: int


def build_context(
    passages: Sequence[Passage], budget_tokens: int, count_tokens: Callable[[str], int]
) -> list[Source]:
    """Merge neighbouring passages into numbered sources that fit a token budget.

    Args:
        passages: Retrieved passages, most relevant first.
        budget_tokens: Most tokens the sources' texts may take together.
        count_tokens: The chat model's token counter.

    Returns:
        Sources in relevance order, numbered 1..n.
    """
    sources: list[Source] = []
    used = 0
    for group in _neighbourhoods(passages):
        text = _joined(group)
        cost = count_tokens(text)
        if used + cost > budget_tokens:
            if not sources:
                text = _truncated(text, budget_tokens, count_tokens)
                if text:
                    sources.append(_source(1, group, text))
            break
        sources.append(_source(len(sources) + 1, group, text))
        used += cost
    return sources


def _neighbours(a: Passage, b: Passage) -> bool:
    if (a.doc_id, a.page) != (b.doc_id, b.page):
        return False
    overlapping = a.char_start < b.char_end and b.char_start < a.char_end
    return abs(a.position - b.position) == 1 or overlapping


def _neighbourhoods(passages: Sequence[Passage]) -> list[list[Passage]]:
    """Groups of transitively neighbouring passages, by their best member's rank."""
    groups: list[list[Passage]] = []
    for passage in passages:
        touching = [g for g in groups if any(_neighbours(passage, p) for p in g)]
        merged = [passage] + [p for g in touching for p in g]
        # The merged group takes the place of the most relevant group it joins.
        at = groups.index(touching[0]) if touching else len(groups)
        groups = [g for g in groups if not any(g is t for t in touching)]
        groups.insert(min(at, len(groups)), merged)
    return [sorted(group, key=lambda p: (p.char_start, p.char_end)) for group in groups]


def _joined(group: list[Passage]) -> str:
    """The group's text from its spans: overlaps once, gaps kept as whitespace."""
    parts = [group[0].text]
    end = group[0].char_end
    for passage in group[1:]:
        if passage.char_end <= end:
            continue
        if passage.char_start >= end:
            gap = passage.char_start - end
            parts.append(" " * gap if gap < 2 else "\n\n" + " " * (gap - 2))
            parts.append(passage.text)
        else:
            parts.append(passage.text[end - passage.char_start :])
        end = passage.char_end
    return "".join(parts)


def _truncated(text: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """The longest prefix ending at a sentence end (else a word end) within the budget."""
    for boundary in (_SENTENCE_END, _WORD_END):
        best = 0
        for match in boundary.finditer(text):
            if count_tokens(text[: match.start()]) > budget:
                break
            best = match.start()
        if best:
            return text[:best]
    return ""


def _source(number: int, group: list[Passage], text: str) -> Source:
    first = group[0]
    return Source(
        number=number,
        passages=group,
        text=text,
        source=first.source,
        title=first.title,
        page=first.page,
        char_start=first.char_start,
        char_end=first.char_start + len(text),
    )
