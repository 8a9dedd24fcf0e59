"""Word (.docx) loader: paragraphs and tables in document order, headings from styles.

The archive is checked before python-docx opens it: a .docx is a ZIP, and a small ZIP can
inflate to gigabytes. Python's zipfile never inflates an entry past the size its central
directory declares, so checking the declared sizes is enough to bound what parsing reads.

Runs a reader cannot see (Word's hidden attributes ``w:vanish``, ``w:webHidden`` and
``w:specVanish``, directly or through a character or paragraph style; text coloured like
the shading, highlight or white page it stands on; type under 2.5 pt) are left out, so
they cannot carry instructions to the model, and the report counts them.

Tables of contents and indexes are left out too: paragraphs in Word's "TOC n", "Index n"
or "Table of Figures" styles, inside a TOC or INDEX field or a "Table of Contents" content
control, and lines ending in page numbers under a "Contents" heading.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.document import Document
from docx.styles.style import CharacterStyle
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.document import HeadingTrail, LoaderError, ParsedDocument, Section
from ingest.toc import is_contents_text, is_contents_title, is_entry, without_contents

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
"""Refuse archives whose entries add up to more than this when inflated."""

MAX_COMPRESSION_RATIO = 100
"""Refuse large entries that inflate more than this many times (Word XML is ~10:1)."""

LARGE_ENTRY_BYTES = 10 * 1024 * 1024
"""Entries smaller than this are not ratio-checked: tiny files can have any ratio."""

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NS = {"w": _W, "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006"}
_P, _TBL, _SDT = f"{{{_W}}}p", f"{{{_W}}}tbl", f"{{{_W}}}sdt"
# Runs anywhere in a paragraph (also inside hyperlinks, tracked insertions and content
# controls), skipping the fallback copy Word writes next to text boxes.
_RUNS = etree.XPath(".//w:r[not(ancestor::mc:Fallback)]", namespaces=_NS)
_RUN_TEXT = {f"{{{_W}}}{name}": name for name in ("t", "tab", "br", "cr")}
_W_VAL = f"{{{_W}}}val"
_OFF = {"0", "false", "off"}
_CLOSE = 0x18  # text within this of its ground, channel by channel, cannot be read
# Hidden in every view (vanish), in web layout (webHidden) or as a style separator.
_HIDING_PROPERTIES = ("w:vanish", "w:webHidden", "w:specVanish")
# Word's highlight colours (ST_HighlightColor) as RRGGBB.
_HIGHLIGHTS = {
    "black": "000000", "blue": "0000ff", "cyan": "00ffff", "green": "00ff00",
    "magenta": "ff00ff", "red": "ff0000", "yellow": "ffff00", "white": "ffffff",
    "darkBlue": "000080", "darkCyan": "008080", "darkGreen": "008000",
    "darkMagenta": "800080", "darkRed": "800000", "darkYellow": "808000",
    "darkGray": "808080", "lightGray": "c0c0c0",
}  # fmt: skip
MIN_HALF_POINTS = 5
"""Runs set smaller than this (w:sz counts half-points: 4 is 2 pt) cannot be read; HTML
and PDF draw the line at 2.25 pt too."""
_NUMBERING = etree.XPath("./w:pPr/w:numPr", namespaces=_NS)
_HEADING_STYLE = re.compile(r"^(?:heading ([1-9])|title)$", re.IGNORECASE)
_CONTENTS_STYLE = re.compile(
    r"^(toc [1-9]|toc heading|index [1-9]|index heading|table of figures)$", re.IGNORECASE
)
_CONTENTS_FIELD = re.compile(r"^\s*(TOC|INDEX)\b")
_FIELD_PARTS = etree.XPath(".//w:fldChar | .//w:instrText | .//w:fldSimple", namespaces=_NS)
_GALLERY = etree.XPath("./w:sdtPr/w:docPartObj/w:docPartGallery/@w:val", namespaces=_NS)
_FLD_CHAR, _FLD_SIMPLE = f"{{{_W}}}fldChar", f"{{{_W}}}fldSimple"


def load_docx(path: Path) -> ParsedDocument:
    """Read a Word document into sections, one per heading, with tables as text rows.

    Args:
        path: The .docx file.

    Returns:
        The parsed document; sections have page 0 (Word files have no fixed pages).

    Raises:
        LoaderError: The file is not a Word document, is damaged, or looks like a zip bomb.
    """
    check_archive(path)
    try:
        document = docx.Document(str(path))
    except (OSError, MemoryError):
        raise
    # python-docx raises KeyError, ValueError, XMLSyntaxError... on broken packages.
    except Exception as exc:
        raise LoaderError(
            f"the Word file is damaged or not a .docx: {exc or type(exc).__name__}; "
            "open it in Word or LibreOffice and save it again as .docx"
        ) from exc
    hidden = _Hidden(_hidden_styles(document))
    contents = _Contents()
    sections, headings = _read_body(document, hidden, contents)
    core_title = " ".join((document.core_properties.title or "").split())
    named = (heading for heading in headings if not is_contents_title(heading))
    title = core_title or next(named, "") or path.stem
    notes = []
    if hidden.dropped:
        notes.append(
            f"{hidden.dropped} piece{'s' * (hidden.dropped > 1)} of hidden text left out "
            "(hidden, coloured like its ground or under 2.5 pt)"
        )
    parsed = ParsedDocument(title=title, sections=sections, notes=notes)
    return without_contents(parsed, contents.entries)


def check_archive(path: Path) -> None:
    """Refuse a file that is not a ZIP, is not a Word package, or would inflate too far.

    Only the central directory is read; nothing is decompressed.

    Raises:
        LoaderError: With the reason and what to do about it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise LoaderError(
            f"the .docx file is not a valid ZIP package ({exc}); it is damaged or not a Word "
            "file: open it in Word or LibreOffice and save it again as .docx"
        ) from exc
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LoaderError(
            f"the .docx inflates to {total // 2**20} MiB (limit "
            f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB); it looks like a zip bomb and was not opened"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > LARGE_ENTRY_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise LoaderError(
                f"the .docx entry {entry.filename} inflates {ratio:.0f} times; it looks like a "
                "zip bomb and was not opened"
            )
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise LoaderError(
            "the file is a ZIP but not a Word document (no word/document.xml); "
            "give it the extension of its real type, or save it from Word as .docx"
        )


