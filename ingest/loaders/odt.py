"""OpenDocument text (.odt) loader: headings, paragraphs, lists and tables in order.

Read as Word files are: a section per heading (``text:h`` at its outline level, a
paragraph in the "Title" style at level 1), list items written "- item" or "1. step",
tables as "a | b" rows. Hidden text is left out and counted (``ingest.loaders.odf``);
tables of contents and indexes are left out and counted, as Word's TOC fields are.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ingest.document import HeadingTrail, LoaderError, ParsedDocument, Section
from ingest.loaders.odf import (
    DAMAGE,
    NS,
    Hidden,
    Styles,
    damaged,
    meta_title,
    open_package,
    paragraph_text,
    parse_part,
    q,
    table_rows,
)
from ingest.toc import without_contents

_KIND = "OpenDocument text"
_FIX = "open it in LibreOffice Writer and save it again as .odt (or re-export it)"
_MIME = "application/vnd.oasis.opendocument.text"
_P, _H, _LIST = q("text:p"), q("text:h"), q("text:list")
_ITEM, _HEADER = q("text:list-item"), q("text:list-header")
_TABLE, _SECTION = q("table:table"), q("text:section")
_INDEXES = frozenset(
    map(
        q,
        (
            "text:table-of-content", "text:alphabetical-index", "text:illustration-index",
            "text:table-index", "text:object-index", "text:user-index", "text:bibliography",
        ),
    )
)  # fmt: skip
_FRAMES = frozenset(map(q, ("draw:frame", "draw:custom-shape", "draw:rect", "draw:g")))


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Item:
    marker: str
    text: str


@dataclass
class _Reader:
    """Walks the body, counting what it leaves out."""

    styles: Styles
    hidden: Hidden
    entries: int = 0  # contents and index entries left out

    def blocks(self, container: Iterable[etree._Element]) -> Iterator[_Heading | _Item | str]:
        """The body's headings, list items and text blocks in reading order."""
        for child in container:
            tag = child.tag
            if tag == _H:
                text = " ".join(paragraph_text(child, self.styles, self.hidden).split())
                yield _Heading(int(child.get(q("text:outline-level")) or 1), text)
            elif tag == _P:
                text = paragraph_text(child, self.styles, self.hidden)
                if text and self.styles.named(
                    "paragraph", child.get(q("text:style-name")), "Title"
                ):
                    yield _Heading(1, " ".join(text.split()))
                elif text:
                    yield text
            elif tag == _LIST:
                yield from self.items(child, child.get(q("text:style-name")), 1)
            elif tag == _TABLE:
                rows = table_rows(child, self.styles, self.hidden)
                if rows:
                    yield "\n".join(" | ".join(row) for row in rows)
            elif tag == _SECTION:
                if child.get(q("text:display")) == "none":
                    self.hidden.dropped += bool("".join(child.itertext()).strip())
                else:
                    yield from self.blocks(child)
            elif tag in _INDEXES:
                body = child.find("text:index-body", NS)
                self.entries += sum(
                    bool("".join(p.itertext()).strip()) for p in (body if body is not None else ())
                )
            elif tag in _FRAMES:
                text = paragraph_text(child, self.styles, self.hidden)
                if text:
                    yield text

    def items(
        self, listing: etree._Element, style: str | None, level: int
    ) -> Iterator[_Heading | _Item | str]:
        """A list's items, nested lists in place, each marked by its own list's style."""
        style = listing.get(q("text:style-name")) or style
        number = 0
        for item in listing:
            if item.tag not in (_ITEM, _HEADER):
                continue
            start = item.get(q("text:start-value"))
            number = int(start) if start and start.isdigit() else number + 1
            for child in item:
                if child.tag == _LIST:
                    yield from self.items(child, style, level + 1)
                elif child.tag == _H:
                    yield from self.blocks([child])
                elif child.tag == _P:
                    text = " ".join(paragraph_text(child, self.styles, self.hidden).split())
                    own = self.styles.get(
                        "paragraph", child.get(q("text:style-name")), "", "style:list-style-name"
                    )
                    marked = self.styles.numbered(style or own, level)
                    if text:
                        yield _Item(f"{number}. " if marked else "- ", text)


def load_odt(path: Path) -> ParsedDocument:
    """Read an OpenDocument text into sections, one per heading.

    Args:
        path: The .odt file.

    Returns:
        The parsed document; sections have page 0 (text documents have no fixed pages).

    Raises:
        LoaderError: The file is damaged, password-protected, not an .odt, or has no text.
    """
    with open_package(path, _KIND, _MIME, _FIX) as archive:
        try:
            content = parse_part(archive, "content.xml")
            styles = Styles.of(_styles_root(archive), content)
            title = meta_title(archive)
        except DAMAGE as exc:
            raise damaged(_KIND, _FIX, exc) from exc
    body = content.find("office:body/office:text", NS)
    if body is None:
        raise LoaderError(f"the file holds no text body; it is not an {_KIND}: {_FIX}")
    reader = _Reader(styles, Hidden())
    sections, headings = _sections(reader.blocks(body))
    parsed = ParsedDocument(
        title=title or next(iter(headings), "") or path.stem,
        sections=sections,
        notes=reader.hidden.note(),
    )
    parsed = without_contents(parsed, reader.entries)
    if not parsed.sections:
        raise LoaderError("the document has no text; nothing to index")
    return parsed


def _styles_root(archive: zipfile.ZipFile) -> etree._Element:
    """The named styles (an empty element when the package has no styles part)."""
    if "styles.xml" in archive.namelist():
        return parse_part(archive, "styles.xml")
    return etree.Element("styles")


def _sections(blocks: Iterator[_Heading | _Item | str]) -> tuple[list[Section], list[str]]:
    """Blocks grouped into sections under their headings; consecutive items form a list."""
    sections: list[Section] = []
    headings: list[str] = []
    trail = HeadingTrail()
    pending: list[str] = []
    listing = False
    for block in blocks:
        if isinstance(block, _Heading):
            _flush(pending, trail, sections)
            trail.open(block.level, block.text)
            if block.text:
                headings.append(block.text)
            listing = False
        elif isinstance(block, _Item):
            line = f"{block.marker}{block.text}"
            if listing:
                pending[-1] += f"\n{line}"
            else:
                pending.append(line)
            listing = True
        else:
            pending.append(block)
            listing = False
    _flush(pending, trail, sections)
    return sections, headings


def _flush(blocks: list[str], trail: HeadingTrail, out: list[Section]) -> None:
    text = "\n\n".join(block for block in blocks if block)
    if text:
        out.append(trail.section(text))
    blocks.clear()
