"""The original documents behind citations, as the reader downloads them.

A citation points at a page; for a PDF the reader can take that page alone (a one-page
PDF cut from the original with pypdf, nothing re-rendered), beside the whole file. A file
is served as the original only when its bytes still hash to the indexed document: a file
of the same size put in its place is not the original.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

_CHUNK = 1024 * 1024


def is_original(path: Path, sha256: str) -> bool:
    """Whether the file at ``path`` is still the document whose bytes hash to ``sha256``."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            while block := file.read(_CHUNK):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == sha256


def pdf_page(path: Path, page: int) -> bytes | None:
    """Page ``page`` (1-based) of the PDF at ``path`` as a PDF of its own.

    None when the file is not a PDF pypdf can read, needs a password, or has no such page.
    A PDF encrypted with an empty user password (it opens without asking) is cut as any
    other: the reader could read that page anyway.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        if not 1 <= page <= len(reader.pages):
            return None
        writer = PdfWriter()
        writer.add_page(reader.pages[page - 1])
        writer.add_metadata({"/Title": f"{path.name}, page {page}"})
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, OSError, ValueError):
        return None
    return out.getvalue()
