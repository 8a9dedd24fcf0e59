"""Office packages (.xlsx, .pptx) are ZIP archives: checked before a parser opens them.

A small ZIP can inflate to gigabytes. Python's zipfile never inflates an entry past the
size its central directory declares, so checking the declared sizes bounds what parsing
reads. Only the central directory is read here; nothing is decompressed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingest.document import LoaderError

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
"""Refuse packages whose entries add up to more than this when inflated."""

MAX_COMPRESSION_RATIO = 100
"""Refuse large entries that inflate more than this many times (Office XML is ~10:1)."""

LARGE_ENTRY_BYTES = 10 * 1024 * 1024
"""Entries smaller than this are not ratio-checked: tiny files can have any ratio."""


def check_package(path: Path, kind: str, part: str, fix: str) -> None:
    """Refuse a file that is not a ZIP, lacks its main part, or would inflate too far.

    Args:
        path: The file.
        kind: What the file should be, for messages ("Excel workbook").
        part: A part every such package holds ("xl/workbook.xml").
        fix: What to do with a damaged file ("open it in Excel ... and save it again").

    Raises:
        LoaderError: With the reason and the fix.
    """
    suffix = path.suffix.lower()
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    # A damaged central directory can also hold a name that is not UTF-8.
    except (zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise LoaderError(
            f"the {suffix} file is not a valid ZIP package ({exc}); it is damaged or not "
            f"an {kind}: {fix}"
        ) from exc
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise LoaderError(
            f"the {suffix} inflates to {total // 2**20} MiB (limit "
            f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB); it looks like a zip bomb and was not opened"
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > LARGE_ENTRY_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise LoaderError(
                f"the {suffix} entry {entry.filename} inflates {ratio:.0f} times; it looks "
                "like a zip bomb and was not opened"
            )
    if part not in {entry.filename for entry in entries}:
        raise LoaderError(
            f"the file is a ZIP but not an {kind} (no {part}); give it the extension of "
            f"its real type, or {fix}"
        )
