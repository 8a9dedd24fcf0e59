"""Summaries that summarize: do Docent's whole-document summaries cover the document's
top-level sections, quote it faithfully, read cleanly, and come fast?

Run by hand (``python -m bench.summaries [--quick]``) or by ``make bench``; never a timed
test. Each document is ingested once into a data folder that later runs reuse
(``--work``, default ``bench/results/summaries-work``), then summarized at every length.

* Documents (Debian packages, ``make system-packages-bench``): the Debian Reference as
  its packaged PDF (a 261-page manual, the speed document), "An Introduction to R" (PDF
  manual), the Debian Policy Manual's chapters made into one DOCX by LibreOffice, the
  packaged Debian Policy PDF, and the Python Programming FAQ (HTML).
* **Ground truth outline**, read without Docent's loaders: a PDF's top-level bookmarks
  (pypdfium2) with their page ranges, an HTML page's ``h2`` sections under its one
  ``h1`` (BeautifulSoup), a DOCX's ``Heading 1`` paragraphs (python-docx).
* **Represented**: a section is represented when a shown point's quote lies in it (its
  page in the section's range for a PDF; its words found in the section's words
  otherwise). Target: 80% of sections for ``detailed``; for ``short``, the 5 largest
  sections by text length all represented.
* **Checked**: a point is a verbatim span of the document text (reassembled from the
  stored chunks) or a model point the checker kept (target 100%). **Debris**: a point
  that is a heading line (any level of the ground-truth outline), a contents or
  running-header line (``bench.reader.layout_line``) or a bare page number.
* Words shown (median per length), seconds per summary with the load average, and on a
  sample the ``model`` mode with the packaged SmolLM2 and with a larger GGUF
  (``--gguf``, measuring only): points kept and failed, parts that fell back, time.

The figures and every summary's text go to ``bench/results/summaries-<time>.{json,md}``;
the staff reader's grades are added to that JSON by hand after reading the sheet.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
import pypdfium2 as pdfium
from bs4 import BeautifulSoup

from app.api import Docent
from app.settings import Settings
from bench.answer_corpora import DEBIAN_POLICY, clean_html, convert
from bench.gold import R_INTRO
from bench.reader import layout_line, plain
from bench.results import RESULTS
from rag.filters import Filters

LENGTHS = ("short", "medium", "detailed")
COLLECTION = "summaries"
DETAILED_TARGET = 0.8
LARGEST = 5
SPEED_SECONDS = 30.0
QWEN = Path("/root/.cache/measure/qwen2.5-coder-0.5b-q4_k_m.gguf")
REFERENCE_PDF = Path("/usr/share/debian-reference/debian-reference.en.pdf")
POLICY_PDF = Path("/usr/share/doc/debian-policy/policy.pdf.gz")
PROGRAMMING_FAQ = Path("/usr/share/doc/python3.11/html/faq/programming.html")
_WORD = re.compile(r"\w+")
# A quote whose whole text is in no section (a loader joins text differently) is placed
# by its first words.
_PREFIX_WORDS = 8
# A PDF's running header left in a point's text: "Chapter 7: Reading data from files 34".
_RUNNING_HEADER = re.compile(r"(?:chapter|appendix)\s+[\dA-Z]{1,3}\s*:\s.*?\s\d{1,4}\b", re.I)


@dataclass(frozen=True)
class Section:
    """A top-level section of the ground-truth outline (pages 1-based, 0 without pages)."""

    title: str
    first_page: int
    last_page: int
    text: str


@dataclass(frozen=True)
class Document:
    """One document summarized: its file name, kind, how it is made and its outline."""

    name: str
    kind: str
    file: str
    build: Callable[[Path], None]
    truth: Callable[[Path], list[Section]]
    headings: Callable[[Path], set[str]]


# --- the ground truth outline, read without Docent ----------------------------------------


def pdf_outline(path: Path) -> list[Section]:
    """Top-level bookmarks with their page ranges: each runs to the page before the next
    one starts (its own first page when the next starts on the same page)."""
    pdf = pdfium.PdfDocument(path)
    marks = [
        (m.get_title().strip(), m.get_dest().get_index() + 1)
        for m in pdf.get_toc()
        if m.level == 0 and m.get_dest() is not None
    ]
    pages = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    sections = []
    for n, (title, first) in enumerate(marks):
        following = marks[n + 1][1] if n + 1 < len(marks) else len(pdf) + 1
        last = max(first, following - 1)
        sections.append(Section(title, first, last, "\n".join(pages[first - 1 : last])))
    return sections


def pdf_headings(path: Path) -> set[str]:
    """Every bookmark title, at any level."""
    return {normalize(m.get_title()) for m in pdfium.PdfDocument(path).get_toc()}


def _html_body(path: Path) -> Any:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")
    body = soup.select_one("div.body") or soup.body or soup
    for mark in body.select("a.headerlink"):
        mark.decompose()
    return body


def html_outline(path: Path) -> list[Section]:
    """The ``h2`` sections of a page with one ``h1`` (its ``h1`` sections otherwise),
    each with the text up to the next heading of its level."""
    body = _html_body(path)
    level = "h2" if len(body.find_all("h1")) <= 1 and body.find("h2") else "h1"
    sections: list[tuple[str, list[str]]] = []
    for node in body.descendants:
        if getattr(node, "name", None) == level:
            sections.append((node.get_text(" ", strip=True), []))
        elif isinstance(node, str) and sections and node.parent.name not in ("script", "style"):
            sections[-1][1].append(str(node))
    return [Section(title, 0, 0, "".join(parts)) for title, parts in sections]


def html_headings(path: Path) -> set[str]:
    """Every heading of the page, at any level."""
    tags = _html_body(path).find_all(re.compile(r"^h[1-6]$"))
    return {normalize(tag.get_text(" ", strip=True)) for tag in tags}


def _docx_blocks(path: Path) -> list[tuple[str, str]]:
    """(style, text) of each paragraph and table of the body, in order."""
    document = docx.Document(str(path))
    blocks = []
    for element in document.element.body.iterchildren():
        if element.tag.endswith("}p"):
            paragraph = docx.text.paragraph.Paragraph(element, document)
            blocks.append((paragraph.style.name if paragraph.style else "", paragraph.text))
        elif element.tag.endswith("}tbl"):
            table = docx.table.Table(element, document)
            cells = [cell.text for row in table.rows for cell in row.cells]
            blocks.append(("table", "\n".join(cells)))
    return blocks


def docx_outline(path: Path) -> list[Section]:
    """The ``Heading 1`` paragraphs, each with the text up to the next one."""
    sections: list[tuple[str, list[str]]] = []
    for style, text in _docx_blocks(path):
        if style == "Heading 1":
            sections.append((text.strip(), []))
        elif sections:
            sections[-1][1].append(text)
    return [Section(title, 0, 0, "\n".join(parts)) for title, parts in sections]


def docx_headings(path: Path) -> set[str]:
    """Every paragraph in a heading style."""
    return {normalize(t) for s, t in _docx_blocks(path) if s.startswith(("Heading", "Title"))}


# --- the metrics ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower-case words joined by single spaces: text compared whatever its layout."""
    return " ".join(_WORD.findall(plain(text).lower()))


