"""In-domain unanswerables made by removing whole sections from a copy of a corpus.

A question whose section was cut from the indexed copy, and whose answer is found nowhere
else in it, has one right answer: "not found". Such questions sit in the documents' own
domain, wording and layout, unlike questions written to be unanswerable, so they show
whether Docent refuses or quotes the neighbouring section instead.

``remove_sections(source, gold, target)``:

1. **Eligible sections**: the gold questions (``bench.gold``) whose section can be found
   in the corpus's files and holds no sub-section (cutting a parent would cut its
   children's answers too). Then a seeded random draw (``random.Random(seed)``) of
   ``count`` of them (at most ``max_share`` of them), not a hand-picked set.
2. **The cut copy** in ``target``:

   * HTML (``.html``/``.htm``): the heading element and its following siblings up to the
     next heading of the same or a higher level (when that reaches the end of a
     ``<section>``/``<div>`` the heading opens, the whole container goes), and every
     contents-list ``<li>`` whose own link points at the removed anchors, in any page of
     the folder (``#id`` or ``page.html#id``). Cuts are made in the file's text: every
     other byte of every file is the original's. A link to the section in running text
     (not in a list item) is left as it is.
   * Markdown (``.md``): the heading line to the next heading of the same or a higher
     level, and contents-list lines linking to its anchor.
   * PDF: a PDF's bytes cannot reasonably be cut, so a PDF that loses a section is
     written as ``<stem>.txt``: its text as ``pypdf`` extracts it (the pages as
     ``bench.gold`` reads them, separated by a blank line), without the section's lines
     (heading to the next listed heading, keeping each page's running header) and
     without its line in the table of contents. The original PDF is not copied, so an
     index of the cut copy holds that document as plain text without page numbers: ask
     the answerable questions of a text copy too (``pdf_text``) when comparing.
   * Any other file, and every file that loses nothing, is copied as it is.
3. **The check**: the text of every file of the cut copy (HTML as text, PDF and text
   files as read) is read through a 300-character window sliding 100 characters at a
   time, and a removed section is dropped when its answer shares a long run of words with
   any window: the relevance rule of ``rag.metrics`` (``relevant_ids``), the one that
   makes a chunk relevant in the benchmarks and in ``docent eval``. Its sections stay cut
   (the copy is not rewritten); only its question is not returned.
4. What is left are questions whose answer is absent, each with the three windows of the
   cut copy closest to its answer (most shared content words), for a person to read: a
   manual may say the same in other words, and those should be dropped by hand.
   ``tune``/``held_out``: even/odd position in the returned list.

``folder_gold(folder)`` reads sections of any folder of HTML and Markdown files the same
way, for a site's own documents.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from posixpath import basename
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup
from pypdf import PdfReader

from bench.gold import MIN_ANSWER_WORDS, GoldQuestion, html_sections
from rag.metrics import relevant_ids, words

WINDOW = 300
STEP = 100  # a run of up to WINDOW - STEP characters lies wholly inside some window
NEAREST = 3
HTML = (".html", ".htm")
_SECTION_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.)\s+(?=\S)")
_HEADING = re.compile(r"^h([1-6])$")
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
_CONTAINERS = {"section", "div", "article"}
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_MD_CONTENTS = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\[[^\]]*\]\(([^)\s]*)\)\s*$")
# PDF contents lines: "7.31 Why doesn't R think ... . . . 42", chapters ("7 R Miscellanea")
# and appendices ("Appendix A A sample session") too, so a cut stops at a chapter's start.
_PDF_TOC = re.compile(
    r"^((?:Appendix\s+)?(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)*))\s+(.+?)(?:\s*\.)+\s*(\d+)\s*$"
)
_DOTTED = re.compile(r"^\d+(?:\.\d+)+\s")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i if in is it my of on or the to what "
    "when where which who why with you".split()
)


@dataclass(frozen=True)
class Removed:
    """A question whose section was cut and whose answer is found nowhere else.

    Attributes:
        question: The gold question (its source names the original file).
        half: ``tune`` or ``held_out``.
        nearest: The three windows of the cut copy closest to its answer, to read.
    """

    question: GoldQuestion
    half: str
    nearest: tuple[str, ...] = ()


@dataclass
class CutCorpus:
    """A copy of a corpus with sections removed, and what became of each draw.

    Attributes:
        folder: The cut copy.
        removed: The questions whose answer is absent from it ("not found" is right).
        repeated: Drawn and cut, but the answer is still found in the copy (dropped).
        eligible: How many gold questions could be drawn.
        not_found: Gold questions whose section was not found in the files.
        with_subsections: Gold questions left out because their section holds others.
        unchecked: Files of the copy whose text could not be read for the check.
    """

    folder: Path
    removed: list[Removed] = field(default_factory=list)
    repeated: list[GoldQuestion] = field(default_factory=list)
    eligible: int = 0
    not_found: list[GoldQuestion] = field(default_factory=list)
    with_subsections: list[GoldQuestion] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    def half(self, name: str) -> list[GoldQuestion]:
        """The removed questions of one half (``tune`` or ``held_out``)."""
        return [r.question for r in self.removed if r.half == name]


@dataclass(frozen=True)
class _Section:
    """Where one heading's section lies in a file's text."""

    title: str
    start: int
    end: int
    anchors: frozenset[str]
    leaf: bool
    keep: tuple[tuple[int, int], ...] = ()  # parts of [start, end) that stay (PDF headers)


def remove_sections(
    source: Path,
    gold: Sequence[GoldQuestion],
    target: Path,
    count: int = 30,
    seed: int = 38,
    max_share: float = 0.5,
) -> CutCorpus:
    """Cut ``count`` randomly drawn gold sections from a copy of ``source`` (see module).

    Args:
        source: The corpus folder (its files at the top level, as ``GoldQuestion.source``
            names them).
        gold: Its gold questions.
        target: Where the cut copy is written (replaced if it exists).
        count: Sections drawn (fewer when fewer are eligible).
        seed: The draw's seed.
        max_share: At most this share of the eligible sections is drawn, so the copy
            still reads like the corpus (a section's neighbours mostly stay).
    """
    files = sorted(p for p in source.iterdir() if p.is_file())
    located = _locate(files, gold)
    result = CutCorpus(target)
    eligible = []
    for question in gold:
        place = located.get(id(question))
        if place is None:
            result.not_found.append(question)
        elif not place[1].leaf:
            result.with_subsections.append(question)
        else:
            eligible.append(question)
    result.eligible = len(eligible)
    drawn_count = min(count, int(max_share * len(eligible)))
    chosen_ids = {id(q) for q in random.Random(seed).sample(eligible, drawn_count)}
    drawn = [q for q in gold if id(q) in chosen_ids]
    by_file: dict[str, list[_Section]] = {}
    for question in drawn:
        name, section = located[id(question)]
        by_file.setdefault(name, []).append(section)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _write_copy(files, by_file, target)
    texts, result.unchecked = folder_texts(target)
    windows = {
        f"{name}:{i}": text[i : i + WINDOW]
        for name, text in texts.items()
        for i in range(0, max(1, len(text) - WINDOW + STEP), STEP)
    }
    window_words = {wid: words(text) for wid, text in windows.items()}
    absent = []
    for question in drawn:
        if relevant_ids(question.answer, window_words):
            result.repeated.append(question)
        else:
            absent.append(question)
    result.removed = [
        Removed(q, "tune" if n % 2 == 0 else "held_out", nearest(q.answer, windows))
        for n, q in enumerate(absent)
    ]
    return result


def nearest(answer: str, windows: dict[str, str], k: int = NEAREST) -> tuple[str, ...]:
    """The ``k`` windows sharing the most distinct content words with an answer."""
    wanted = {w for w in words(answer) if w not in _STOP and len(w) > 2}
    scored = sorted(
        ((len(wanted & set(words(text))), wid) for wid, text in windows.items()),
        key=lambda pair: -pair[0],
    )
    return tuple(" ".join(windows[wid].split()) for _, wid in scored[:k])


def folder_texts(folder: Path) -> tuple[dict[str, str], list[str]]:
    """The text of every file of a folder (name -> text) and the names it could not read."""
    texts: dict[str, str] = {}
    unread: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        suffix = path.suffix.lower()
        if suffix in HTML:
            soup = BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "lxml")
            texts[path.name] = " ".join(soup.get_text(" ").split())
        elif suffix == ".pdf":
            texts[path.name] = "\n".join(_pdf_pages(path))
        elif suffix in (".txt", ".md", ".rst"):
            texts[path.name] = path.read_text(encoding="utf-8", errors="replace")
        else:
            unread.append(path.name)
    return texts, unread


def folder_gold(
    folder: Path, name: str = "site", body: str = "div.body, main, article"
) -> list[GoldQuestion]:
    """Gold questions of any folder of HTML and Markdown files: each h2-h4 heading (HTML,
    as ``bench.gold.html_sections`` reads them) or ``##``-``####`` heading (Markdown) is a
    question, the text below it to the next heading its answer."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    found = html_sections(name, [p for p in files if p.suffix.lower() in HTML], body)
    for path in files:
        if path.suffix.lower() != ".md":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        heads = [(i, m) for i, line in enumerate(lines) if (m := _MD_HEADING.match(line))]
        for (i, match), following in zip(heads, [*heads[1:], None], strict=True):
            end = following[0] if following else len(lines)
            answer = " ".join(" ".join(lines[i + 1 : end]).split())
            if 2 <= len(match.group(1)) <= 4 and len(words(answer)) >= MIN_ANSWER_WORDS:
                found.append(GoldQuestion(name, path.name, _title(match.group(2)), answer))
    return found


def pdf_text(pdf: Path) -> str:
    """A PDF's whole text as a cut copy writes it (to ask answerable questions alike)."""
    return "\n\n".join(_pdf_pages(pdf))


# Locating sections ------------------------------------------------------------------------


def _locate(files: Sequence[Path], gold: Sequence[GoldQuestion]) -> dict[int, tuple[str, _Section]]:
    """Each gold question's section (by ``id``), matched by file, title and occurrence."""
    sections: dict[str, list[_Section]] = {}
    for path in files:
        suffix = path.suffix.lower()
        if suffix in HTML:
            sections[path.name] = _html_sections(path.read_text(encoding="utf-8"))
        elif suffix == ".md":
            sections[path.name] = _md_sections(path.read_text(encoding="utf-8"))
        elif suffix == ".pdf":
            sections[path.name] = _pdf_sections(_pdf_pages(path))
    located: dict[int, tuple[str, _Section]] = {}
    used: Counter[tuple[str, str]] = Counter()
    for question in gold:
        key = (question.source, question.question)
        same = [s for s in sections.get(question.source, []) if s.title == question.question]
        if used[key] < len(same):
            located[id(question)] = (question.source, same[used[key]])
        used[key] += 1
    return located


def _title(text: str) -> str:
    return _SECTION_NUMBER.sub("", " ".join(text.split()))


# HTML: an element tree with each element's place in the text ------------------------------


@dataclass(eq=False)
class _Node:
    name: str
    attrs: dict[str, str]
    start: int
    end: int = -1
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)

    def walk(self) -> Iterable[_Node]:
        yield self
        for child in self.children:
            yield from child.walk()


