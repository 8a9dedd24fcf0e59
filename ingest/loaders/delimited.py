"""CSV and TSV loader: the file is one sheet, each row a line under its header.

The sheet is named by the file's stem, as Excel names the one sheet of a CSV it opens, so
a citation names its cells as in a workbook ("rota!A12:D12"); a row's number is its
record's place in the file (a quoted cell with line breaks is one record).

The delimiter of a .csv is sniffed (comma, semicolon, tab or bar: Excel writes
semicolons where the comma is the decimal mark); a .tsv is tab-separated. Text must be
UTF-8 (a byte-order mark is allowed, as Excel writes one); anything else fails with the
fix rather than being guessed, since a wrong guess garbles every figure.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ingest.document import LoaderError, ParsedDocument, Section
from ingest.loaders.table_rows import MAX_CELLS, MAX_ROWS, SheetPlace, cell_text, sheet_text

_SAMPLE_CHARS = 64 * 1024
_DELIMITERS = ",;\t|"


def load_delimited(path: Path) -> ParsedDocument:
    """Read a .csv or .tsv file into one section (page 1, the file's only sheet).

    Args:
        path: The file.

    Returns:
        The parsed document; rows past ``MAX_ROWS`` or ``MAX_CELLS`` are left out and noted.

    Raises:
        LoaderError: The file is not UTF-8, is malformed, or has no values.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoaderError(
            f"the {path.suffix.lower()} file is not UTF-8 text (byte {exc.start} cannot be "
            'read); save it again as UTF-8 (in Excel: "CSV UTF-8"; in LibreOffice: '
            'character set "Unicode (UTF-8)")'
        ) from exc
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff(text[:_SAMPLE_CHARS])
    rows: list[list[str]] = []
    places: list[SheetPlace] = []
    cells = 0
    notes: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            if number > MAX_ROWS or cells >= MAX_CELLS:
                notes.append(f"only the first {number - 1:,} rows were read")
                break
            row = [cell_text(value) for value in values]
            if any(row):
                rows.append(row)
                places.append(SheetPlace(number, range(1, len(row) + 1)))
                cells += sum(map(bool, row))
    except csv.Error as exc:
        raise LoaderError(
            f"the file is not valid {path.suffix.lower()} at line {reader.line_num}: {exc}; "
            "re-export it from the program that made it"
        ) from exc
    if not rows:
        raise LoaderError("the file holds no values; nothing to index")
    text, located = sheet_text(path.stem, rows, places)
    section = Section(text, 1, rows=located)
    return ParsedDocument(title=path.stem, sections=[section], pages=1, notes=notes)


def _sniff(sample: str) -> str:
    """The delimiter of a CSV sample; a comma when the sample does not tell."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","
