"""The answer benchmark's corpora: documents of different kinds, each with gold questions.

Every corpus is a folder of real public documents from Debian packages (installed by
``make system-packages WHERE=bench``, see deploy/system-packages.txt) and its gold:
section headings as questions, section bodies as answers (``bench.gold``).

* ``python``: FAQ, HTML: the Python FAQ pages (``python3.11-doc``);
* ``r``: FAQ, PDF: the R FAQ (``r-doc-pdf``);
* ``manual``: manual, PDF: "An Introduction to R" (``r-doc-pdf``);
* ``procedure``: procedural manual, HTML: the Debian Reference's chapters
  (``debian-reference-en``), with numbered steps, commands and tables;
* ``policy``: policy set, DOCX and PDF: the Debian Policy Manual's chapters
  (``debian-policy``), each converted by LibreOffice, alternately to DOCX and to PDF,
  with lists, conditions and figures;
* ``python_pdf``: one text held as HTML and PDF: the Python FAQ pages converted to PDF,
  indexed beside their HTML.

``python_pdf`` asks other FAQ questions than ``python`` (its every-n-th draw starts half a
step later) of the same index; with it selected, ``python`` too is asked of an index that
holds each FAQ page twice. ``--quick`` keeps a part of the two largest manuals.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

from bench.gold import PYTHON_FAQ, R_FAQ, R_INTRO, GoldQuestion, html_sections, python_faq
from bench.gold import r_faq as r_faq_gold
from bench.gold import r_intro as r_intro_gold

DEBIAN_REFERENCE = Path("/usr/share/debian-reference")
DEBIAN_POLICY = Path("/usr/share/doc/debian-policy/policy.html")
# The chapters of the larger manuals a quick run keeps.
QUICK_REFERENCE = ("ch01", "ch03", "ch05", "ch08")
QUICK_POLICY = 6
_REFERENCE_JUNK = "div.toc, div.navheader, div.navfooter"
_CONVERT_TIMEOUT = 900


@dataclass(frozen=True)
class Corpus:
    """One corpus of the answer benchmark.

    Attributes:
        name: Its name in ``--corpora`` and in the figures.
        kind: What kind of documents it holds.
        package: The Debian package its documents come from.
        files: The documents, given whether the run is quick.
        build: Writes the documents into a folder (copies or conversions).
        gold: Its gold questions, given whether the run is quick.
        needs: Other corpora indexed with it (their folders), not asked.
        offset: Where its every-n-th draw of questions starts, as a share of the step.
    """

    name: str
    kind: str
    package: str
    files: Callable[[bool], list[Path]]
    build: Callable[[list[Path], Path], None]
    gold: Callable[[bool], list[GoldQuestion]]
    needs: tuple[str, ...] = ()
    offset: float = 0.0

    def folder(self, quick: bool) -> str:
        """Its folder under the corpus folder (a quick part has its own)."""
        smaller = quick and self.files(True) != self.files(False)
        return f"{self.name}-quick" if smaller else self.name

    def missing(self) -> str:
        """Why it cannot be built here ("" when it can)."""
        if not all(path.exists() for path in self.files(False)) or not self.files(False):
            return f"{self.name}: install the Debian package {self.package}"
        if self.build in (_policy_build, _pdf_build) and shutil.which("soffice") is None:
            return f"{self.name}: install the Debian package libreoffice-writer-nogui"
        return ""


def _copy(files: list[Path], folder: Path) -> None:
    for path in files:
        shutil.copy(path, folder / path.name)


def _reference_chapters(quick: bool) -> list[Path]:
    chapters = sorted(DEBIAN_REFERENCE.glob("ch[0-9][0-9].en.html"))
    return [c for c in chapters if c.name[:4] in QUICK_REFERENCE] if quick else chapters


def _policy_chapters(quick: bool) -> list[Path]:
    chapters = sorted(DEBIAN_POLICY.glob("ch-*.html"))
    return chapters[:QUICK_POLICY] if quick else chapters


def clean_html(page: Path, body: str = "div.body") -> str:
    """A documentation page as a plain document: its body with its title, without the
    site's navigation, header links, scripts and images."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
    main = soup.select_one(body) or soup.body or soup
    for element in main.select("a.headerlink, nav, script, style, img, div.sphinxsidebar"):
        element.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else page.stem
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>\n{main.decode_contents()}\n</body></html>\n"
    )