def sections_of(quote: str, page: int, sections: Sequence[Section]) -> list[int]:
    """The sections a point's quote lies in: by its page when the outline has pages, else
    by its words. A quote whose words are in no one section (it runs across a heading, or
    a loader joined its text differently) is placed by each of its paragraphs, and a
    paragraph found nowhere by its first words."""
    if any(s.first_page for s in sections):
        return [n for n, s in enumerate(sections) if s.first_page <= page <= s.last_page]
    texts = [normalize(s.text) for s in sections]
    whole = _holding(normalize(quote), texts)
    if whole:
        return whole[:1]
    found: list[int] = []
    for paragraph in re.split(r"\n\s*\n", quote):
        words = normalize(paragraph)
        prefix = " ".join(words.split()[:_PREFIX_WORDS])
        held = _holding(words, texts) or _holding(prefix, texts)
        found += [n for n in held[:1] if n not in found]
    return found


def _holding(words: str, texts: Sequence[str]) -> list[int]:
    return [n for n, text in enumerate(texts) if words and words in text]


def represented(points: Sequence[tuple[str, int]], sections: Sequence[Section]) -> set[int]:
    """Indices of the sections that hold one of the (quote, page) points."""
    return {n for quote, page in points for n in sections_of(quote, page, sections)}


def largest(sections: Sequence[Section], count: int = LARGEST) -> list[int]:
    """Indices of the ``count`` sections with the most text."""
    ranked = sorted(range(len(sections)), key=lambda n: -len(normalize(sections[n].text)))
    return ranked[:count]


def verbatim(quote: str, start: int, end: int, text: str) -> bool:
    """Whether a quote is the document's text at its offsets, or (its whitespace aside)
    somewhere in it."""
    if quote and text[start:end] == quote:
        return True
    return bool(quote.strip()) and " ".join(quote.split()) in " ".join(text.split())