class _Tree(HTMLParser):
    """Elements with their [start, end) in the text; an element left open ends where the
    end tag that closes its parent starts (``<li>``, ``<p>`` without end tags)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.lines = [0]
        for match in re.finditer("\n", text):
            self.lines.append(match.end())
        self.root = _Node("#root", {}, 0, len(text))
        self.open: list[_Node] = [self.root]
        self.feed(text)
        self.close()
        for node in self.open[1:]:
            node.end = len(text)

    def _here(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        raw = self.get_starttag_text() or ""
        node = _Node(tag, {k: v or "" for k, v in attrs}, start, parent=self.open[-1])
        self.open[-1].children.append(node)
        if tag in _VOID:
            node.end = start + len(raw)
        else:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._here()
        node = _Node(tag, {k: v or "" for k, v in attrs}, start, parent=self.open[-1])
        node.end = start + len(self.get_starttag_text() or "")
        self.open[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        start = self._here()
        names = [n.name for n in self.open]
        if tag not in names[1:]:
            return
        end = self.text.find(">", start) + 1 or len(self.text)
        while self.open[-1].name != tag:
            self.open.pop().end = start
        self.open.pop().end = end


def _level(node: _Node) -> int:
    match = _HEADING.match(node.name)
    return int(match.group(1)) if match else 0


def _headings_in(node: _Node) -> list[_Node]:
    return [n for n in node.walk() if _level(n)]


def _heading_title(text: str, node: _Node) -> str:
    soup = BeautifulSoup(text[node.start : node.end], "html.parser")
    for element in soup.select("a.headerlink, span.section-number"):
        element.decompose()
    return _title(soup.get_text(" "))


def _html_sections(text: str) -> list[_Section]:
    root = _Tree(text).root
    found = []
    for heading in _headings_in(root):
        level = _level(heading)
        parent = heading.parent or root
        siblings = parent.children
        at = siblings.index(heading)
        last, stopped = heading, False
        for sibling in siblings[at + 1 :]:
            if any(_level(h) <= level for h in _headings_in(sibling)):
                stopped = True
                break
            last = sibling
        cut = range(at, siblings.index(last) + 1)
        start, end = heading.start, last.end
        anchors = {n.attrs["id"] for i in cut for n in siblings[i].walk() if n.attrs.get("id")}
        lead = text[parent.start : heading.start]
        opens = at == 0 and lead[lead.find(">") + 1 :].strip() == ""
        if not stopped and opens and parent.name in _CONTAINERS and parent is not root:
            start, end = parent.start, parent.end
            anchors |= {parent.attrs["id"]} if parent.attrs.get("id") else set()
        inner = [h for i in cut for h in _headings_in(siblings[i]) if h is not heading]
        found.append(
            _Section(_heading_title(text, heading), start, end, frozenset(anchors), not inner)
        )
    return found


def _contents_items(text: str, page: str, targets: set[tuple[str, str]]) -> list[tuple[int, int]]:
    """The ``<li>`` of contents lists whose own (first) link points at a removed anchor."""
    spans = []
    for node in _Tree(text).root.walk():
        if node.name != "li":
            continue
        link = next((n for n in node.walk() if n.name == "a" and "href" in n.attrs), None)
        if link is None:
            continue
        parts = urlsplit(link.attrs["href"])
        if parts.scheme or parts.netloc or not parts.fragment:
            continue
        name = basename(unquote(parts.path)) or page
        if (name, unquote(parts.fragment)) in targets:
            spans.append((node.start, node.end))
    return spans


# Markdown ---------------------------------------------------------------------------------


def _slug(title: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def _md_sections(text: str) -> list[_Section]:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    heads = [
        (i, len(m.group(1)), m.group(2))
        for i, line in enumerate(lines)
        if (m := _MD_HEADING.match(line.rstrip("\n")))
    ]
    found = []
    for n, (i, level, title) in enumerate(heads):
        later = heads[n + 1 :]
        stop = next((j for j, lvl, _ in later if lvl <= level), len(lines))
        leaf = not any(i < j < stop for j, _, _ in later)
        found.append(
            _Section(_title(title), offsets[i], offsets[stop], frozenset({_slug(title)}), leaf)
        )
    return found


def _md_contents(text: str, page: str, targets: set[tuple[str, str]]) -> list[tuple[int, int]]:
    spans, at = [], 0
    for line in text.splitlines(keepends=True):
        match = _MD_CONTENTS.match(line.rstrip("\n"))
        if match:
            parts = urlsplit(match.group(1))
            name = basename(unquote(parts.path)) or page
            if parts.fragment and (name, unquote(parts.fragment)) in targets:
                spans.append((at, at + len(line)))
        at += len(line)
    return spans


# PDF --------------------------------------------------------------------------------------


def _pdf_pages(pdf: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(pdf).pages]


def _numbered(line: str) -> bool:
    return bool(_DOTTED.match(line))


def _pdf_layout(pages: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """The text as written to the ``.txt`` copy, each page's start and its first line's end."""
    starts, header_ends, at = [], [], 0
    for page in pages:
        starts.append(at)
        first = page.find("\n")
        header_ends.append(at + (len(page) if first < 0 else first + 1))
        at += len(page) + 2
    return "\n\n".join(pages), starts, header_ends


def _pdf_sections(pages: Sequence[str]) -> list[_Section]:
    """Sections of a PDF laid out like the R manuals (``bench.gold.r_faq``): listed in the
    table of contents, found in the body by number and first word. Spans are offsets in
    the text of ``_pdf_layout``; each cut keeps the running headers of the pages it
    crosses, and a section's contents lines are cut with it."""
    text, starts, header_ends = _pdf_layout(pages)
    toc_lines: list[list[tuple[int, int, str]]] = []  # per page: (start, end, line) joined
    for n, page in enumerate(pages):
        entries: list[tuple[int, int, str]] = []
        at = starts[n]
        for line in page.splitlines(keepends=True):
            body = line.rstrip("\n")
            wrapped = entries and not re.match(r"^\d+(\.\d+)*\s", body)
            if wrapped and not _PDF_TOC.match(entries[-1][2]):
                s, _, joined = entries[-1]
                entries[-1] = (s, at + len(line), f"{joined} {body}")
                at += len(line)
                continue
            entries.append((at, at + len(line), body))
            at += len(line)
        toc_lines.append([e for e in entries if _PDF_TOC.match(e[2])])
    # Contents pages as bench.gold finds them: five numbered sections ("7.31 ...") or more.
    tocs = [n for n, entries in enumerate(toc_lines) if sum(_numbered(e[2]) for e in entries) >= 5]
    if not tocs:
        return []
    toc_end = max(tocs) + 1
    listed = []
    for entries in toc_lines[:toc_end]:
        for start, end, line in entries:
            match = _PDF_TOC.match(line)
            if match:
                number = match.group(1).split()[-1]
                listed.append((number, match.group(2), (start, end)))
    body_start = starts[toc_end] if toc_end < len(starts) else len(text)
    headers = [(s, e) for s, e in zip(starts, header_ends, strict=True) if s >= body_start]
    located = []
    for number, title, toc_span in listed:
        first = re.escape(title.split()[0])
        pattern = re.compile(rf"(?m)^{re.escape(number)}\s+{first}")
        match = pattern.search(text, body_start)
        while match and any(s <= match.start() < e for s, e in headers):
            match = pattern.search(text, match.end())
        if match:
            located.append((match.start(), number, title, toc_span))
    located.sort()
    found = []
    for n, (start, number, title, toc_span) in enumerate(located):
        level = number.count(".") + 1
        following = located[n + 1] if n + 1 < len(located) else None
        leaf = following is not None and following[1].count(".") + 1 <= level
        end = following[0] if following else len(text)
        keep = tuple((s, e) for s, e in headers if start < s < end)
        found.append(
            _Section(title, start, end, frozenset({f"{toc_span[0]}:{toc_span[1]}"}), leaf, keep)
        )
    return found


