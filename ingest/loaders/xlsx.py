"""Excel (.xlsx, .xlsm) loader: each sheet a section, each row a line under its header.

The page of a sheet's section is its place among the workbook's tabs (1-based), so a
citation names the sheet; its heading is the sheet's name. Each line keeps the row and
columns it was read from (``Section.rows``), counted as in the file, so a citation names
its cells ("Rota!A12:D12") although hidden rows and columns are left out of the text.
Formulas give the value Excel saved with the file (``data_only``): Docent never
recalculates.

What a reader of the workbook cannot see is left out and counted in the notes, as hidden
text is in the other formats: hidden and very hidden sheets, hidden rows and columns.
openpyxl's read-only mode streams the cells but does not read row and column attributes,
so those are read from the sheet's XML in a separate streaming pass.

Very large sheets are bounded instead of hung on: at most ``MAX_ROWS`` rows a sheet and
``MAX_CELLS`` filled cells a workbook are read; the notes say what was left.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from lxml import etree

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.package import check_package
from ingest.loaders.table_rows import (
    MAX_CELLS,
    MAX_ROWS,
    SheetPlace,
    SheetTally,
    cell_text,
    sheet_text,
)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _COL = f"{{{_MAIN}}}row", f"{{{_MAIN}}}col"
_TRUE = {"1", "true"}
_FIX = "open it in Excel or LibreOffice and save it again as .xlsx (or re-export it)"


def load_xlsx(path: Path) -> ParsedDocument:
    """Read an Excel workbook into one section per visible sheet.

    Args:
        path: The .xlsx or .xlsm file.

    Returns:
        The parsed document: ``pages`` is the number of sheets, a section's page is its
        sheet's 1-based place among them and its heading the sheet's name (level 1).

    Raises:
        LoaderError: The file is damaged, not a workbook, a zip bomb, or has no cells.
    """
    check_package(path, "Excel workbook", "xl/workbook.xml", _FIX)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, MemoryError):
        raise
    # openpyxl raises KeyError, ValueError, XMLSyntaxError... on broken packages.
    except Exception as exc:
        raise LoaderError(
            f"the Excel file is damaged or not a workbook: {exc or type(exc).__name__}; {_FIX}"
        ) from exc
    tally = SheetTally()
    sections: list[Section] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for sheet in workbook.worksheets:
                section = _read_sheet(workbook, sheet, archive, tally)
                if section is not None:
                    sections.append(section)
        title = " ".join((workbook.properties.title or "").split()) or path.stem
        pages = len(workbook.sheetnames)
    except (OSError, MemoryError, LoaderError):
        raise
    except Exception as exc:
        raise LoaderError(
            f"the Excel file is damaged: {exc or type(exc).__name__}; {_FIX}"
        ) from exc
    finally:
        workbook.close()
    if not sections:
        hidden = " (all its sheets with content are hidden)" if tally.hidden_sheets else ""
        raise LoaderError(
            f"the workbook has no cells with text or numbers{hidden}; nothing to index"
        )
    return ParsedDocument(
        title=title, sections=sections, pages=pages, notes=tally.notes(MAX_ROWS, MAX_CELLS)
    )


def _read_sheet(
    workbook: Any, sheet: Any, archive: zipfile.ZipFile, tally: SheetTally
) -> Section | None:
    """One sheet as a section, or None when it is hidden, empty or past the cell limit."""
    name = str(sheet.title)
    if sheet.sheet_state != "visible":
        if _has_cells(sheet):
            tally.hidden_sheets.append(name)
        return None
    if tally.cells >= MAX_CELLS:
        tally.unread_sheets.append(name)
        return None
    # openpyxl keeps no public name of the sheet's part; read-only sheets hold it here.
    hidden_rows, hidden_columns = _hidden(archive, sheet._worksheet_path)
    # A sheet's stated size may be wrong: read the rows as they are stored.
    sheet.reset_dimensions()
    rows: list[list[str]] = []
    places: list[SheetPlace] = []
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        if number > MAX_ROWS:
            tally.capped_sheets.append(name)
            break
        cells = [_text(value) for value in values]
        if number in hidden_rows:
            tally.hidden_rows += any(cells)
            continue
        shown, columns = [], []
        for column, cell in enumerate(cells, start=1):
            if column in hidden_columns:
                if cell:
                    tally.hidden_columns.add((name, column))
            else:
                shown.append(cell)
                columns.append(column)
        if any(shown):
            rows.append(shown)
            places.append(SheetPlace(number, columns))
            tally.cells += sum(map(bool, shown))
        if tally.cells >= MAX_CELLS:
            tally.unread_sheets.append(f"{name} (from row {number + 1})")
            break
    if not rows:
        return None
    page = workbook.sheetnames.index(name) + 1
    text, located = sheet_text(name, rows, places)
    return Section(text, page, name, 1, ((1, name),), located)


def _has_cells(sheet: Any) -> bool:
    """Whether a sheet holds any value (read up to the first one)."""
    sheet.reset_dimensions()
    for values in sheet.iter_rows(values_only=True):
        if any(value is not None and value != "" for value in values):
            return True
    return False


def _hidden(archive: zipfile.ZipFile, part: str) -> tuple[set[int], set[int]]:
    """The 1-based numbers of a sheet's hidden rows and hidden columns, from its XML."""
    rows: set[int] = set()
    columns: set[int] = set()
    member = part.lstrip("/")
    with archive.open(member) as source:
        number = 0
        for _, element in etree.iterparse(source, events=("end",), tag=(_ROW, _COL)):
            if element.tag == _ROW:
                number = int(element.get("r") or number + 1)
                if (element.get("hidden") or "").lower() in _TRUE:
                    rows.add(number)
            elif (element.get("hidden") or "").lower() in _TRUE:
                first = int(element.get("min") or 1)
                columns.update(range(first, int(element.get("max") or first) + 1))
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return rows, columns


def _text(value: object) -> str:
    """A cell's value as text: whole numbers without ".0", dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return cell_text(str(value))