def debris(point: str, headings: set[str]) -> str:
    """What kind of debris a shown point is ("" when it is none): ``heading``,
    ``layout`` (a contents or running-header line), ``page_number``, or ``header_inside``
    (a running header or contents line within a longer point, its own line or its start)."""
    text = " ".join(plain(point).split()).strip(" -*>#")
    if re.fullmatch(r"(?:page\s+)?\d{1,4}|[ivxlc]{1,6}", text, re.IGNORECASE):
        return "page_number"
    if normalize(text) and normalize(text) in headings:
        return "heading"
    if layout_line(text):
        return "layout"
    lines = [line.strip() for line in plain(point).splitlines()]
    return "header_inside" if any(_RUNNING_HEADER.match(line) for line in lines) else ""


def document_text(docent: Docent, doc_id: str) -> str:
    """The document's text reassembled from its stored chunks (by their offsets)."""
    chunks = docent.index.collection(COLLECTION).document_chunks(Filters(documents=(doc_id,)))
    text = [" "] * max((c.char_end for c in chunks), default=0)
    for chunk in chunks:
        text[chunk.char_start : chunk.char_end] = chunk.text
    return "".join(text)


# --- the documents -------------------------------------------------------------------------


def _policy_docx(folder: Path) -> None:
    """The Policy Manual's chapters as one page in their order, each chapter's title an
    ``h1``, made a DOCX by LibreOffice."""
    chapters = []
    for chapter in DEBIAN_POLICY.glob("ch-*.html"):
        page = BeautifulSoup(clean_html(chapter), "lxml")
        title = page.find("h1")
        number = re.match(r"\d+", title.get_text(strip=True) if title else "")
        chapters.append((int(number.group()) if number else 99, page.body.decode_contents()))
    bodies = [body for _, body in sorted(chapters)]
    scratch = folder.parent / ".policy-html"
    scratch.mkdir(parents=True, exist_ok=True)
    page = scratch / "debian-policy.html"
    page.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Debian Policy Manual'
        "</title></head><body>\n" + "\n".join(bodies) + "\n</body></html>\n",
        encoding="utf-8",
    )
    convert([page], "docx", folder)
    shutil.rmtree(scratch, ignore_errors=True)


def _unzip(source: Path, name: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / name).write_bytes(gzip.decompress(source.read_bytes()))

    return build


def _copy(source: Path) -> Callable[[Path], None]:
    return lambda folder: shutil.copy(source, folder / source.name) and None


def _pdf(name: str, kind: str, source: Path, file: str = "") -> Document:
    build = _unzip(source, file) if file else _copy(source)
    return Document(name, kind, file or source.name, build, pdf_outline, pdf_headings)


DOCUMENTS = {
    d.name: d
    for d in (
        _pdf("reference", "manual, PDF (261 pages)", REFERENCE_PDF),
        _pdf("r_intro", "manual, PDF (Texinfo)", R_INTRO),
        Document(
            "policy_docx",
            "policy, DOCX (LibreOffice)",
            "debian-policy.docx",
            _policy_docx,
            docx_outline,
            docx_headings,
        ),
        _pdf("policy_pdf", "policy, PDF (Sphinx/LaTeX)", POLICY_PDF, "debian-policy.pdf"),
        Document(
            "faq",
            "FAQ, HTML",
            PROGRAMMING_FAQ.name,
            _copy(PROGRAMMING_FAQ),
            html_outline,
            html_headings,
        ),
    )
}
QUICK = ("faq", "r_intro")
MODEL_SAMPLE = ("faq", "r_intro")


def corpus(work: Path, names: Sequence[str]) -> Path:
    """Build (once) the folder of the documents named."""
    folder = work / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        document = DOCUMENTS[name]
        if not (folder / document.file).exists():
            document.build(folder)
    return folder


