"""Plain text, Markdown and reStructuredText loaders, and byte-to-text decoding.

Encodings are detected, not assumed: a byte-order mark wins, then strict UTF-8, then
charset-normalizer. Among equally likely legacy encodings Windows-1252 is preferred, since
in offices it is by far the most common one and charset-normalizer alone often calls
Western text Windows-1250 ("naïve" read as "naďve").

A guess can be wrong (KOI8-R Russian reads as clean Japanese Shift-JIS). When the
detector could not match the reading to a language and Windows-1252 did not settle it,
or the reading still holds stray symbols, the file is indexed as read but its report
says the encoding was guessed and may be wrong, so nobody meets the gibberish unwarned.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from ingest.document import HeadingTrail, LoaderError, ParsedDocument, Section
from ingest.loaders.markdown_hidden import without_hidden_html
from ingest.loaders.text_contents import markdown_contents, rst_contents, text_contents
from ingest.toc import is_contents_title, without_contents

MAX_CONTROL_RATIO = 0.01
"""Decoded text with more control characters than this share is binary, not text."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WESTERN = "cp1252"
_SURE_COHERENCE = 0.1  # below it, the reading matched no language the detector knows
_SURE_CHAOS = 0.05  # above it, the reading holds stray symbols or broken sequences
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n(\1|\.\.\.)[ \t]*(\r?\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title\s*[:=]\s*[\"']?(.+?)[\"']?\s*$", re.M | re.I)
_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")
_MD_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding to text.

    Args:
        data: The raw bytes.

    Returns:
        The text, without a byte-order mark, with newlines normalized to "\\n".

    Raises:
        LoaderError: The bytes are binary (NUL bytes, control characters, undecodable).
    """
    return decode_noted(data)[0]


def decode_noted(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown encoding; the text and a note when the encoding was guessed.

    Raises:
        LoaderError: The bytes are binary (NUL bytes, control characters, undecodable).
    """
    text, unsure = _decode(data)
    if text is None or len(_CONTROL.findall(text)) > MAX_CONTROL_RATIO * max(len(text), 1):
        raise LoaderError(
            "the file is binary, not text; check that it is the document you meant "
            "and that its extension matches its real type"
        )
    note = (
        f"encoding unsure: not UTF-8 and none declared, read as {unsure} by a guess that "
        "may be wrong; check the text, or save the file as UTF-8 and ingest it again"
        if unsure
        else ""
    )
    return text.replace("\r\n", "\n").replace("\r", "\n"), note


def _decode(data: bytes) -> tuple[str | None, str]:
    """Decode by BOM, strict UTF-8 or detection; None when the bytes are not text.

    The second value names the encoding when detection was unsure of it, else "".
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), ""
            except UnicodeDecodeError:
                return None, ""
    if b"\x00" in data:
        return None, ""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    return _detect(data)


def _detect(data: bytes) -> tuple[str | None, str]:
    # Without a BOM, UTF-16/32 text would contain NUL bytes; such guesses are noise here.
    matches = [
        match
        for match in charset_normalizer.from_bytes(data)
        if not match.encoding.startswith(("utf_16", "utf_32"))
    ]
    if not matches:
        return None, ""
    # Language coherence is unreliable on short texts (a French line scores as Baltic
    # cp775), so any Windows-1252 reading as clean as the best one wins.
    cleanest = min(match.chaos for match in matches)
    western = data.decode(_WESTERN, errors="replace")
    for match in matches:
        if match.chaos <= cleanest + 0.01 and (match.encoding == _WESTERN or str(match) == western):
            return western, "Windows-1252" if match.chaos > _SURE_CHAOS else ""
    best = matches[0]
    sure = best.coherence >= _SURE_COHERENCE and best.chaos <= _SURE_CHAOS
    return str(best), "" if sure else best.encoding


def load_text(path: Path) -> ParsedDocument:
    """Read a plain text file as one section titled by the file name.

    A table of contents (dot-leader lines, entries under a "Contents" title) is left out.

    Raises:
        LoaderError: The file is binary.
    """
    decoded, note = decode_noted(path.read_bytes())
    lines = decoded.splitlines()
    contents, entries = text_contents(lines)
    text = _tidy(line for i, line in enumerate(lines) if i not in contents)
    sections = [Section(text=text)] if text else []
    document = ParsedDocument(title=path.stem, sections=sections, notes=[note] if note else [])
    return without_contents(document, entries)


def load_markdown(path: Path) -> ParsedDocument:
    """Read Markdown: ATX and setext headings start sections; front matter is dropped.

    A heading's level is its count of ``#``; a setext heading underlined with ``=`` is
    level 1, with ``-`` level 2.

    Fenced code is kept as text and never read as headings. HTML a reader never sees
    (comments, hidden elements, scripts and styles) is left out, and the report counts
    it. A table of contents (a list
    of links to the page's anchors or under a "Contents" title) is left out. The title is
    the front matter's `title`, else the first heading, else the file name.

    Raises:
        LoaderError: The file is binary.
    """
    text, note = decode_noted(path.read_bytes())
    front = _FRONT_MATTER.match(text)
    front_title = _FRONT_TITLE.search(front.group(2)) if front else None
    scanner = _Scanner(underline=_MD_UNDERLINE, adornments=[("=", False), ("-", False)])
    lines, hidden = _seen_lines(text[front.end() if front else 0 :].splitlines())
    kinds = _fenced(lines)
    contents, entries = markdown_contents(lines, [kind == "text" for kind in kinds])
    for index, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        if index in contents or kind == "fence":
            continue
        if kind == "code":
            scanner.add_code(line)
        elif atx := _ATX.match(line):
            scanner.start(atx.group(2) or "", len(atx.group(1)))
        else:
            scanner.add(line)
    title = front_title.group(1) if front_title else ""
    document = scanner.document(title or scanner.first_heading() or path.stem, note)
    if hidden:
        document.notes.insert(0, f"{hidden} piece{'s' * (hidden > 1)} of hidden text left out")
    return without_contents(document, entries)


def _seen_lines(lines: list[str]) -> tuple[list[str], int]:
    """The lines without hidden HTML (fenced code left alone), and how many pieces went."""
    seen: list[str] = []
    hidden = 0
    run: list[str] = []
    for line, kind in zip([*lines, ""], [*_fenced(lines), "fence"], strict=True):
        if kind == "text":
            run.append(line)
            continue
        text, dropped = without_hidden_html("\n".join(run))
        seen += text.split("\n") if run else []
        hidden += dropped
        run = []
        seen.append(line)
    return seen[:-1], hidden


def _fenced(lines: list[str]) -> list[str]:
    """Each line's kind: "fence" (opens or closes a code block), "code" or "text"."""
    kinds: list[str] = []
    in_fence = ""
    for line in lines:
        fence = _FENCE.match(line)
        if in_fence:
            if fence and fence.group(1)[0] == in_fence[0] and len(fence.group(1)) >= len(in_fence):
                in_fence = ""
                kinds.append("fence")
            else:
                kinds.append("code")
        elif fence:
            in_fence = fence.group(1)
            kinds.append("fence")
        else:
            kinds.append("text")
    return kinds


def load_rst(path: Path) -> ParsedDocument:
    """Read reStructuredText: underlined (and overlined) titles start sections.

    As in docutils, a title's level is the order in which its adornment style (the
    character, and whether it is overlined too) first appears in the file.

    The ``toctree`` and ``contents`` directives are left out with their entries.

    Raises:
        LoaderError: The file is binary.
    """
    scanner = _Scanner(underline=_RST_ADORNMENT, drop_bare_underlines=True)
    text, note = decode_noted(path.read_bytes())
    lines = text.splitlines()
    contents, entries = rst_contents(lines)
    for index, line in enumerate(lines):
        if index not in contents:
            scanner.add(line)
    document = scanner.document(scanner.first_heading() or path.stem, note)
    return without_contents(document, entries)


@dataclass
class _Scanner:
    """Collects lines into sections; a text line followed by an underline is a heading.

    ``adornments`` are the underline styles (character, overlined too) met so far, in
    order: a style's level is its place in the list plus one.
    """

    underline: re.Pattern[str]
    drop_bare_underlines: bool = False
    adornments: list[tuple[str, bool]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    trail: HeadingTrail = field(default_factory=HeadingTrail)
    lines: list[str] = field(default_factory=list)
    paragraph_start: int = 0
    overline: tuple[str, int] = ("", -1)  # the last bare underline dropped, and where

    def add(self, line: str) -> None:
        """Add a text line, turning the paragraph above an underline into a heading."""
        if self.underline.match(line):
            paragraph = self.lines[self.paragraph_start :]
            if paragraph and not paragraph[-1].startswith((" ", "\t")):
                del self.lines[self.paragraph_start :]
                style = (line.strip()[0], self.overline == (line.strip()[0], self.paragraph_start))
                if style not in self.adornments:
                    self.adornments.append(style)
                self.start(
                    " ".join(part.strip() for part in paragraph), self.adornments.index(style) + 1
                )
                return
            if self.drop_bare_underlines:
                self.overline = (line.strip()[0], len(self.lines))
                return  # an overline or a transition: decoration, not text
        if not line.strip():
            self.paragraph_start = len(self.lines) + 1
        self.lines.append(line)

    def add_code(self, line: str) -> None:
        """Add a line of a code block: kept as it is, never part of a heading."""
        self.lines.append(line)
        self.paragraph_start = len(self.lines)

    def start(self, heading: str, level: int) -> None:
        """Close the current section and start one under `heading`, at `level`."""
        self._flush()
        self.trail.open(level, heading.strip())
        self.headings.append(self.trail.heading)

    def first_heading(self) -> str:
        """The first heading seen that names the document (not "Contents"), or ""."""
        named = (heading for heading in self.headings if heading)
        return next((heading for heading in named if not is_contents_title(heading)), "")

    def document(self, title: str, note: str = "") -> ParsedDocument:
        """The parsed document so far, under `title`, with a note for the report."""
        self._flush()
        return ParsedDocument(title=title, sections=self.sections, notes=[note] if note else [])

    def _flush(self) -> None:
        text = _tidy(self.lines)
        if text:
            self.sections.append(self.trail.section(text))
        self.lines.clear()
        self.paragraph_start = 0


def _tidy(lines: Iterable[str]) -> str:
    """Strip line ends and outer blank lines; collapse runs of blank lines into one."""
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
