"""Reading pages that have no text layer (scans) with Tesseract OCR.

Debian's ``tesseract-ocr`` (with ``tesseract-ocr-eng``) is the engine: it runs on CPU,
needs no download at run time and reads clean 300 dpi scans with a character error rate
near 1%. A page is rendered to a greyscale image with PDFium and handed to the
``tesseract`` command, page by page, from inside the parsing worker, so the worker's time
and memory limits cover OCR too (the command inherits the address-space cap, and it is
killed with the worker when the time runs out). The worker is told as each page starts
(``on_page``), so it can give the file more time per OCR page instead of one budget for a
file of any length.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

OCR_DPI = 300
"""Resolution pages are rendered at for OCR (Tesseract is tuned for about 300 dpi)."""

OCR_LANGUAGE = "eng"
"""Tesseract language data used."""

PAGE_TIMEOUT_SECONDS = 60.0
"""Longest one page may take; the worker's own limit for the whole file still applies."""

INSTALL_HINT = (
    "install the OCR engine to read them: apt-get install tesseract-ocr tesseract-ocr-eng"
)
"""What to install when no engine is present (Debian package names)."""


_page_listeners: list[Callable[[], None]] = []


def on_page(listener: Callable[[], None]) -> None:
    """Call ``listener`` as each page starts OCR in this process (the parsing worker's hook)."""
    _page_listeners.append(listener)


class OcrError(Exception):
    """The engine failed on a page (the message says how)."""


def engine() -> str | None:
    """The path of the ``tesseract`` command, or None when it is not installed."""
    return shutil.which("tesseract")


def read_page_image(command: str, page: Any, dpi: int = OCR_DPI) -> str:
    """OCR one PDFium page: render it at ``dpi`` and return Tesseract's text.

    Args:
        command: The ``tesseract`` executable.
        page: A ``pypdfium2.PdfPage``.
        dpi: Rendering resolution.

    Returns:
        The recognised text, lines separated by newlines and paragraphs by blank lines.

    Raises:
        OcrError: Tesseract is missing its language data, failed or took too long.
    """
    for listener in _page_listeners:
        listener()
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    image = bitmap.to_pil()
    with tempfile.TemporaryDirectory(prefix="docent-ocr-") as folder:
        picture = Path(folder) / "page.png"
        image.save(picture, dpi=(dpi, dpi))
        return read_image(command, picture)


def read_image(command: str, picture: Path) -> str:
    """OCR an image file with Tesseract (page segmentation: automatic)."""
    try:
        done = subprocess.run(
            [command, str(picture), "stdout", "-l", OCR_LANGUAGE, "--psm", "3"],
            capture_output=True,
            timeout=PAGE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OcrError(f"OCR took longer than {PAGE_TIMEOUT_SECONDS:g} s") from exc
    except OSError as exc:
        raise OcrError(f"the OCR engine could not start ({exc})") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(
            f"OCR failed ({message[-1] if message else done.returncode}); "
            "check that tesseract-ocr-eng is installed"
        )
    return done.stdout.decode("utf-8", "replace")
