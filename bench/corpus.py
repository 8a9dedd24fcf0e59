"""The benchmark corpus: real public-domain manuals from Debian packages.

PDFs are the R manuals (``r-doc-pdf``), HTML is the Python 3.11 documentation
(``python3.11-doc``). Both are real-world documents with tables, code and headings, and
both are already on the machine or one ``apt-get install`` away, so the benchmark never
downloads anything from a model hub or a web site. Files are copied (not linked) into a
fresh folder so every tool sees ordinary files and their relative layout.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pypdf import PdfReader

PDF_PACKAGE = "r-doc-pdf"
HTML_PACKAGE = "python3.11-doc"
HTML_ROOT = Path("/usr/share/doc/python3.11/html")
# The four user manuals: ~290 pages of PDF. Not fullrefman/refman (thousands of pages).
DEFAULT_PDFS = ("R-intro", "R-data", "R-admin", "R-FAQ")
# 29 library pages, ~0.5 M characters of text: ~600 chunks of 1000 characters.
DEFAULT_HTML_GLOB = "library/a*.html"
# The smoke corpus (--quick): the shortest manual and the 10 smallest pages of the glob.
QUICK_PDFS = ("R-data",)
QUICK_HTML_FILES = 10


class CorpusError(Exception):
    """The corpus cannot be built (packages missing and not installable, bad names)."""


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus.

    Attributes:
        path: Path relative to the corpus root.
        kind: ``pdf`` or ``html``.
        pages: PDF pages, or 1 for an HTML file (one "page" per web page).
        size: Bytes.
    """

    path: str
    kind: str
    pages: int
    size: int


@dataclass
class Corpus:
    """A corpus folder and what it holds.

    Attributes:
        root: The folder passed to the tools under test.
        files: Every file, sorted by path.
    """

    root: Path
    files: list[CorpusFile] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """PDF pages plus HTML files: the unit of throughput in the report."""
        return sum(item.pages for item in self.files)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (without the temporary root)."""
        return {
            "pages": self.pages,
            "pdf_files": sum(item.kind == "pdf" for item in self.files),
            "html_files": sum(item.kind == "html" for item in self.files),
            "bytes": sum(item.size for item in self.files),
            "files": [asdict(item) for item in self.files],
        }


def _apt_install() -> None:
    """Install the two documentation packages (only called when their files are absent)."""
    command = ["apt-get", "install", "-y", PDF_PACKAGE, HTML_PACKAGE]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CorpusError(
            f"`{' '.join(command)}` failed: {result.stderr.strip()[-500:]}\n"
            f"hint: run it as root, or install {PDF_PACKAGE} and {HTML_PACKAGE} by hand"
        )


def _packaged_pdfs() -> dict[str, Path]:
    """R manual PDFs by stem, found through the package's file list (empty if absent)."""
    result = subprocess.run(
        ["dpkg", "-L", PDF_PACKAGE], capture_output=True, text=True, check=False
    )
    found: dict[str, Path] = {}
    for line in result.stdout.splitlines():
        path = Path(line)
        if path.suffix == ".pdf" and path.is_file():
            found.setdefault(path.stem, path)
    return found


def _html_files(html_glob: str) -> list[Path]:
    """Python HTML pages matching the glob, sorted; none for an empty glob."""
    if not html_glob:
        return []
    return sorted(path for path in HTML_ROOT.glob(html_glob) if path.is_file())


def _sources_present(pdf_names: tuple[str, ...], html_glob: str) -> bool:
    pdfs = _packaged_pdfs()
    html_ok = not html_glob or HTML_ROOT.is_dir()
    return all(name in pdfs for name in pdf_names) and html_ok


def ensure_sources(pdf_names: tuple[str, ...], html_glob: str) -> dict[str, Path]:
    """Make sure the source documents exist, installing the packages if needed.

    Args:
        pdf_names: R manual stems, e.g. ``R-intro``.
        html_glob: Glob under the Python HTML docs, e.g. ``library/a*.html``.

    Returns:
        The R manual PDFs by stem.

    Raises:
        CorpusError: A package cannot be installed or a named manual does not exist.
    """
    if not _sources_present(pdf_names, html_glob):
        _apt_install()
    pdfs = _packaged_pdfs()
    missing = [name for name in pdf_names if name not in pdfs]
    if missing:
        raise CorpusError(
            f"R manuals not found: {', '.join(missing)}; available: {', '.join(sorted(pdfs))}"
        )
    return pdfs


def _copy(source: Path, root: Path, relative: str, kind: str) -> CorpusFile:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    pages = len(PdfReader(target).pages) if kind == "pdf" else 1
    return CorpusFile(path=relative, kind=kind, pages=pages, size=target.stat().st_size)


def build_corpus(
    root: Path, pdf_names: tuple[str, ...], html_glob: str, html_smallest: int | None = None
) -> Corpus:
    """Copy the chosen documents into ``root`` (``pdf/`` and ``html/`` subfolders).

    Args:
        root: An empty folder to fill.
        pdf_names: R manual stems to include.
        html_glob: Glob of Python HTML pages, relative to the HTML docs root.
        html_smallest: Keep only the n smallest HTML files (a fast smoke corpus), or all.

    Returns:
        The corpus, with page counts (pypdf for PDFs, 1 per HTML file).

    Raises:
        CorpusError: Sources are missing and cannot be installed, or the glob matches nothing.
    """
    pdfs = ensure_sources(pdf_names, html_glob)
    html_files = _html_files(html_glob)
    if html_glob and not html_files:
        raise CorpusError(f"No HTML files match {html_glob!r} under {HTML_ROOT}")
    corpus = Corpus(root=root)
    for name in pdf_names:
        corpus.files.append(_copy(pdfs[name], root, f"pdf/{name}.pdf", "pdf"))
    if html_smallest is not None:
        html_files = sorted(html_files, key=lambda path: (path.stat().st_size, path))
        html_files = html_files[:html_smallest]
    for path in html_files:
        relative = f"html/{path.relative_to(HTML_ROOT)}"
        corpus.files.append(_copy(path, root, relative, "html"))
    corpus.files.sort(key=lambda item: item.path)
    return corpus
