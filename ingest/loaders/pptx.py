"""PowerPoint (.pptx) loader: one page per slide, headed by the slide's title.

A slide's section holds its text frames in the order the slide lists its shapes (groups
opened), tables as "a | b" rows under their header row, and the speaker notes last, as a
paragraph led by "Notes:". The points of a body placeholder are written as list items,
so an answer taken from one shows the whole list. Slides hidden in the slide show are
left out and counted in the notes, as hidden text is elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pptx
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.oxml.ns import qn

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.package import check_package
from ingest.loaders.table_rows import cell_text, table_text

_FIX = "open it in PowerPoint or LibreOffice and save it again as .pptx (or re-export it)"
_TITLES = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
_POINTS = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY}
_MARKERS = {qn("a:buChar"), qn("a:buAutoNum")}


def load_pptx(path: Path) -> ParsedDocument:
    """Read a presentation into one section per slide with text.

    Args:
        path: The .pptx file.

    Returns:
        The parsed document: a section's page is its slide's number, its heading the
        slide's title (level 1); ``pages`` is the number of slides.

    Raises:
        LoaderError: The file is damaged, not a presentation, a zip bomb, or has no text.
    """
    check_package(path, "PowerPoint presentation", "ppt/presentation.xml", _FIX)
    try:
        presentation = pptx.Presentation(str(path))
        slides = list(presentation.slides)
        sections, hidden = _read_slides(slides)
        core_title = " ".join((presentation.core_properties.title or "").split())
    except (OSError, MemoryError):
        raise
    # python-pptx raises KeyError, ValueError, XMLSyntaxError... on broken packages.
    except Exception as exc:
        raise LoaderError(
            f"the PowerPoint file is damaged or not a .pptx: {exc or type(exc).__name__}; {_FIX}"
        ) from exc
    if not sections:
        raise LoaderError("the presentation has no slides with text; nothing to index")
    notes = [f"{hidden} hidden slide{'s' * (hidden > 1)} left out"] if hidden else []
    title = core_title or next((s.heading for s in sections if s.heading), "") or path.stem
    return ParsedDocument(title=title, sections=sections, pages=len(slides), notes=notes)


def _read_slides(slides: Iterable[Any]) -> tuple[list[Section], int]:
    """The sections of the shown slides, and how many hidden slides held text."""
    sections: list[Section] = []
    hidden = 0
    for number, slide in enumerate(slides, start=1):
        title, blocks = _slide_text(slide)
        if not title and not blocks:
            continue
        if slide.element.get("show") in ("0", "false"):
            hidden += 1
            continue
        text = "\n\n".join(blocks) or title
        opens = ((1, title),) if title else ()
        sections.append(Section(text, number, title, 1 if title else 0, opens))
    return sections, hidden


def _slide_text(slide: Any) -> tuple[str, list[str]]:
    """A slide's title and its text blocks in order, speaker notes last."""
    title = ""
    blocks: list[str] = []
    for shape in _shapes(slide.shapes):
        kind = shape.placeholder_format.type if shape.is_placeholder else None
        if kind in _TITLES and shape.has_text_frame and not title:
            title = " ".join(shape.text_frame.text.split())
        elif shape.has_table:
            rows = [[cell_text(cell.text) for cell in row.cells] for row in shape.table.rows]
            rows = [row for row in rows if any(row)]
            if rows:
                blocks.append(table_text(rows))
        elif shape.has_text_frame:
            lines = [" ".join(p.text.split()) for p in shape.text_frame.paragraphs]
            lines = [line for line in lines if line]
            if len(lines) > 1 and (kind in _POINTS or _bulleted(shape)):
                lines = [f"- {line}" for line in lines]
            if lines:
                blocks.append("\n".join(lines))
    if slide.has_notes_slide and (frame := slide.notes_slide.notes_text_frame) is not None:
        spoken = " ".join(frame.text.split())
        if spoken:
            blocks.append(f"Notes: {spoken}")
    return title, blocks


def _bulleted(shape: Any) -> bool:
    """Whether a text box's paragraphs carry their own bullets or numbers (as a body
    placeholder's do through the master; LibreOffice writes them on plain text boxes)."""
    return any(
        marker.tag in _MARKERS
        for paragraph in shape.text_frame.paragraphs
        if (props := paragraph._p.pPr) is not None
        for marker in props
    )


def _shapes(shapes: Iterable[Any]) -> Iterator[Any]:
    """The shapes in the slide's order, the members of groups in place of the group."""
    for shape in shapes:
        if hasattr(shape, "shapes"):
            yield from _shapes(shape.shapes)
        else:
            yield shape
