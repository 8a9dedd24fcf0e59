"""A document's lines as they are laid out, and how an answer unit is shown.

Loaders write structure into a document's text as lines (``ingest.loaders``): list items
after a marker ("- ", "1. "), table rows with cells joined by " | ", preformatted blocks
(commands, code) as their own paragraphs. ``kind`` tells a line's part in that layout;
``debris`` tells layout that is not content (a running header, a page number, a table's
flattened fragments).

``markdown`` shows a unit as Markdown that any renderer shows safely: lists stay lists,
commands and code are fenced, table rows keep their header as a Markdown table, a URL is
shown as code (plain text, never a link), and everything else that Markdown or HTML
would act on is backslash-escaped, so ``<name>_<version>.deb`` reads as written. No
link, image, HTML tag or autolink can come out of a document's text.
"""

from __future__ import annotations

import re

from rag.markup import visible
from rag.sentences import word_count

ELLIPSIS = "..."

LIST_ITEM = re.compile(r"^\s*(?:[-*•‣◦▪–]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+\S")
_PROMPT = re.compile(r"^\s*(?:\$|#|>>>|%)\s+\S")
_TABLE_ROW = re.compile(r"\S\s\|\s\S|^\s*\|.*\|\s*$")
CODE_LINE = re.compile(
    r"^(?:\s{2,}\S|\s*(?:\$|#|>>>|\.\.\.|%|>)\s|\s*[\w./-]+(?:\s+-{1,2}[\w-]+)+)"
    r"|[{};]\s*$|^\s*[\w.]+(?:\s*=|\()"
)
_URL = re.compile(r"(?:[A-Za-z][\w+.-]{1,31}://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]]")
_ESCAPED = re.compile(r"([\\`*_\[\]<>!|#&~$])")
# "[7]" inside a document's sentence would read as one of the answer's own citations.
_MARKS = re.compile(r"(?<![\w)\]])\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_RUNNING_HEADER = re.compile(r"^(?:chapter|appendix|section|part)\s+[\dIVXA-Z]+\b", re.I)
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?[\divxlc]{1,5}(?:\s+of\s+\d+)?\s*$", re.IGNORECASE)


def kind(line: str) -> str:
    """``blank``, ``item`` (a list item), ``code`` (a command after its prompt), ``row``
    (a table row) or ``text``."""
    if not line.strip():
        return "blank"
    if _PROMPT.match(line):
        return "code"
    if LIST_ITEM.match(line):
        return "item"
    if _TABLE_ROW.search(line):
        return "row"
    return "text"


def debris(text: str) -> bool:
    """Whether a sentence is layout, not content: a running header, a page number,
    table debris ("| ... :: ..."), or a line mostly in capitals."""
    flat = " ".join(text.split())
    if not flat or _PAGE_NUMBER.match(flat):
        return True
    letters = [c for c in flat if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        return True
    if _RUNNING_HEADER.match(flat) and flat.isupper():
        return True
    if _cells(flat):
        return False
    symbols = sum(c in "|:;=_" for c in flat)
    return symbols >= 4 and symbols > 0.08 * len(flat) and word_count(flat) < 4 * symbols


def _cells(flat: str) -> bool:
    """A table row a loader wrote ("Ward 4 | Tuesday | Night | Bea Jones | 2231"): cells
    between single bars, each holding a word or number, and no other punctuation of
    flattened layout (the "::" and ":;" of a PDF's table drawn as text)."""
    if "|" not in flat or sum(c in ":;=_" for c in flat) > 1:
        return False
    cells = flat.strip().strip("|").split("|")
    return len(cells) >= 2 and all(any(c.isalnum() for c in cell) for cell in cells)


def markdown(unit: str, cut: bool = False) -> str:
    """A unit as safe Markdown with its structure: lists, code, tables, paragraphs."""
    blocks: list[str] = []
    for block in _blocks(unit):
        kinds = {kind(line) for line in block}
        if kinds == {"row"} and len(block) > 1:
            blocks.append(table(block))
        elif "item" in kinds and kind(block[0]) == "item":
            blocks.append(_list(block))
        elif _coded(block):
            blocks.append(_fenced(block))
        else:
            blocks.append(inline(" ".join(line.strip() for line in block if not _skipped(line))))
    shown = "\n\n".join(b for b in blocks if b.strip())
    return f"{shown} {ELLIPSIS}" if cut else shown


def _blocks(unit: str) -> list[list[str]]:
    """The unit's lines in blocks of one kind: paragraphs, lists, tables, code.

    A list's items may stand apart (a blank line between), and an item's wrapped or
    indented lines stay with it; a paragraph after a blank line ends the list.
    """
    blocks: list[list[str]] = []
    current: list[str] = []
    current_kind, gap = "", False
    for line in visible(unit).split("\n"):
        this = kind(line)
        if this == "blank":
            gap = True
            continue
        indented = line[:1] in (" ", "\t")
        if current_kind == "item" and this == "text":
            joins = indented or (not gap and _wraps(current[-1]))
        else:
            joins = this == current_kind and (not gap or this == "item")
        if current and not joins:
            blocks.append(current)
            current, current_kind = [], ""
        current.append(line)
        current_kind, gap = current_kind or this, False
    if current:
        blocks.append(current)
    return blocks


def _wraps(line: str) -> bool:
    return not line.rstrip().endswith((".", ":", "!", "?"))


def _coded(block: list[str]) -> bool:
    """Whether a block is code or commands, not prose that happens to open with a call
    ("join() is a string method because ...")."""
    if any(_prose(line) for line in block):
        return False
    return all(CODE_LINE.search(line) for line in block) or _is_code(block)


def _prose(line: str) -> bool:
    """A line of prose: a sentence of words, or words with few code characters among them."""
    words = re.findall(r"[A-Za-z]{2,}", line)
    symbols = sum(c in "{}[]();=<>$#|\\" for c in line)
    return (len(words) >= 8 and symbols <= len(words) // 3) or (
        len(words) >= 4 and line.rstrip().endswith((".", "?", "!")) and symbols <= 2
    )


def _is_code(block: list[str]) -> bool:
    coded = sum(bool(CODE_LINE.search(line)) for line in block)
    return coded >= max(1, len(block) // 2) and not block[0].rstrip().endswith(".")


def _skipped(line: str) -> bool:
    return debris(line) and word_count(line) < 12


def inline(text: str) -> str:
    """Prose as Markdown that renders as written: URLs as code, the rest escaped.

    A bracketed number ("[7]") is shown as "(7)": it would read as one of the answer's
    own citations. A URL a PDF's extraction spaced out ("https : //cran.r-project. org/")
    is shown joined (the citation keeps the verbatim text).
    """
    text = _rejoined_urls(_MARKS.sub(r"(\1)", text))
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts.append(_ESCAPED.sub(r"\\\1", text[last : match.start()]))
        parts.append(code_span(match.group()))
        last = match.end()
    parts.append(_ESCAPED.sub(r"\\\1", text[last:]))
    return "".join(parts)


_SPACED_SCHEME = re.compile(r"\b(https?|ftp)\s+:\s*//|\b(https?|ftp):\s+//", re.IGNORECASE)
_SPACED_DOT = re.compile(r"((?:https?|ftp)://\S*?|\bwww\.\S*?)\s*\.\s+([a-z]{2,6})(?=[/\s),.;:]|$)")


def _rejoined_urls(text: str) -> str:
    """URLs whose scheme or last dot a PDF's extraction spaced out, joined again."""
    text = _SPACED_SCHEME.sub(lambda m: f"{m.group(1) or m.group(2)}://", text)
    for _ in range(4):
        joined = _SPACED_DOT.sub(r"\1.\2", text)
        if joined == text:
            break
        text = joined
    return text


def code_span(text: str) -> str:
    """Text as an inline code span, whatever backticks it holds."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _list(block: list[str]) -> str:
    items: list[str] = []
    for line in block:
        if kind(line) == "item":
            marker = LIST_ITEM.match(line)
            assert marker is not None
            head = line[: marker.end() - 1].strip()
            shown = head if re.fullmatch(r"\d{1,2}\.", head) else "-"
            items.append(f"{shown} {inline(line[marker.end() - 1 :].strip())}")
        elif items:
            items[-1] += " " + inline(line.strip())
    return "\n".join(items)


def table(block: list[str]) -> str:
    """Table rows (cells joined by " | ") as a Markdown table, the first row its header."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in block]
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    shown = ["| " + " | ".join(inline(cell) for cell in row) + " |" for row in rows]
    return "\n".join([shown[0], "|" + " --- |" * width, *shown[1:]])


def _fenced(block: list[str]) -> str:
    body = "\n".join(block)
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence}\n{body}\n{fence}"
