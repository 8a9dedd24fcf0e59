"""Hostile files: fuzzed and malformed PDFs, DOCX and HTML through the isolated parse path.

Hypothesis mutates real seed files (flipped, zeroed, duplicated and cut byte runs) and
feeds each result to ``parse_isolated`` with the real loaders, as ingest does: every
input ends as a parsed document or a ``LoaderError`` with a reason, and the test process
(the parent) lives on. A corpus of hand-made malformed files then goes through a real
ingest: one row per file, each bad one failed with its reason, the good one added.
The parser's memory is capped by the worker (``parse_memory_mb``); the cap itself is
proven in test_ingest.py with a loader that allocates without end.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.api import Docent
from ingest.document import LoaderError, ParsedDocument
from ingest.isolation import ParseLimits, parse_isolated
from ingest.loaders import load
from tests import docgen

# Each example parses in an isolated child process, hundreds of them.
pytestmark = pytest.mark.slow

LIMITS = ParseLimits(timeout_seconds=30.0, memory_bytes=512 * 1024 * 1024)


def _seeds(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "pdf": docgen.make_pdf(folder / "seed.pdf").read_bytes(),
        "docx": docgen.make_docx(folder / "seed.docx").read_bytes(),
        "html": docgen.make_html(folder / "seed.html").read_bytes(),
    }


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return _seeds(tmp_path_factory.mktemp("seeds"))


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed with a few byte runs flipped, zeroed, repeated or cut out."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data) - 1))
        size = draw(st.integers(1, 64))
        action = draw(st.sampled_from(["flip", "zero", "repeat", "cut", "truncate", "junk"]))
        run = data[start : start + size]
        if action == "flip":
            data[start : start + size] = bytes(b ^ 0xFF for b in run)
        elif action == "zero":
            data[start : start + size] = bytes(len(run))
        elif action == "repeat":
            data[start:start] = run * draw(st.integers(2, 50))
        elif action == "cut":
            del data[start : start + size]
        elif action == "truncate":
            del data[start:]
        else:
            data[start:start] = draw(st.binary(min_size=1, max_size=64))
        if not data:
            data = bytearray(b"%")
    return bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from(["pdf", "docx", "html"]), data=st.data())
def test_mutated_files_parse_or_fail_with_a_reason(
    seeds: dict[str, bytes], tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    path = tmp_path / f"fuzzed.{kind}"
    path.write_bytes(data.draw(mutated(seeds[kind]), label="bytes"))
    try:
        document = parse_isolated(path, load, LIMITS)
    except LoaderError as error:
        assert str(error).strip(), "a failure must say why"
        assert "Traceback" not in str(error)
        return
    assert isinstance(document, ParsedDocument)
    assert all(isinstance(section.text, str) for section in document.sections)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _docx_with(docx: bytes, document_xml: bytes) -> bytes:
    """The seed .docx with its word/document.xml replaced."""
    with zipfile.ZipFile(io.BytesIO(docx)) as seed:
        entries = {name: seed.read(name) for name in seed.namelist()}
    return _zip(entries | {"word/document.xml": document_xml})


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies, with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream_pdf(content: bytes, *, compress: bool) -> bytes:
    data = zlib.compress(content, 1) if compress else content
    flate = b" /Filter /FlateDecode" if compress else b""
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length %d%s >>\nstream\n" % (len(data), flate) + data + b"\nendstream",
        ]
    )


def malformed(folder: Path, seeds: dict[str, bytes]) -> set[str]:
    """Write the malformed corpus (and one good file, ``good.pdf``); return the bad names."""
    pdf, docx, html = seeds["pdf"], seeds["docx"], seeds["html"]
    laughs = b'<!DOCTYPE d [<!ENTITY a "lol">' + b"".join(
        b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9)
    )
    files = {
        "truncated.pdf": pdf[: len(pdf) * 3 // 5],
        "header-only.pdf": b"%PDF-1.7\n",
        "no-xref.pdf": pdf.replace(b"startxref", b"startxxxx").replace(b"xref", b"xxxx"),
        "page-tree-loop.pdf": _pdf(
            [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]
        ),
        "huge-count.pdf": _pdf(
            [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 999999999 >>"]
        ),
        "flate-bomb.pdf": _stream_pdf(b"0 0 m " * 40_000_000, compress=True),
        "nested-arrays.pdf": _stream_pdf(b"[" * 200_000 + b"]" * 200_000, compress=False),
        "truncated.docx": docx[: len(docx) // 2],
        "no-document.docx": _zip({"[Content_Types].xml": b"<?xml version='1.0'?><Types/>"}),
        "bad-xml.docx": _docx_with(docx, b"<w:document><w:body><w:p>"),
        "entity-bomb.docx": _docx_with(docx, laughs + b"]><d>&j;</d>"),
        "bad-crc.docx": docx[:200] + bytes(b ^ 0x55 for b in docx[200:260]) + docx[260:],
        "cut-tag.html": html[: len(html) // 3] + b"<a href='",
        "deep.html": b"<html><body>" + b"<div>" * 30_000 + b"x",
        "nul-bytes.html": b"<html><body><p>a\x00b\x00c</p>" + bytes(4096),
        "bad-charset.html": b"<meta charset='x-no-such-charset'><p>caf\xe9 \xff\xfe</p>",
        "huge-attribute.html": b"<p title='" + b"A" * 8_000_000 + b"'>hello</p>",
        "script-only.html": b"<html><script>var a = 1;</script></html>",
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    (folder / "good.pdf").write_bytes(pdf)
    return set(files)


def test_malformed_corpus_fails_file_by_file_with_reasons(
    docent: Docent, seeds: dict[str, bytes], tmp_path: Path
) -> None:
    share = tmp_path / "malformed"
    share.mkdir()
    names = malformed(share, seeds)
    docent.settings = docent.settings.model_copy(update={"parse_memory_mb": 512})

    report = docent.ingest([share], "docs")

    rows = {o.source: o for o in report.files}
    assert len(report.files) == len(rows) == len(names) + 1, "one row per file"
    assert rows["good.pdf"].status == "added"
    # Damaged HTML still has readable text, and PDFium rebuilds a lost cross-reference
    # table by scanning the objects: the loaders keep what they can read.
    readable = {"bad-charset.html", "cut-tag.html", "huge-attribute.html", "no-xref.pdf"}
    for name in readable:
        assert rows[name].status == "added", (name, rows[name].reason)
    for name in names - readable:
        reason = rows[name].reason
        assert rows[name].status == "failed", (name, rows[name].status)
        assert reason.strip() and "Traceback" not in reason, (name, reason)
    assert report.exit_code == 2
    # The parent and its parsing workers are still fine: a good file still goes in.
    (share / "late.txt").write_text("Added after the hostile files.\n")
    assert docent.ingest([share], "docs").counts()["added"] == 1