def convert(pages: Sequence[Path], target: str, folder: Path) -> None:
    """Clean each HTML page and convert it with LibreOffice (``pdf`` or ``docx``).

    Raises:
        RuntimeError: When LibreOffice fails or writes no file.
    """
    scratch = folder.parent / f".{folder.name}-html"
    scratch.mkdir(parents=True, exist_ok=True)
    cleaned = []
    for page in pages:
        out = scratch / page.name
        out.write_text(clean_html(page), encoding="utf-8")
        cleaned.append(out)
    filters = {"pdf": "pdf:writer_pdf_Export", "docx": "docx:MS Word 2007 XML"}
    profile = (folder.parent / ".libreoffice").resolve()
    command = [
        "soffice",
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--infilter=HTML (StarWriter)",
        "--convert-to",
        filters[target],
        "--outdir",
        str(folder),
        *map(str, cleaned),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=_CONVERT_TIMEOUT)
    made = [folder / f"{page.stem}.{target}" for page in cleaned]
    if done.returncode != 0 or not all(path.exists() for path in made):
        raise RuntimeError(f"LibreOffice could not convert {folder.name}: {done.stderr[-500:]}")
    shutil.rmtree(scratch)


def _policy_build(files: list[Path], folder: Path) -> None:
    """Chapters alternately as DOCX and as PDF: a set of policy documents in both."""
    convert(files[0::2], "docx", folder)
    convert(files[1::2], "pdf", folder)


def _pdf_build(files: list[Path], folder: Path) -> None:
    convert(files, "pdf", folder)


def _faq_pages(quick: bool) -> list[Path]:
    return sorted(PYTHON_FAQ.glob("*.html"))


CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus("python", "FAQ, HTML", "python3.11-doc", _faq_pages, _copy, lambda q: python_faq()),
        Corpus("r", "FAQ, PDF", "r-doc-pdf", lambda q: [R_FAQ], _copy, lambda q: r_faq_gold()),
        Corpus(
            "manual",
            "manual, PDF",
            "r-doc-pdf",
            lambda q: [R_INTRO],
            _copy,
            lambda q: r_intro_gold(),
        ),
        Corpus(
            "procedure",
            "procedural manual, HTML",
            "debian-reference-en",
            _reference_chapters,
            _copy,
            lambda q: html_sections(
                "procedure", _reference_chapters(q), "div.chapter", _REFERENCE_JUNK
            ),
        ),
        Corpus(
            "policy",
            "policy set, DOCX and PDF",
            "debian-policy",
            _policy_chapters,
            _policy_build,
            lambda q: html_sections("policy", _policy_chapters(q)),
        ),
        Corpus(
            "python_pdf",
            "FAQ held as HTML and PDF",
            "python3.11-doc",
            _faq_pages,
            _pdf_build,
            lambda q: python_faq(faq="python_pdf"),
            needs=("python",),
            offset=0.5,
        ),
    )
}
DEFAULT = ("python", "r", "manual", "procedure", "policy", "python_pdf")


def selected(names: str) -> list[Corpus]:
    """The corpora named in a comma-separated list ("all": every one).

    Raises:
        SystemExit: For an unknown name or a corpus whose package is missing.
    """
    wanted = list(DEFAULT) if names == "all" else [n.strip() for n in names.split(",") if n]
    unknown = [n for n in wanted if n not in CORPORA]
    if unknown:
        raise SystemExit(f"unknown corpora {unknown}; choose from {', '.join(CORPORA)}")
    missing = [why for n in wanted if (why := CORPORA[n].missing())]
    if missing:
        raise SystemExit("cannot build the corpora: " + "; ".join(missing))
    return [CORPORA[n] for n in wanted]


def folders(corpora: Sequence[Corpus], root: Path, quick: bool) -> list[Path]:
    """Build (once) the folders the corpora are indexed from, their needs included."""
    names = dict.fromkeys(n for c in corpora for n in (*c.needs, c.name))
    paths = []
    for name in names:
        corpus = CORPORA[name]
        folder = root / corpus.folder(quick)
        if not folder.exists():
            building = folder.with_name(f"{folder.name}.part")
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir(parents=True)
            corpus.build(corpus.files(quick), building)
            building.rename(folder)
        paths.append(folder)
    return paths
