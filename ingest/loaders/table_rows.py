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
    columns = max((_width(row) for row in rows), default=0)
    header_at = next((i for i, row in enumerate(rows) if sum(map(bool, row)) > 1), None)
    if header_at is None:
        return "\n".join(" ".join(cell for cell in row if cell) for row in rows)
    lead = [" ".join(cell for cell in row if cell) for row in rows[:header_at]]
    header = row_line(rows[header_at], columns)
    blocks: list[list[str]] = []
    for row in rows[header_at + 1 :]:
        line = row_line(row, columns)
        if not blocks or sum(map(len, blocks[-1])) + len(line) > BLOCK_CHARS:
            blocks.append([header])
        blocks[-1].append(line)
    parts = ["\n".join(lead)] if lead else []
    parts += ["\n".join(block) for block in blocks] or [header]
    return "\n\n".join(parts)


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