@dataclass
class _Hidden:
    """Which runs are invisible, and how many with text were left out."""

    styles: set[str] = field(default_factory=set)  # ids of character styles that hide text
    dropped: int = 0

    def hides(self, run: etree._Element, paragraph_fill: str = "") -> bool:
        """Whether a run is invisible: hidden, under 1 pt, or coloured like its ground."""
        props = run.find("w:rPr", _NS)
        if props is None:
            return False
        style = props.find("w:rStyle", _NS)
        if style is not None and style.get(_W_VAL) in self.styles:
            return True
        if any(_on(props, name) for name in _HIDING_PROPERTIES):
            return True
        return _tiny(props) or _camouflaged(props, paragraph_fill)


def _tiny(props: etree._Element) -> bool:
    """Whether run properties set type too small to read."""
    size = _attr(props, "w:sz")
    return size.isdigit() and int(size) < MIN_HALF_POINTS


def _on(props: etree._Element, child: str) -> bool:
    """Whether an on/off property (``w:vanish``) is set and not switched off."""
    element = props.find(child, _NS)
    return element is not None and element.get(_W_VAL, "true") not in _OFF


def _camouflaged(props: etree._Element, paragraph_fill: str) -> bool:
    """Whether the text colour is the colour it stands on (shading, highlight or page)."""
    colour = _attr(props, "w:color").lower()
    shading = props.find("w:shd", _NS)
    fill = (shading.get(f"{{{_W}}}fill") if shading is not None else None) or "auto"
    highlight = _HIGHLIGHTS.get(_attr(props, "w:highlight"), "")
    ground = highlight or (fill if fill != "auto" else "") or paragraph_fill or "ffffff"
    return _alike(colour, ground.lower())


def _alike(colour: str, ground: str) -> bool:
    """Whether two RRGGBB colours are too close to tell apart (each channel within 0x18)."""
    if colour == "auto" and ground in ("ffffff", "auto"):
        return False
    try:
        a = [int(colour[i : i + 2], 16) for i in (0, 2, 4)] if len(colour) == 6 else []
        b = [int(ground[i : i + 2], 16) for i in (0, 2, 4)] if len(ground) == 6 else []
    except ValueError:
        return False
    return bool(a and b) and max(abs(x - y) for x, y in zip(a, b, strict=True)) <= _CLOSE


def _attr(props: etree._Element, child: str) -> str:
    """The w:val of a run property (``w:sz``, ``w:color``), "" when it is not set."""
    element = props.find(child, _NS)
    return (element.get(_W_VAL) if element is not None else None) or ""


