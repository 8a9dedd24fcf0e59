"""Format loaders and the registry that picks one by extension.

`load` is the entry point: it refuses empty files and files whose content contradicts
their extension (a .pdf that is really a ZIP, an HTML error page saved as .pdf) with a
message a person can act on, before any parser sees the bytes. Loaders are top-level
functions so the worker process can receive them by reference.

The format parsers (pypdf, python-docx, BeautifulSoup) are imported when a file is
parsed, in the worker processes, which preload them (``PARSER_MODULES``): a run that
parses nothing, such as a re-ingest of unchanged files, never imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.document import LoaderError, ParsedDocument

Loader = Callable[[Path], ParsedDocument]

# Extension (lowercase, with the dot) -> (module of ingest.loaders, loader function).
_BY_SUFFIX: dict[str, tuple[str, str]] = {
    ".pdf": ("pdf", "load_pdf"),
    ".docx": ("docx", "load_docx"),
    ".html": ("html", "load_html"),
    ".htm": ("html", "load_html"),
    ".md": ("text", "load_markdown"),
    ".markdown": ("text", "load_markdown"),
    ".txt": ("text", "load_text"),
    ".text": ("text", "load_text"),
    ".rst": ("text", "load_rst"),
    ".xlsx": ("xlsx", "load_xlsx"),
    ".xlsm": ("xlsx", "load_xlsx"),
    ".csv": ("delimited", "load_delimited"),
    ".tsv": ("delimited", "load_delimited"),
    ".pptx": ("pptx", "load_pptx"),
    ".eml": ("eml", "load_eml"),
    ".odt": ("odt", "load_odt"),
    ".ods": ("ods", "load_ods"),
    ".odp": ("odp", "load_odp"),
    ".doc": ("legacy", "load_legacy"),
    ".xls": ("legacy", "load_legacy"),
    ".ppt": ("legacy", "load_legacy"),
    ".rtf": ("legacy", "load_legacy"),
    ".mbox": ("mbox", "load_mbox"),
    ".msg": ("msg", "load_msg"),
}

SUFFIXES = frozenset(_BY_SUFFIX)
"""The supported extensions (lowercase, with the dot)."""

PARSER_MODULES = sorted({f"{__name__}.{module}" for module, _ in _BY_SUFFIX.values()})
"""The modules holding the loaders, for worker processes to import ahead."""

if TYPE_CHECKING:
    LOADERS: dict[str, Loader]
    """Loader for each supported extension (imports every parser on first use)."""


def loader_for(suffix: str) -> Loader | None:
    """The loader for an extension (lowercase, with the dot), or None if unsupported."""
    found = _BY_SUFFIX.get(suffix)
    if found is None:
        return None
    module, function = found
    loader: Loader = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return loader


def __getattr__(name: str) -> Any:
    if name == "LOADERS":
        return {suffix: loader_for(suffix) for suffix in _BY_SUFFIX}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SNIFF_BYTES = 1024
"""How much of a file's start is read to recognise its real type."""

_EXPECTED = {".pdf": "pdf", ".docx": "zip", ".xlsx": "zip", ".xlsm": "zip", ".pptx": "zip"}
_EXPECTED |= {".odt": "zip", ".ods": "zip", ".odp": "zip"}
_EXPECTED |= {".msg": "ole"}
# Old Office names hold old or new Office files, or RTF: their loader tells them apart.
_SNIFFED_BY_LOADER = frozenset({".doc", ".xls", ".ppt"})
# The Office packages: what each is called, and the program that saves it again.
_PACKAGES = {
    ".docx": ("a Word .docx package", "Word"),
    ".xlsx": ("an Excel .xlsx workbook", "Excel"),
    ".xlsm": ("an Excel .xlsm workbook", "Excel"),
    ".pptx": ("a PowerPoint .pptx presentation", "PowerPoint"),
    ".odt": ("an OpenDocument .odt text", "Writer"),
    ".ods": ("an OpenDocument .ods spreadsheet", "Calc"),
    ".odp": ("an OpenDocument .odp presentation", "Impress"),
    ".msg": ("an Outlook .msg message", ""),
}
_LOOKS_LIKE = {
    "pdf": "a PDF",
    "zip": "a ZIP/Office file",
    "ole": "an old Office file (.doc/.xls) or a password-protected Office file",
}

__all__ = [
    "LOADERS",
    "PARSER_MODULES",
    "SUFFIXES",
    "Loader",
    "load",
    "loader_for",
    "sniff",
    "supported",
]


def supported(path: Path) -> bool:
    """Whether a loader exists for the file's extension (case-insensitive)."""
    return path.suffix.lower() in SUFFIXES


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
    loader = loader_for(suffix)
    if loader is None:
        raise LoaderError(
            f"unsupported file type {suffix or '(no extension)'}; "
            f"supported: {', '.join(sorted(SUFFIXES))}"
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
    if suffix in _SNIFFED_BY_LOADER:
        return
    kind = sniff(head)
    expected = _EXPECTED.get(suffix)
    if expected is not None and kind != expected:
        name, program = _PACKAGES.get(suffix, ("a PDF", ""))
        if program and kind == "ole":
            raise LoaderError(
                f"this {suffix} file is not {name} (its content looks like "
                f"{_LOOKS_LIKE['ole']}); open it in {program} or LibreOffice and save it "
                f"again without a password as {suffix}"
            )
        raise LoaderError(
            f"this {suffix} file is not {name} (its content looks like {_describe(head)}); "
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
