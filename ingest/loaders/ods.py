"""OpenDocument spreadsheet (.ods) loader: each sheet a section, each row a line under
its header, as Excel workbooks are read (``ingest.loaders.xlsx``).

A cell gives the text the sheet shows (a formula's saved result, a date as formatted),
never a recalculation. The body is streamed row by row: a sheet's XML can be far larger
than its text, and the empty rows and columns LibreOffice writes as one element repeated
a million times are counted, never expanded.

Each line keeps the row and columns it stands in, counted as in the file (rows and
columns left out count), so a citation names its cells ("Rota!A12:D12").

Hidden sheets (``table:display="false"``), collapsed or filtered rows and collapsed
columns are left out and counted in the notes; at most ``MAX_ROWS`` rows a sheet and
``MAX_CELLS`` filled cells a workbook are read.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.odf import (
    DAMAGE,
    Hidden,
    Styles,
    cell_value,
    damaged,
    meta_title,
    open_package,
    parse_part,
    q,
)
from ingest.loaders.table_rows import MAX_CELLS, MAX_ROWS, SheetPlace, SheetTally, sheet_text

_KIND = "OpenDocument spreadsheet"
_FIX = "open it in LibreOffice Calc and save it again as .ods (or re-export it)"
_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_TABLE, _ROW, _COLUMN = q("table:table"), q("table:table-row"), q("table:table-column")
_CELL, _COVERED = q("table:table-cell"), q("table:covered-table-cell")
_STYLES = (q("style:style"), q("text:list-style"))
_HIDDEN_LINES = {"collapse", "filter"}


@dataclass
class _Sheet:
    """The sheet being read: its place, rows kept so far, and hidden columns."""

    name: str
    page: int
    hidden: bool
    rows: list[list[str]] = field(default_factory=list)
    places: list[SheetPlace] = field(default_factory=list)  # where each of ``rows`` stands
    row_number: int = 0  # the 1-based number of the last row read
    column_number: int = 0  # the 1-based number of the last column declared
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)  # inclusive spans
    has_cells: bool = False
    done: bool = False  # a limit was reached: the rest of the sheet is skipped

    def column_hidden(self, number: int) -> bool:
        return any(first <= number <= last for first, last in self.hidden_columns)


def load_ods(path: Path) -> ParsedDocument:
    """Read an OpenDocument spreadsheet into one section per visible sheet.

    Args:
        path: The .ods file.

    Returns:
        The parsed document: ``pages`` is the number of sheets, a section's page is its
        sheet's 1-based place among them and its heading the sheet's name (level 1).

    Raises:
        LoaderError: The file is damaged, password-protected, not a spreadsheet, or has
            no cells.
    """
    tally = SheetTally()
    with open_package(path, _KIND, _MIME, _FIX) as archive:
        try:
            styles = (
                Styles.of(parse_part(archive, "styles.xml"))
                if _has(archive, "styles.xml")
                else Styles()
            )
            sections, pages, hidden = _read_sheets(archive, styles, tally)
            title = meta_title(archive)
        except DAMAGE as exc:
            raise damaged(_KIND, _FIX, exc) from exc
    if not sections:
        why = " (all its sheets with content are hidden)" if tally.hidden_sheets else ""
        raise LoaderError(
            f"the spreadsheet has no cells with text or numbers{why}; nothing to index"
        )
    notes = tally.notes(MAX_ROWS, MAX_CELLS) + hidden.note()
    return ParsedDocument(title=title or path.stem, sections=sections, pages=pages, notes=notes)


def _has(archive: zipfile.ZipFile, name: str) -> bool:
    return name in archive.namelist()


def _read_sheets(
    archive: zipfile.ZipFile, styles: Styles, tally: SheetTally
) -> tuple[list[Section], int, Hidden]:
    """Stream ``content.xml``: the sections of the visible sheets, the sheet count, and
    the hidden text met in cells."""
    sections: list[Section] = []
    hidden = Hidden()
    sheet: _Sheet | None = None
    depth = 0  # tables open: a table inside a cell is part of that cell
    pages = 0
    with archive.open("content.xml") as source:
        events = etree.iterparse(
            source,
            events=("start", "end"),
            tag=(_TABLE, _ROW, _COLUMN, *_STYLES),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
        )
        for event, element in events:
            tag = element.tag
            if tag == _TABLE:
                depth += 1 if event == "start" else -1
                if event == "start" and depth == 1:
                    pages += 1
                    name = element.get(q("table:name")) or f"Sheet{pages}"
                    shown = styles.get(
                        "table",
                        element.get(q("table:style-name")),
                        "style:table-properties",
                        "table:display",
                    )
                    sheet = _Sheet(name, pages, shown == "false")
                    if tally.cells >= MAX_CELLS and not sheet.hidden:
                        tally.unread_sheets.append(name)
                        sheet.done = True
                elif event == "end" and depth == 0 and sheet is not None:
                    section = _finish(sheet, tally)
                    if section is not None:
                        sections.append(section)
                    sheet = None
                    _release(element)
            elif event == "end" and depth == 1 and sheet is not None and tag == _COLUMN:
                _column(sheet, element)
            elif event == "end" and depth == 1 and sheet is not None and tag == _ROW:
                if not sheet.done and not (sheet.hidden and sheet.has_cells):
                    _row(sheet, element, styles, hidden, tally)
                _release(element)
            elif event == "end" and depth == 0 and tag in _STYLES:
                styles.add([element])
    return sections, pages, hidden


def _column(sheet: _Sheet, element: etree._Element) -> None:
    """Count a column declaration; remember it when it is collapsed."""
    repeated = _repeat(element, "table:number-columns-repeated")
    first = sheet.column_number + 1
    sheet.column_number += repeated
    if element.get(q("table:visibility")) in _HIDDEN_LINES:
        sheet.hidden_columns.append((first, sheet.column_number))


def _row(
    sheet: _Sheet, element: etree._Element, styles: Styles, hidden: Hidden, tally: SheetTally
) -> None:
    """Read one row element (perhaps repeated) into the sheet, within the limits."""
    repeated = _repeat(element, "table:number-rows-repeated")
    first = sheet.row_number + 1
    sheet.row_number += repeated
    cells: list[tuple[int, str]] = []  # (1-based column, text) of the filled cells
    column = 0
    for cell in element:
        if cell.tag not in (_CELL, _COVERED):
            continue
        span = _repeat(cell, "table:number-columns-repeated")
        text = cell_value(cell, styles, hidden) if cell.tag == _CELL else ""
        if text:
            cells.extend((column + i + 1, text) for i in range(min(span, MAX_CELLS)))
        column += span
    if not cells:
        return
    sheet.has_cells = True
    if sheet.hidden:
        return
    if element.get(q("table:visibility")) in _HIDDEN_LINES:
        tally.hidden_rows += repeated
        return
    shown: dict[int, str] = {}
    for number, text in cells:
        if sheet.column_hidden(number):
            tally.hidden_columns.add((sheet.name, number))
        else:
            shown[number] = text
    if not shown:
        return
    order = sorted(shown)
    visible = [n for n in range(1, order[-1] + 1) if not sheet.column_hidden(n)]
    row = [shown.get(n, "") for n in visible]
    for number in range(first, first + repeated):
        if number > MAX_ROWS:
            tally.capped_sheets.append(sheet.name)
            sheet.done = True
            return
        sheet.rows.append(row)
        sheet.places.append(SheetPlace(number, visible))
        tally.cells += len(shown)
        if tally.cells >= MAX_CELLS:
            tally.unread_sheets.append(f"{sheet.name} (from row {number + 1})")
            sheet.done = True
            return


def _finish(sheet: _Sheet, tally: SheetTally) -> Section | None:
    """The sheet's section, or None when it is hidden, empty or past the cell limit."""
    if sheet.hidden:
        if sheet.has_cells:
            tally.hidden_sheets.append(sheet.name)
        return None
    if not sheet.rows:
        return None
    text, located = sheet_text(sheet.name, sheet.rows, sheet.places)
    return Section(text, sheet.page, sheet.name, 1, ((1, sheet.name),), located)


def _repeat(element: etree._Element, attribute: str) -> int:
    """How many times a row or column element stands (at least 1)."""
    value = element.get(q(attribute)) or "1"
    return max(int(value), 1) if value.isdigit() else 1


def _release(element: etree._Element) -> None:
    """Free a streamed element and the siblings read before it."""
    element.clear()
    while element.getprevious() is not None:
        parent = element.getparent()
        if parent is None:
            break
        del parent[0]