def _pdf_cut(pages: Sequence[str], sections: Sequence[_Section]) -> str:
    text, _, _ = _pdf_layout(pages)
    spans: list[tuple[int, int]] = []
    for section in sections:
        at = section.start
        for s, e in section.keep:
            spans.append((at, s))
            at = e
        spans.append((at, section.end))
        for anchor in section.anchors:
            start, end = anchor.split(":")
            spans.append((int(start), int(end)))
    return _cut(text, spans)


# Writing the copy -------------------------------------------------------------------------


def _cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text without the spans (overlapping ones merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > start:
            merged.append([start, end])
    kept, at = [], 0
    for start, end in merged:
        kept.append(text[at:start])
        at = end
    kept.append(text[at:])
    return "".join(kept)


def _write_copy(files: Sequence[Path], by_file: dict[str, list[_Section]], target: Path) -> None:
    targets = {(name, a) for name, sections in by_file.items() for s in sections for a in s.anchors}
    for path in files:
        suffix = path.suffix.lower()
        mine = by_file.get(path.name, [])
        if suffix == ".pdf" and mine:
            cut = _pdf_cut(_pdf_pages(path), mine)
            (target / f"{path.stem}.txt").write_text(cut, encoding="utf-8")
            continue
        if suffix not in (*HTML, ".md") or not (mine or targets):
            shutil.copyfile(path, target / path.name)
            continue
        # surrogateescape: bytes that are not UTF-8 come back out as they were.
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        contents = _contents_items if suffix in HTML else _md_contents
        spans = [(s.start, s.end) for s in mine] + contents(text, path.name, targets)
        out = _cut(text, spans) if spans else text
        (target / path.name).write_bytes(out.encode("utf-8", errors="surrogateescape"))