# --- measuring -------------------------------------------------------------------------------


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(
    docent: Docent, document: Document, path: Path, length: str, progress: Any = None
) -> dict[str, Any]:
    """One summary of one document: its figures and its text (``progress`` is passed on
    to ``Docent.summarize``)."""
    truth, headings = document.truth(path), document.headings(path)
    load = _load()
    started = time.perf_counter()
    summary = docent.summarize(
        COLLECTION,
        document.file,
        length=length,  # type: ignore[arg-type]
        progress=progress,
    )
    wall = time.perf_counter() - started
    record = docent.index.collection(COLLECTION).find(document.file)[0]
    text = document_text(docent, record.doc_id)
    points = [p for part in summary.sections for p in part.points]
    quoted = [(p.quote, p.page) for p in points if p.kind == "quote"]
    found = represented(quoted, truth)
    crossing = [q for q, page in quoted if len(sections_of(q, page, truth)) > 1]
    unchecked = [
        p.text for p in points if p.kind == "quote" and not verbatim(p.quote, p.start, p.end, text)
    ]
    found_debris = [(kind, p.text) for p in points if (kind := debris(p.text, headings))]
    top = largest(truth)
    return {
        "document": document.name,
        "length": length,
        "mode": summary.mode,
        "seconds": round(summary.seconds, 2),
        "wall_seconds": round(wall, 2),
        "load_before": load,
        "load_after": _load(),
        "words": len(plain(summary.text).split()),
        "parts": summary.parts,
        "outline_parts": summary.outline_parts,
        "truth_sections": len(truth),
        "represented": len(found),
        "represented_share": round(len(found) / len(truth), 3) if truth else 0.0,
        "missing": [s.title for n, s in enumerate(truth) if n not in found],
        "largest_represented": all(n in found for n in top),
        "largest_missing": [truth[n].title for n in top if n not in found],
        "points": len(points),
        "model_points": sum(p.kind == "model" for p in points),
        "checked_share": round(1 - len(unchecked) / len(points), 3) if points else 0.0,
        "not_verbatim": unchecked,
        "crossing": crossing,
        "debris": len(found_debris),
        "debris_points": found_debris,
        "calls": summary.calls,
        "unsupported": list(summary.unsupported),
        "fallback_parts": list(summary.fallback_parts),
        "text": summary.text,
        "made": summary.made(),
    }


def _docent(data: Path, **settings: Any) -> Docent:
    return Docent(Settings(data_dir=data, chat_temperature=0.0, **settings))


def run(
    names: Sequence[str],
    work: Path,
    models: Sequence[tuple[str, dict[str, Any]]],
    out: Path,
) -> dict[str, Any]:
    """Ingest (once) and summarize every document at every length; then the model sample
    (SmolLM2 on the first two of ``MODEL_SAMPLE``, another model on the first). The
    figures are saved to ``out`` after every summary, so a run stopped early keeps them."""
    folder = corpus(work, names)
    docent = _docent(work / "data")
    started = time.perf_counter()
    report = docent.ingest([folder / DOCUMENTS[n].file for n in names], COLLECTION)
    result: dict[str, Any] = {
        "documents": {n: {"kind": DOCUMENTS[n].kind, "file": DOCUMENTS[n].file} for n in names},
        "cores": os.cpu_count(),
        "ingest_seconds": round(time.perf_counter() - started, 1),
        "ingest_failed": [str(f) for f in getattr(report, "failed", [])],
        "summaries": [],
        "model_sample": [],
    }
    for name in names:
        path = folder / DOCUMENTS[name].file
        result["documents"][name]["pages"] = _pages(path)
        for length in LENGTHS:
            row = measure(docent, DOCUMENTS[name], path, length)
            result["summaries"].append(row)
            print(_line(row), flush=True)
            save(result, out)
    sample = [n for n in MODEL_SAMPLE if n in names]
    for label, settings in models:
        with_model = _docent(work / "data", **settings)
        for name in sample[: 2 if label == "smollm2" else 1]:
            path = folder / DOCUMENTS[name].file
            row = measure(with_model, DOCUMENTS[name], path, "short", _progress(label, name))
            row["model"] = label
            result["model_sample"].append(row)
            print(label, _line(row), flush=True)
            save(result, out)
    return result


def save(result: dict[str, Any], out: Path) -> None:
    """Write the figures (with their table) to ``out`` and the grading sheet beside it."""
    result["table"] = table(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(sheet(result))


def _progress(label: str, name: str) -> Callable[[int, int, str], None]:
    started = time.perf_counter()
    seen: set[int] = set()

    def show(step: int, steps: int, what: str) -> None:
        if step not in seen:
            seen.add(step)
            print(f"  {label} {name} {time.perf_counter() - started:5.0f} s  {what}", flush=True)

    return show


def _pages(path: Path) -> int:
    return len(pdfium.PdfDocument(path)) if path.suffix == ".pdf" else 0


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['document']:12} {row['length']:8} {row['mode']:6} {row['seconds']:6.1f} s "
        f"{row['words']:5} words  sections {row['represented']}/{row['truth_sections']}  "
        f"largest {'yes' if row['largest_represented'] else 'no'}  checked "
        f"{row['checked_share']:.0%}  debris {row['debris']}  model {row['model_points']}"
        f"/{row['points']}  fallback {len(row['fallback_parts'])}"
    )


