"""Loaders that misbehave on purpose, to prove the parsing worker's limits.

Top-level functions: the worker process receives them by reference.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

from ingest.document import ParsedDocument


def hang(path: Path) -> ParsedDocument:
    """Never returns, like pypdf caught in a cyclic object graph."""
    while True:
        time.sleep(0.05)


def hog_memory(path: Path) -> ParsedDocument:
    """Inflates like a decompression bomb."""
    blocks = []
    while True:
        blocks.append(bytearray(256 * 1024 * 1024))


def crash(path: Path) -> ParsedDocument:
    """Dies inside native code, like a C extension fed a broken file."""
    ctypes.string_at(0)
    raise AssertionError("unreachable")


def slow_scan(path: Path) -> ParsedDocument:
    """A scanned PDF read by OCR: the page count in the file, each page taking 0.5 s."""
    from ingest import ocr
    from ingest.document import Section

    pages = int(path.read_text(encoding="utf-8"))
    for _ in range(pages):
        for listener in ocr._page_listeners:
            listener()
        time.sleep(0.5)
    return ParsedDocument(
        title="scan", sections=[Section("read by OCR", 1, "")], pages=pages, ocr_pages=[1]
    )


def rewritten_while_read(path: Path) -> ParsedDocument:
    """Reads the file, then someone saves a new version of it before the parser is done:
    the same size, and the old modification time put back (as a copy that keeps times
    does), so only the file's change time tells."""
    import os

    from ingest.document import Section

    text = path.read_text(encoding="utf-8")
    before = path.stat()
    path.write_text(text.replace("27 days", "30 days"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return ParsedDocument(title=path.stem, sections=[Section(text)])