def _hidden_styles(document: Document) -> set[str]:
    """Ids of the character and paragraph styles that hide text or set it too small."""
    styles = document.styles.element.iterfind("w:style", _NS)
    return {
        style.get(f"{{{_W}}}styleId") or ""
        for style in styles
        if (props := style.find("w:rPr", _NS)) is not None
        and (any(_on(props, name) for name in _HIDING_PROPERTIES) or _tiny(props))
    }


def _read_body(
    document: Document, hidden: _Hidden, contents: _Contents
) -> tuple[list[Section], list[str]]:
    """Walk the body into sections, contents left out; also return the headings in order."""
    sections: list[Section] = []
    headings: list[str] = []
    blocks: list[str] = []
    trail = HeadingTrail()
    in_list = False  # the last block is a list, so the next item joins it
    number = 0  # the item's number in its list, for numbered lists
    formats = _number_formats(document)
    for element in _body_blocks(document, contents):
        if element.tag == _TBL:
            blocks.append(_table_text(element, hidden))
            in_list = False
            continue
        in_field = contents.holds(element)  # read even when empty: a field may end there
        text = _paragraph_text(element, hidden)
        if not text:
            continue
        style = Paragraph(element, document).style
        if in_field or _styled(style, _CONTENTS_STYLE):
            contents.entries += 1
        elif heading := _styled(style, _HEADING_STYLE):
            contents.flush(blocks, trail, sections)
            # "Title" is level 1 as "Heading 1" is: levels as the styles state them.
            trail.open(int(heading.group(1) or 1), " ".join(text.split()))
            headings.append(trail.heading)
            in_list = False
        elif _is_list_item(element, style):
            number = number + 1 if in_list else 1
            marker = f"{number}. " if _numbered(element, style, formats) else "- "
            if in_list:
                blocks[-1] += f"\n{marker}{text}"
            else:
                blocks.append(f"{marker}{text}")
            in_list = True
        else:
            blocks.append(text)
            in_list = False
    contents.flush(blocks, trail, sections)
    return sections, headings


def _body_blocks(document: Document, contents: _Contents) -> Iterator[etree._Element]:
    """Yield the body's paragraphs and tables in order, looking inside content controls.

    A "Table of Contents" content control is skipped whole; its entries are counted.
    """
    pending = list(document.element.body.iterchildren())
    while pending:
        element = pending.pop(0)
        if element.tag in (_P, _TBL):
            yield element
        elif element.tag == _SDT and "Table of Contents" in _GALLERY(element):
            contents.entries += sum(
                any((node.text or "").strip() for node in paragraph.iter(f"{{{_W}}}t"))
                for paragraph in element.iter(_P)
            )
        elif element.tag == _SDT:
            pending[:0] = element.iterfind("w:sdtContent/*", _NS)


@dataclass
class _Contents:
    """The tables of contents met so far: the fields open, and the entries left out."""

    fields: list[bool] = field(default_factory=list)  # each open field: a TOC or INDEX?
    fresh: bool = False  # a field began and its instruction is still to come
    entries: int = 0

    def holds(self, paragraph: etree._Element) -> bool:
        """Whether any of the paragraph lies in a TOC or INDEX field (tracked across paragraphs)."""
        inside = any(self.fields)
        for part in _FIELD_PARTS(paragraph):
            if part.tag == _FLD_SIMPLE:
                inside = inside or bool(_CONTENTS_FIELD.match(part.get(f"{{{_W}}}instr") or ""))
            elif part.tag == _FLD_CHAR:
                kind = part.get(f"{{{_W}}}fldCharType")
                if kind == "begin":
                    self.fields.append(False)
                    self.fresh = True
                elif kind == "end" and self.fields:
                    self.fields.pop()
            elif self.fresh and self.fields:  # the instruction of the field just begun
                self.fields[-1] = bool(_CONTENTS_FIELD.match(part.text or ""))
                self.fresh = False
            inside = inside or any(self.fields)
        return inside

    def flush(self, blocks: list[str], trail: HeadingTrail, out: list[Section]) -> None:
        """Turn blocks into a section under the heading in effect, contents entries counted,
        not kept.

        Paragraphs ending in page numbers under a "Contents" heading are a table of
        contents typed by hand; a "Contents" heading with nothing else is no part of the
        outline.
        """
        if is_contents_title(trail.heading) and is_contents_text(blocks, titled=True):
            kept = [block for block in blocks if not is_entry(block)]
            self.entries += len(blocks) - len(kept)
            blocks[:] = kept
            if not kept:
                trail.forget()
        _flush(blocks, trail, out)


