"""Rows of a sheet or table as text lines that keep their header.

A row is written "Ward 4 | Night | 2 nurses", the form the answer unit reads as a table
row (``rag.layout.kind``): a row chosen as the answer is shown under the header line it
stands below. Long tables are written in blocks, each led by the header again and parted
by a blank line, so a block fits one chunk and a row is never retrieved apart from its
header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.types import SheetRow

MAX_ROWS = 20_000
"""Rows read from one sheet (empty rows included); the rest is left out and noted."""

MAX_CELLS = 200_000
"""Filled cells read from one file; what lies past the limit is left out and noted."""

BLOCK_CHARS = 600
"""A block of rows (its header line included) ends after this many characters: well
under the 256 word pieces of a chunk, so the chunker keeps a block whole."""

EMPTY_CELL = "—"
"""An empty cell between filled ones; not "-" or "–", which would read as a list item."""


def cell_text(value: str) -> str:
    """A cell as one line: white space collapsed, "|" (the cell separator) made "/"."""
    return " ".join(value.replace("|", "/").split())


def row_line(cells: Sequence[str], columns: int) -> str:
    """A row as "a | b | c": trailing empty cells dropped, inner ones shown as empty;
    a row of a table with several columns keeps at least two cells, so it stays a row."""
    kept = list(cells)
    while kept and not kept[-1]:
        kept.pop()
    if columns > 1 and len(kept) == 1:
        kept.append("")
    return " | ".join(cell or EMPTY_CELL for cell in kept)


def table_text(rows: Sequence[Sequence[str]]) -> str:
    """Rows (cells already as text, empty rows left out) as header-led blocks.

    The first row with two or more filled cells is the header; single-cell rows above it
    (a sheet's title, a note) are written as lines of their own before the table.
    """
    return _joined(_table_lines(rows))[0]


@dataclass(frozen=True)
class SheetPlace:
    """Where a row read from a sheet stands in the file.

    Attributes:
        row: Its 1-based row number in the file (rows left out still count).
        columns: The 1-based column in the file of each of its cells, in order (hidden
            columns left out are skipped, so they may jump).
    """

    row: int
    columns: Sequence[int]


def sheet_text(
    sheet: str, rows: Sequence[Sequence[str]], places: Sequence[SheetPlace]
) -> tuple[str, tuple[SheetRow, ...]]:
    """A sheet's rows as ``table_text`` writes them, with the row and columns of each line.

    Args:
        sheet: The sheet's name.
        rows: Its rows (cells as text, empty rows left out).
        places: Where each of ``rows`` stands in the file.

    Returns:
        The text, and for each of its lines the sheet row it stands in (offsets in the text;
        a header line repeated before a later block stands in the header row).
    """
    text, spans = _joined(_table_lines(rows))
    located = []
    for start, end, index, kind in spans:
        columns = places[index].columns
        filled = [i for i, cell in enumerate(rows[index]) if cell]
        # A table row shows its leading empty cells ("—"); a plain line only its filled ones.
        first = filled[0] if kind == "plain" else 0
        located.append(
            SheetRow(
                sheet,
                start,
                end,
                places[index].row,
                columns[first],
                columns[filled[-1]],
                kind == "header",
            )
        )
    return text, tuple(located)


_Line = tuple[str, int, str]  # the line, the index of its row, "plain", "header" or "row"


def _table_lines(rows: Sequence[Sequence[str]]) -> list[list[_Line]]:
    """The paragraphs of ``table_text``, each a list of lines."""
    columns = max((_width(row) for row in rows), default=0)
    header_at = next((i for i, row in enumerate(rows) if sum(map(bool, row)) > 1), None)
    if header_at is None:
        return [[(_plain(row), i, "plain") for i, row in enumerate(rows)]]
    lead = [(_plain(row), i, "plain") for i, row in enumerate(rows[:header_at])]
    header = (row_line(rows[header_at], columns), header_at, "header")
    blocks: list[list[_Line]] = []
    for index in range(header_at + 1, len(rows)):
        line = row_line(rows[index], columns)
        if not blocks or sum(len(t) for t, _, _ in blocks[-1]) + len(line) > BLOCK_CHARS:
            blocks.append([header])
        blocks[-1].append((line, index, "row"))
    return ([lead] if lead else []) + (blocks or [[header]])


def _joined(paragraphs: list[list[_Line]]) -> tuple[str, list[tuple[int, int, int, str]]]:
    """The paragraphs as one text, and each line's (start, end, row index, kind)."""
    parts: list[str] = []
    spans: list[tuple[int, int, int, str]] = []
    at = 0
    for number, paragraph in enumerate(paragraphs):
        for place, (line, index, kind) in enumerate(paragraph):
            separator = ("\n\n" if number else "") if place == 0 else "\n"
            parts.append(separator + line)
            at += len(separator)
            spans.append((at, at + len(line), index, kind))
            at += len(line)
    return "".join(parts), spans


def _plain(row: Sequence[str]) -> str:
    """A row written as a line of text, its filled cells only (a title, a note)."""
    return " ".join(cell for cell in row if cell)


def _width(row: Sequence[str]) -> int:
    """The number of cells up to the last filled one."""
    return max((i + 1 for i, cell in enumerate(row) if cell), default=0)


@dataclass
class SheetTally:
    """What was left out while reading a workbook, for the notes."""

    cells: int = 0
    hidden_sheets: list[str] = field(default_factory=list)
    hidden_rows: int = 0
    hidden_columns: set[tuple[str, int]] = field(default_factory=set)
    capped_sheets: list[str] = field(default_factory=list)
    unread_sheets: list[str] = field(default_factory=list)

    def notes(self, max_rows: int, max_cells: int) -> list[str]:
        """The report's notes, naming the row and cell limits the loader read under."""
        notes: list[str] = []
        if self.hidden_sheets:
            names = ", ".join(self.hidden_sheets)
            notes.append(f"{_count(len(self.hidden_sheets), 'hidden sheet')} left out: {names}")
        if self.hidden_rows or self.hidden_columns:
            parts = [_count(self.hidden_rows, "hidden row")] if self.hidden_rows else []
            if self.hidden_columns:
                parts.append(_count(len(self.hidden_columns), "hidden column"))
            notes.append(f"{' and '.join(parts)} with text left out")
        for name in self.capped_sheets:
            notes.append(f"sheet {name!r}: only its first {max_rows:,} rows were read")
        if self.unread_sheets:
            notes.append(
                f"the workbook holds more than {max_cells:,} filled cells; sheets not read: "
                + ", ".join(self.unread_sheets)
            )
        return notes


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'s' * (number != 1)}"