def table(result: dict[str, Any]) -> str:
    """The figures as Markdown: one row per summary, then medians and the targets."""
    rows = [
        "",
        "| document | length | mode | sections | largest 5 | checked | debris | across | words "
        "| s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["summaries"] + result["model_sample"]:
        mode = r.get("model", r["mode"])
        rows.append(
            f"| {r['document']} | {r['length']} | {mode} | {r['represented']}/"
            f"{r['truth_sections']} ({r['represented_share']:.0%}) | "
            f"{'yes' if r['largest_represented'] else 'no'} | {r['checked_share']:.0%} | "
            f"{r['debris']} | {len(r['crossing'])} | {r['words']} | {r['seconds']} |"
        )
    rows.append("")
    for length in LENGTHS:
        words = [r["words"] for r in result["summaries"] if r["length"] == length]
        rows.append(f"- Median words, {length}: {statistics.median(words) if words else 0}")
    detailed = [r for r in result["summaries"] if r["length"] == "detailed"]
    shares = [r["represented_share"] for r in detailed]
    rows.append(
        f"- Detailed: sections represented, each >= {DETAILED_TARGET:.0%}: "
        f"{'PASS' if shares and min(shares) >= DETAILED_TARGET else 'MISS'}"
    )
    short = [r["largest_represented"] for r in result["summaries"] if r["length"] == "short"]
    rows.append(
        f"- Short: the {LARGEST} largest sections all represented: {sum(short)} of "
        f"{len(short)} documents"
    )
    speed = [r for r in detailed if r["document"] == "reference"]
    if speed:
        rows.append(
            f"- Reference PDF ({result['documents']['reference']['pages']} pages) "
            f"detailed in {speed[0]['seconds']} s (target {SPEED_SECONDS:.0f} s, "
            f"load {speed[0]['load_before']}): "
            f"{'PASS' if speed[0]['seconds'] <= SPEED_SECONDS else 'MISS'}"
        )
    return "\n".join(rows) + "\n"


def sheet(result: dict[str, Any]) -> str:
    """The grading sheet: the table, then every summary's figures and text."""
    out = ["# Summaries to grade\n", table(result)]
    for r in result["summaries"] + result["model_sample"]:
        out.append(f"\n## {r['document']} / {r['length']} / {r.get('model', r['mode'])}\n")
        out.append(f"{r['made']}; {r['seconds']} s; {r['words']} words\n")
        out.append(f"Missing sections: {', '.join(r['missing']) or 'none'}\n")
        for kind, text in r["debris_points"]:
            out.append(f"- debris ({kind}): {' '.join(text.split())[:160]}\n")
        for text in r["crossing"]:
            out.append(f"- runs across a section: {' '.join(text.split())[:160]}\n")
        for text in r["not_verbatim"]:
            out.append(f"- not verbatim: {' '.join(text.split())[:160]}\n")
        for text in r["unsupported"]:
            out.append(f"- model point left out: {' '.join(text.split())[:160]}\n")
        out.append("\n---\n\n" + r["text"] + "\n\n---\n")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures and save them with the grading sheet."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument(
        "--documents", help=f"comma-separated, of: {', '.join(DOCUMENTS)} (default: all)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=RESULTS / "summaries-work",
        help="keep the documents and the index here; the next run reuses them",
    )
    parser.add_argument(
        "--gguf", type=Path, default=QWEN, help="a larger GGUF for the model sample"
    )
    parser.add_argument(
        "--models",
        default="smollm2,gguf",
        help="the model sample: smollm2 (the packaged model), gguf (--gguf), or none",
    )
    args = parser.parse_args(argv)
    names = (
        args.documents.split(",") if args.documents else list(QUICK if args.quick else DOCUMENTS)
    )
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    wanted = args.models.split(",")
    models: list[tuple[str, dict[str, Any]]] = []
    if "smollm2" in wanted:
        models.append(("smollm2", {"summary_mode": "model"}))
    if "gguf" in wanted and not args.quick and args.gguf.exists():
        gguf = {"summary_mode": "model", "chat_gguf_path": args.gguf, "chat_gguf_sha256": ""}
        models.append((args.gguf.stem, gguf))
    out = RESULTS / f"summaries-{time.strftime('%Y%m%d-%H%M%S')}.json"
    result = run(names, args.work, models, out)
    print(result["table"])
    print(f"saved {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