def _paragraph_text(element: etree._Element, hidden: _Hidden, ground: str = "") -> str:
    """The visible text of a paragraph (on a table cell's ``ground``), trimmed."""
    parts: list[str] = []
    style = element.find("w:pPr/w:pStyle", _NS)
    hidden_paragraph = style is not None and style.get(_W_VAL) in hidden.styles
    shading = element.find("w:pPr/w:shd", _NS)
    fill = (shading.get(f"{{{_W}}}fill") if shading is not None else None) or ""
    for run in _RUNS(element):
        if hidden_paragraph or hidden.hides(run, fill if fill not in ("", "auto") else ground):
            hidden.dropped += any((node.text or "").strip() for node in run.iterfind("w:t", _NS))
            continue
        for node in run:
            name = _RUN_TEXT.get(node.tag)
            if name == "t":
                parts.append(node.text or "")
            elif name:
                parts.append("\t" if name == "tab" else "\n")
    return re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parts)).strip()


def _table_text(table: etree._Element, hidden: _Hidden) -> str:
    """A table as text: one line per row, cells joined by " | ", nested tables flattened."""
    rows: list[str] = []
    for row in table.iterfind("w:tr", _NS):
        cells = []
        for cell in row.iterfind("w:tc", _NS):
            shading = cell.find("w:tcPr/w:shd", _NS)
            fill = (shading.get(f"{{{_W}}}fill") if shading is not None else None) or ""
            ground = "" if fill == "auto" else fill
            paragraphs = (_paragraph_text(p, hidden, ground) for p in cell.iter(_P))
            cells.append(" ".join(" ".join(text.split()) for text in paragraphs if text))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _styled(style: CharacterStyle | None, names: re.Pattern[str]) -> re.Match[str] | None:
    """The match of a paragraph style's name with ``names``, directly or by inheritance.

    Word's "TOC Heading" is based on "Heading 1": contents styles are asked first.
    """
    seen = 0
    while style is not None and seen < 10:
        if matched := names.match(style.name or ""):
            return matched
        style, seen = style.base_style, seen + 1
    return None


def _number_formats(document: Document) -> dict[tuple[str, str], str]:
    """The numbering format ("decimal", "bullet", ...) of each list and level, by
    (numId, ilvl), from the document's numbering part."""
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return {}
    abstract = {
        (node.get(f"{{{_W}}}abstractNumId"), level.get(f"{{{_W}}}ilvl")): fmt.get(_W_VAL) or ""
        for node in numbering.iterfind("w:abstractNum", _NS)
        for level in node.iterfind("w:lvl", _NS)
        if (fmt := level.find("w:numFmt", _NS)) is not None
    }
    formats: dict[tuple[str, str], str] = {}
    for num in numbering.iterfind("w:num", _NS):
        link = num.find("w:abstractNumId", _NS)
        base = link.get(_W_VAL) if link is not None else None
        for (owner, level), fmt in abstract.items():
            if owner == base:
                formats[(num.get(f"{{{_W}}}numId") or "", level or "0")] = fmt
    return formats


def _numbered(
    element: etree._Element, style: CharacterStyle | None, formats: dict[tuple[str, str], str]
) -> bool:
    """Whether a list item is numbered (a step), not bulleted: by its own numbering's
    format, else by a "List Number" style."""
    props = _NUMBERING(element)
    if props:
        num = props[0].find("w:numId", _NS)
        level = props[0].find("w:ilvl", _NS)
        key = (
            num.get(_W_VAL) if num is not None else "",
            level.get(_W_VAL) if level is not None else "0",
        )
        if key in formats:
            return formats[key] not in ("bullet", "none", "")
    name = style.name if style is not None else ""
    return (name or "").startswith("List Number")


def _is_list_item(element: etree._Element, style: CharacterStyle | None) -> bool:
    """Whether a paragraph is a bullet or numbered item (own numbering or a List style)."""
    name = style.name if style is not None else ""
    return bool(_NUMBERING(element)) or (name or "").startswith(("List Bullet", "List Number"))


def _flush(blocks: list[str], trail: HeadingTrail, out: list[Section]) -> None:
    """Turn collected blocks into a section under the heading in effect (if any text)."""
    text = "\n\n".join(block for block in blocks if block)
    if text:
        out.append(trail.section(text))
    blocks.clear()
