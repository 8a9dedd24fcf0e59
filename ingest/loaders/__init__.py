"""Format loaders and the registry that picks one by extension.

`load` is the entry point: it refuses empty files and files whose content contradicts
their extension (a .pdf that is really a ZIP, an HTML error page saved as .pdf) with a
message a person can act on, before any parser sees the bytes. Loaders are top-level
functions so the worker process can receive them by reference.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.document import LoaderError, ParsedDocument
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import load_markdown, load_rst, load_text

Loader = Callable[[Path], ParsedDocument]

LOADERS: dict[str, Loader] = {
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".text": load_text,
    ".rst": load_rst,
}
"""Loader for each supported extension (lowercase, with the dot)."""

SNIFF_BYTES = 1024
"""How much of a file's start is read to recognise its real type."""

_EXPECTED = {".pdf": "pdf", ".docx": "zip"}
_LOOKS_LIKE = {
    "pdf": "a PDF",
    "zip": "a ZIP/Office file",
    "ole": "an old Office file (.doc/.xls) or a password-protected Office file",
}

__all__ = ["LOADERS", "Loader", "load", "sniff", "supported"]


def supported(path: Path) -> bool:
    """Whether a loader exists for the file's extension (case-insensitive)."""
    return path.suffix.lower() in LOADERS


def sniff(head: bytes) -> str | None:
    """Name a file's real type from its first bytes.

    Args:
        head: The start of the file (at least the first 1024 bytes when it has them).

    Returns:
        "pdf", "zip" (also .docx/.xlsx), "ole" (old .doc/.xls, encrypted Office files),
        or None when no known signature matches.
    """
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"
    return None


def load(path: Path) -> ParsedDocument:
    """Parse a file with the loader for its extension, after checking its content type.

    Args:
        path: The file to read.

    Returns:
        The parsed document.

    Raises:
        LoaderError: The type is unsupported, the file is empty, unreadable, not what its
            extension says, or the loader refused it.
    """
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise LoaderError(
            f"unsupported file type {suffix or '(no extension)'}; "
            f"supported: {', '.join(sorted(LOADERS))}"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        if not head:
            raise LoaderError("the file is empty (0 bytes)")
        _check_content(suffix, head)
        return loader(path)
    except OSError as exc:
        raise LoaderError(f"the file cannot be read: {exc.strerror or exc}") from exc


def _check_content(suffix: str, head: bytes) -> None:
    """Refuse a file whose first bytes contradict its extension."""
    kind = sniff(head)
    expected = _EXPECTED.get(suffix)
    if expected is not None and kind != expected:
        if suffix == ".docx" and kind == "ole":
            raise LoaderError(
                "this .docx file is not a Word .docx package (its content looks like "
                f"{_LOOKS_LIKE['ole']}); open it in Word or LibreOffice and save it as an "
                "unprotected .docx"
            )
        name = "PDF" if expected == "pdf" else "Word .docx package"
        raise LoaderError(
            f"this {suffix} file is not a {name} (its content looks like {_describe(head)}); "
            "rename it with the right extension or re-export it"
        )
    # Text may quote "%PDF-" in its first lines; only a PDF starts with it.
    if expected is None and kind is not None and (kind != "pdf" or head.startswith(b"%PDF-")):
        raise LoaderError(
            f"this {suffix} file is not text (its content looks like {_LOOKS_LIKE[kind]}); "
            "rename it with the right extension"
        )


def _describe(head: bytes) -> str:
    """What the start of a file looks like, in words, for error messages."""
    kind = sniff(head)
    if kind is not None:
        return _LOOKS_LIKE[kind]
    if head.lstrip()[:1] == b"<":
        return "HTML or XML text"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                return "unrecognised binary data"
        return "plain text"
    return "unrecognised binary data"
