"""Where a quote stands in a spreadsheet: its sheet and cell range ("Rota!A12:D12").

A sheet's loader records the row and columns each line of its text was read from
(``SheetRow``, kept with the chunk); a quote whose span lies in lines of one sheet is
cited by the rectangle of cells they hold, numbered as in the file (rows and columns
left out as hidden still count). A header line shown above a row is context, not what
is cited: the range names the rows under it, and names the header row only when the
quote holds nothing else. A quote that leaves the sheet's lines (a message's text
before an attached sheet) or spans two sheets has no cell range.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from rag.layout import table
from rag.types import SheetRow
from rag.unit import Unit

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[RrCc][0-9]*")
_SEPARATOR = 2
"""Characters between two lines of a sheet's text at most ("\\n\\n" between blocks)."""


def column_name(number: int) -> str:
    """A 1-based column number as its letters: 1 -> "A", 27 -> "AA"."""
    letters = ""
    while number > 0:
        number, left = divmod(number - 1, 26)
        letters = chr(ord("A") + left) + letters
    return letters


def sheet_name(sheet: str) -> str:
    """A sheet's name as a reference writes it: quoted when it is not a plain word
    ("'Night rota'", "'Q1 2024'"), an apostrophe in it doubled."""
    if _PLAIN_NAME.fullmatch(sheet) and not _CELL_LIKE.fullmatch(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def reference(sheet: str, top: int, left: int, bottom: int, right: int) -> str:
    """A cell range on a sheet: "Rota!A12:D12" ("Rota!A12" for one cell)."""
    start, end = f"{column_name(left)}{top}", f"{column_name(right)}{bottom}"
    return f"{sheet_name(sheet)}!{start}" + (f":{end}" if end != start else "")


def unit_cells(unit: Unit) -> tuple[str, str]:
    """The sheet and cell range of an answer unit, ("", "") when it is not in a sheet."""
    rows = [row for passage in unit.passages for row in passage.rows]
    return cited_cells(rows, _shown(unit)) if rows else ("", "")


def _shown(unit: Unit) -> list[tuple[int, int]]:
    """The document spans a unit shows: a table row shown under its header without the
    rows between (``rag.unit.build``) shows two lines of its span, else all of it."""
    lines = unit.quote.split("\n")
    if len(lines) > 2 and unit.markdown == table([lines[0], lines[-1]]):
        return [
            (unit.doc_start, unit.doc_start + len(lines[0])),
            (unit.doc_end - len(lines[-1]), unit.doc_end),
        ]
    return [(unit.doc_start, unit.doc_end)]


def cited_cells(rows: Sequence[SheetRow], spans: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """The sheet and cell range of a quote shown as ``spans`` (document offsets).

    Args:
        rows: The sheet rows of the passages the quote stands in (``Passage.rows``).
        spans: The parts of the document the quote shows, in order (one span, or a
            table's header line and the row shown under it).

    Returns:
        (sheet, reference), or ("", "") when a span lies outside the sheet's lines.
    """
    touched: list[SheetRow] = []
    for start, end in spans:
        lines = sorted(
            {row for row in rows if row.start < end and start < row.end},
            key=lambda row: row.start,
        )
        if not lines or not _covers(lines, start, end):
            return "", ""
        touched += lines
    if len({row.sheet for row in touched}) != 1:
        return "", ""
    cited = [row for row in touched if not row.header] or touched
    return cited[0].sheet, reference(
        cited[0].sheet,
        min(row.row for row in cited),
        min(row.first for row in cited),
        max(row.row for row in cited),
        max(row.last for row in cited),
    )


def _covers(lines: list[SheetRow], start: int, end: int) -> bool:
    """Whether consecutive lines hold all of [start, end) (their separators aside)."""
    if start < lines[0].start or end > lines[-1].end:
        return False
    return all(b.start - a.end <= _SEPARATOR for a, b in itertools.pairwise(lines))
