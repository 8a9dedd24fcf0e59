"""What was checked about an answer, in words a reader can take at face value.

An answer of quotes is the documents' own text: what is true of it is where it stands
("Quoted from ward-policy.pdf, page 3"), not that it is right or that it answers the
question, so no face calls it "verified". That word is kept for a model's sentence
checked against the quote it cites. The UI's banner and the CLI say the same words.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ingest.report import shown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rag.answer import Answer
    from rag.citations import Citation

# Documents named in one line; the rest are counted.
NAMED = 3


def pages(numbers: Sequence[int]) -> str:
    """Pages compactly: "page 3", "pages 3 and 5", "pages 2-4 and 7" ("" for none)."""
    runs: list[list[int]] = []
    for page in sorted({n for n in numbers if n > 0}):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    if not runs:
        return ""
    shown_runs = [f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs]
    noun = "page" if len(shown_runs) == 1 and len(runs[0]) == 1 else "pages"
    if len(shown_runs) == 1:
        return f"{noun} {shown_runs[0]}"
    return f"{noun} {', '.join(shown_runs[:-1])} and {shown_runs[-1]}"


def places(citations: Sequence[Citation]) -> str:
    """Where citations stand: each document's file name with its pages (a spreadsheet's
    cells), in cited order.

    "ward-policy.pdf, page 3"; "ward-policy.pdf, pages 3 and 5; rota.docx";
    "rota.xlsx, Rota!A12:D12"; past ``NAMED`` documents the others are counted ("and 2
    other documents").
    """
    by_source: dict[str, list[Citation]] = {}
    for citation in citations:
        by_source.setdefault(citation.source, []).append(citation)
    named = [
        ", ".join(x for x in (shown(PurePosixPath(source).name or source), _within(cited)) if x)
        for source, cited in list(by_source.items())[:NAMED]
    ]
    others = len(by_source) - len(named)
    if others:
        named.append(f"and {others} other document{'s' if others > 1 else ''}")
    return "; ".join(named)


def _within(cited: Sequence[Citation]) -> str:
    """Where in one document: its cell ranges when every citation has one, else pages."""
    if all(c.cells for c in cited):
        return shown(", ".join(dict.fromkeys(c.cells for c in cited)))
    return pages([c.page for c in cited])


def as_units(answer: Answer) -> bool:
    """Whether an answer is shown as its units (the documents' text, a lead above them),
    not as a model's text (``made_by`` model with no lead: answers saved by earlier
    versions, whose units are the model's checked sentences)."""
    return answer.status == "answered" and (answer.made_by == "quotes" or bool(answer.lead))


def provenance(answer: Answer) -> str:
    """What is true of an answered answer's text: where it is quoted from, what was verified.

    Returns "" for an answer that is unverified or not found (their own words say why).
    """
    if answer.status != "answered":
        return ""
    lead = answer.lead
    if answer.made_by == "model" and not lead:  # an earlier version's checked sentences
        return f"Each sentence verified against the quote it cites: {places(answer.citations)}."
    cited = [s.citation for s in answer.sentences] or answer.citations
    said = f"Quoted from {places(cited)}."
    if lead:
        quote = "quote" if len(cited) == 1 else "quotes"
        return f"{said} The model's answer above is verified against the {quote}."
    if answer.fallback:
        return f"{said} The model's answer is not shown: {answer.fallback}."
    return said
