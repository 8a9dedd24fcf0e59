"""OpenDocument presentation (.odp) loader: one page per slide, headed by its title.

Read as PowerPoint files are (``ingest.loaders.pptx``): a slide's section holds the text
of its shapes in the order the slide lists them (groups opened), tables as "a | b" rows
under their header row, and the speaker notes last, led by "Notes:". The points of an
outline placeholder are written as list items. Slides hidden in the slide show, hidden
text, empty placeholders and the page-number, date and footer fields are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from ingest.document import LoaderError, ParsedDocument, Section
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
from ingest.loaders.table_rows import table_text

_KIND = "OpenDocument presentation"
_FIX = "open it in LibreOffice Impress and save it again as .odp (or re-export it)"
_MIME = "application/vnd.oasis.opendocument.presentation"
_CLASS, _PLACEHOLDER = q("presentation:class"), q("presentation:placeholder")
_P, _H, _LIST, _TABLE = q("text:p"), q("text:h"), q("text:list"), q("table:table")
_GROUP, _NOTES, _FRAME = q("draw:g"), q("presentation:notes"), q("draw:frame")
_TITLES = {"title"}
_POINTS = {"outline", "subtitle", "text"}
_FURNITURE = {"page-number", "date-time", "footer", "header", "page", "handout"}


def load_odp(path: Path) -> ParsedDocument:
    """Read a presentation into one section per slide with text.

    Args:
        path: The .odp file.

    Returns:
        The parsed document: a section's page is its slide's number, its heading the
        slide's title (level 1); ``pages`` is the number of slides.

    Raises:
        LoaderError: The file is damaged, password-protected, not a presentation, or
            has no text.
    """
    with open_package(path, _KIND, _MIME, _FIX) as archive:
        try:
            content = parse_part(archive, "content.xml")
            named = (
                parse_part(archive, "styles.xml") if "styles.xml" in archive.namelist() else None
            )
            styles = Styles.of(*(root for root in (named, content) if root is not None))
            styles.page = None  # slides paint their own grounds: colour tells nothing here
            core_title = meta_title(archive)
        except DAMAGE as exc:
            raise damaged(_KIND, _FIX, exc) from exc
    slides = content.findall("office:body/office:presentation/draw:page", NS)
    hidden = Hidden()
    sections: list[Section] = []
    left_out = 0
    for number, slide in enumerate(slides, start=1):
        title, blocks = _slide_text(slide, styles, hidden)
        if not title and not blocks:
            continue
        shown = styles.get(
            "drawing-page",
            slide.get(q("draw:style-name")),
            "style:drawing-page-properties",
            "presentation:visibility",
        )
        if shown == "hidden":
            left_out += 1
            continue
        opens = ((1, title),) if title else ()
        sections.append(
            Section("\n\n".join(blocks) or title, number, title, 1 if title else 0, opens)
        )
    if not sections:
        raise LoaderError("the presentation has no slides with text; nothing to index")
    notes = [f"{left_out} hidden slide{'s' * (left_out > 1)} left out"] if left_out else []
    title = core_title or next((s.heading for s in sections if s.heading), "") or path.stem
    return ParsedDocument(
        title=title, sections=sections, pages=len(slides), notes=notes + hidden.note()
    )


def _slide_text(slide: etree._Element, styles: Styles, hidden: Hidden) -> tuple[str, list[str]]:
    """A slide's title and its text blocks in order, speaker notes last."""
    title = ""
    blocks: list[str] = []
    for shape in _shapes(slide):
        kind = shape.get(_CLASS) or ""
        if kind in _FURNITURE or shape.get(_PLACEHOLDER) == "true":
            continue
        table = shape.find("table:table", NS)
        if table is not None:
            rows = table_rows(table, styles, hidden)
            if rows:
                blocks.append(table_text(rows))
            continue
        lines, listed = _lines(shape, styles, hidden)
        if kind in _TITLES and lines and not title:
            title = " ".join(" ".join(lines).split())
        elif lines:
            if len(lines) > 1 and (kind in _POINTS or listed):
                lines = [f"- {line}" for line in lines]
            blocks.append("\n".join(lines))
    spoken = []
    for notes in slide.iterfind("presentation:notes", NS):
        for shape in _shapes(notes):
            if shape.get(_CLASS) == "notes":
                spoken += _lines(shape, styles, hidden)[0]
    if spoken:
        blocks.append("Notes: " + " ".join(" ".join(spoken).split()))
    return title, blocks


def _shapes(container: etree._Element) -> Iterator[etree._Element]:
    """The shapes in the slide's order, the members of groups in place of the group."""
    for shape in container:
        if shape.tag == _GROUP:
            yield from _shapes(shape)
        elif isinstance(shape.tag, str) and shape.tag not in (_NOTES,):
            yield shape


def _lines(shape: etree._Element, styles: Styles, hidden: Hidden) -> tuple[list[str], bool]:
    """The non-empty paragraphs of a shape (its text box's, for a frame), one a line, and
    whether any stood in a list."""
    lines: list[str] = []
    listed = False
    for paragraph in shape.iter(_P, _H):
        if _inside_table(paragraph, shape):
            continue
        text = " ".join(paragraph_text(paragraph, styles, hidden).split())
        if text:
            lines.append(text)
            listed = listed or any(a.tag == _LIST for a in paragraph.iterancestors())
    return lines, listed


def _inside_table(paragraph: etree._Element, shape: etree._Element) -> bool:
    for ancestor in paragraph.iterancestors():
        if ancestor is shape:
            return False
        if ancestor.tag == _TABLE:
            return True
    return False
