"""The original documents behind citations, as the reader downloads them.

A citation points at a page; for a PDF the reader can take that page alone (a one-page
PDF cut from the original with pypdf, nothing re-rendered), beside the whole file.
"""

from __future__ import annotations

import io
from pathlib import Path


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
