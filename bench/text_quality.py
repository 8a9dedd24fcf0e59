"""Text-quality benchmark: glued words in real typeset PDFs, OCR accuracy and speed.

Glued words: for each real PDF from Debian's documentation packages (``debmake-doc``,
``valgrind``, ``fontconfig``, ``r-doc-pdf``), the share of whitespace-separated tokens
longer than 20 characters and the pages per second, read two ways in the same run:
``pypdf`` (``page.extract_text()``, the parser the PDF loader used before) and Docent's
PDF loader (``ingest.loaders.pdf.load_pdf``). Where the package ships the same text in
another format (debmake-doc's ``.txt``), its share is printed beside them.

OCR: a generated two-page text PDF is scanned (rendered at 200 and 300 dpi, skewed 0.6
degrees, speckled; ``tests/pdf_layouts.scanned_copy``) and read back by the loader with
Tesseract; character error rate against the text layer's own reading, and OCR pages per
second.

Retrieval quality before/after is ``bench/retrieval.py`` run on both trees.

Run: ``.venv/bin/python -m bench.text_quality``. Results are printed and written to
``bench/results/text-quality-<timestamp>.json``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest import ocr
from ingest.loaders.pdf import load_pdf
from tests import docgen, pdf_layouts

RESULTS = Path(__file__).parent / "results"
DOC = Path("/usr/share/doc")
PDFS = {
    "debmake-doc.en.pdf": DOC / "debmake-doc/debmake-doc.en.pdf",
    "valgrind_manual.pdf": DOC / "valgrind/valgrind_manual.pdf.gz",
    "fontconfig-user.pdf": DOC / "fontconfig/fontconfig-user.pdf.gz",
    "R-FAQ.pdf": Path("/usr/share/R/doc/manual/R-FAQ.pdf"),
}
PLAIN_TEXT = {"debmake-doc.en.pdf": DOC / "debmake-doc/debmake-doc.en.txt.gz"}
OCR_TEXT = [
    (
        "Leave policy",
        "Staff may carry over up to five days of annual leave into the next calendar year. "
        "Requests for parental leave must reach the human resources office eight weeks "
        "ahead of the planned start.\n\nSick leave of more than three days needs a "
        "doctor's note; the first three days need only a message to the line manager.",
    ),
    (
        "Expenses",
        "Travel is booked through the company's agency. Hotel costs are refunded up to the "
        "city rate published each January, meals up to forty euros a day.\n\nReceipts are "
        "scanned and attached to the claim within thirty days of the journey.",
    ),
]


@dataclass
class FileFigures:
    """Glued-token shares (percent) and pages per second, before and after."""

    name: str
    pages: int
    glued_before: float
    glued_after: float
    pages_per_second_before: float
    pages_per_second_after: float
    glued_plain_text: float | None


def glued_share(text: str) -> float:
    """Percent of whitespace-separated tokens longer than 20 characters."""
    tokens = text.split()
    return 100 * sum(len(token) > 20 for token in tokens) / max(1, len(tokens))


def _pypdf_text(path: Path) -> tuple[str, int, float]:
    from pypdf import PdfReader

    start = time.perf_counter()
    reader = PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text, len(reader.pages), time.perf_counter() - start


def _docent_text(path: Path) -> tuple[str, float]:
    start = time.perf_counter()
    document = load_pdf(path)
    text = "\n".join(section.text for section in document.sections)
    return text, time.perf_counter() - start


def measure_file(name: str, source: Path, work: Path) -> FileFigures:
    """Read one real PDF both ways."""
    path = work / name
    if source.suffix == ".gz":
        with gzip.open(source) as packed, path.open("wb") as out:
            shutil.copyfileobj(packed, out)
    else:
        shutil.copy(source, path)
    before, pages, before_seconds = _pypdf_text(path)
    after, after_seconds = _docent_text(path)
    plain = PLAIN_TEXT.get(name)
    return FileFigures(
        name=name,
        pages=pages,
        glued_before=round(glued_share(before), 2),
        glued_after=round(glued_share(after), 2),
        pages_per_second_before=round(pages / before_seconds, 1),
        pages_per_second_after=round(pages / after_seconds, 1),
        glued_plain_text=(
            round(glued_share(gzip.open(plain).read().decode()), 2)
            if plain and plain.exists()
            else None
        ),
    )


def measure_ocr(work: Path) -> dict[str, float]:
    """Character error rate and pages per second of OCR on generated scans."""
    source = docgen.make_pdf(work / "ocr-source.pdf", OCR_TEXT, body_size=11)
    truth_doc = load_pdf(source)
    truth = " ".join(f"{s.heading} {s.text}" for s in truth_doc.sections)
    figures: dict[str, float] = {}
    for dpi in (200, 300):
        scan = pdf_layouts.scanned_copy(source, work / f"scan-{dpi}.pdf", dpi=dpi)
        start = time.perf_counter()
        document = load_pdf(scan)
        seconds = time.perf_counter() - start
        read = " ".join(section.text for section in document.sections)
        figures[f"cer_percent_{dpi}dpi"] = round(
            100 * pdf_layouts.character_error_rate(truth, read), 2
        )
        figures[f"ocr_pages_per_second_{dpi}dpi"] = round(len(document.ocr_pages) / seconds, 3)
    return figures


def main() -> int:
    """Run the benchmark, print and save the figures."""
    results: dict[str, object] = {"files": [], "ocr": None}
    with tempfile.TemporaryDirectory(prefix="docent-text-quality-") as folder:
        work = Path(folder)
        files = []
        for name, source in PDFS.items():
            if not source.exists():
                print(f"{name}: missing ({source}); install its Debian package")
                continue
            figures = measure_file(name, source, work)
            files.append(asdict(figures))
            print(
                f"{name:24} {figures.pages:4} pages  glued {figures.glued_before:5.2f}% -> "
                f"{figures.glued_after:5.2f}% (plain text {figures.glued_plain_text})  "
                f"pages/s {figures.pages_per_second_before} -> {figures.pages_per_second_after}"
            )
        results["files"] = files
        if ocr.engine() is None:
            print(f"OCR: no engine; {ocr.INSTALL_HINT}")
        else:
            results["ocr"] = measure_ocr(work)
            print(f"OCR: {results['ocr']}")
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"text-quality-{stamp}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
