"""Gold questions and answers from real FAQs and manuals, and what counts as a hit.

* Python FAQ (``python3.11-doc``, ``faq/*.html``): every h2-h4 heading of a page's body
  is a question; its answer is the text below it up to the next heading. Other HTML
  manuals are read the same way (``html_sections``; ``bench.answer_corpora``).
* R FAQ (``r-doc-pdf``, ``R-FAQ.pdf``, read with pypdf): the numbered sections listed in
  the table of contents (``7.31 Why doesn't R think these numbers are equal?``) are the
  questions; each answer is the body text from its heading to the next listed heading.

* R manual "An Introduction to R" (``R-intro.pdf``): its numbered sections, read the same
  way as the R FAQ; a section's heading is the question.

Questions whose answer has fewer than ``MIN_ANSWER_WORDS`` words are left out (category
headings such as "General Questions" have none).

A retrieved chunk is **relevant** to a question when it shares a long run of words with
the gold answer: the rule of ``rag.metrics`` (``relevant_ids``), which ``docent eval``
applies too, so the benchmarks and a site's own evaluation count alike.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, Tag
from pypdf import PdfReader

from rag import metrics
from rag.metrics import words

PYTHON_FAQ = Path("/usr/share/doc/python3.11/html/faq")
R_FAQ = Path("/usr/share/R/doc/manual/R-FAQ.pdf")
R_INTRO = Path("/usr/share/R/doc/manual/R-intro.pdf")
# A quote holds the gold answer when they share a run of this many words (or the quote's
# whole length, if shorter than the question's own run and at least QUOTE_RUN_FLOOR).
QUOTE_RUN_FLOOR = 8
MIN_ANSWER_WORDS = 10
_HEADINGS = ("h2", "h3", "h4")
_SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.)\s+(?=\S)")
_TOC_ENTRY = re.compile(r"^(\d+(?:\.\d+)+)\s+(.+?)(?:\s*\.)+\s*(\d+)\s*$")


@dataclass(frozen=True)
class GoldQuestion:
    """One FAQ entry.

    Attributes:
        faq: ``python`` or ``r``.
        source: The file it comes from, relative to the ingested folder.
        question: The heading text, used as the query.
        answer: The answer text below the heading.
    """

    faq: str
    source: str
    question: str
    answer: str

    def min_run(self) -> int:
        """Consecutive shared words that make a chunk relevant to this question."""
        return metrics.min_run(self.answer)


def relevant_chunks(question: GoldQuestion, chunks: Mapping[str, list[str]]) -> set[str]:
    """Ids of the chunks (id -> words) relevant to a question."""
    return metrics.relevant_ids(question.answer, chunks)


def python_faq(folder: Path = PYTHON_FAQ, faq: str = "python") -> list[GoldQuestion]:
    """Questions and answers of the Python FAQ pages."""
    return html_sections(faq, sorted(folder.glob("*.html")))


def html_sections(
    faq: str, pages: Iterable[Path], body: str = "div.body", junk: str = ""
) -> list[GoldQuestion]:
    """Every h2-h4 heading of each page's ``body`` as a question, the text below it (to
    the next heading) as its answer; ``junk`` selects more to leave out than Sphinx's
    header links, navigation and contents. A heading's section number is left out of the
    question ("9.2.2. UID and GID classes" asks "UID and GID classes")."""
    found: list[GoldQuestion] = []
    for page in pages:
        with warnings.catch_warnings():  # XHTML (DocBook's) read as HTML, as browsers do
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
        main = soup.select_one(body) or soup
        dropped = "a.headerlink, nav, div.contents, div.toctree-wrapper, span.section-number"
        for element in main.select(f"{dropped}, {junk}" if junk else dropped):
            element.decompose()
        sections = [(_SECTION_NUMBER.sub("", q), a) for q, a in _sections(main)]
        found.extend(_entries(faq, page.name, sections))
    return found


def _sections(body: Tag) -> list[tuple[str, str]]:
    """(heading, text below it) for every h2-h4 heading, in document order."""
    sections: list[tuple[str, list[str]]] = []
    for text in body.find_all(string=True):
        if not isinstance(text, NavigableString):
            continue
        heading = text.find_parent(["h1", *_HEADINGS])
        if heading is not None and heading.name in _HEADINGS:
            title = " ".join(heading.get_text(" ").split())
            if not sections or sections[-1][0] != title or sections[-1][1]:
                sections.append((title, []))
        elif heading is None and sections:
            sections[-1][1].append(str(text))
    return [(title, " ".join("".join(parts).split())) for title, parts in sections]


def _entries(faq: str, source: str, sections: Iterable[tuple[str, str]]) -> list[GoldQuestion]:
    return [
        GoldQuestion(faq, source, question, answer)
        for question, answer in sections
        if len(words(answer)) >= MIN_ANSWER_WORDS
    ]


def holds(quotes: Iterable[str], question: GoldQuestion) -> bool:
    """Whether any quote holds the gold answer (``rag.metrics.quote_holds``)."""
    return metrics.quote_holds(list(quotes), question.answer, QUOTE_RUN_FLOOR)


def r_intro(pdf: Path = R_INTRO) -> list[GoldQuestion]:
    """Questions from the section headings of the R manual "An Introduction to R"."""
    return [GoldQuestion("manual", pdf.name, q.question, q.answer) for q in r_faq(pdf)]


def r_faq(pdf: Path = R_FAQ) -> list[GoldQuestion]:
    """Questions and answers of the R FAQ (or of another R manual laid out the same way)."""
    pages = [page.extract_text() or "" for page in PdfReader(pdf).pages]
    entries_per_page = [
        [m.group(1, 2) for m in map(_TOC_ENTRY.match, _toc_lines(text)) if m] for text in pages
    ]
    toc_end = max(i for i, entries in enumerate(entries_per_page) if len(entries) >= 5) + 1
    toc = [entry for entries in entries_per_page[:toc_end] for entry in entries]
    # Body lines without each page's running header ("Chapter 7: R Miscellanea 37").
    lines = [line for text in pages[toc_end:] for line in text.splitlines()[1:]]
    body = "\n".join(lines)
    starts = [_heading_at(body, number, title) for number, title in toc]
    located = [(s, t) for s, t in zip(starts, toc, strict=True) if s is not None]
    entries = []
    for (start, (_, title)), following in zip(located, [*located[1:], None], strict=True):
        end = following[0] if following else len(body)
        text = body[start:end]
        answer = text.split("\n", 1)[1] if "\n" in text else ""
        entries.append((title, _skip_title(answer, title)))
    return _entries("r", pdf.name, [(title, " ".join(answer.split())) for title, answer in entries])


def _toc_lines(page: str) -> list[str]:
    """TOC lines, an entry wrapped over two lines joined into one."""
    joined: list[str] = []
    for line in page.splitlines():
        if joined and not re.match(r"^\d+(\.\d+)*\s", line) and not _TOC_ENTRY.match(joined[-1]):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined


def _heading_at(body: str, number: str, title: str) -> int | None:
    first = re.escape(title.split()[0])
    match = re.search(rf"(?m)^{re.escape(number)}\s+{first}", body)
    return match.start() if match else None


def _skip_title(answer: str, title: str) -> str:
    """Drop the rest of a heading that wrapped onto the answer's first lines."""
    heading_words, kept = words(title), answer
    first_line = answer.split("\n", 1)[0]
    if words(first_line) and set(words(first_line)) <= set(heading_words):
        kept = answer.split("\n", 1)[1] if "\n" in answer else ""
    return kept
