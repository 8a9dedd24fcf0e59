"""A document's outline: every heading with its level, where its section starts, kept once
by the chunk that holds that start, through the index and back."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from docx import Document
from fpdf import FPDF

from app.settings import Settings
from ingest.chunker import Chunker, Piece, document_text
from ingest.document import ParsedDocument, Section
from ingest.loaders import load
from models.embedder import Embedder, TokenCounter
from models.weights import packaged_embedder_dir
from rag.codec import chunk_metadata, stored_chunk
from rag.filters import Filters
from rag.types import Chunk, Heading
from tests import docgen
from tests.indexed import indexed

PROSE = (
    "The archive keeps every package that was uploaded, with its sources and its build "
    "logs. Mirrors copy it every six hours and serve it to the offices. "
)

HTML = """<!DOCTYPE html><html><head><title>Harbor guide</title></head><body><main>
<h1>Harbor guide</h1>
<h2>Network</h2>
<p>The office network has two floors of access points.</p>
<h3>VPN <a class="headerlink" href="#vpn">¶</a></h3>
<p>Open the VPN client and sign in with your badge number.</p>
<h2>Printing</h2>
<p>Printers on floor 3 accept jobs from the queue harbor-print-3.</p>
<h1>Appendix</h1>
<h2>Contacts</h2>
<h3>Desk</h3>
<p>Call the desk on 555.</p>
</main></body></html>
"""

MARKDOWN = """---
title: Ops handbook
---
# Ops handbook
## Setup

Install the agent on every server.

```
# not a heading
```

### Details

The agent reads its settings at start.

Rotation
========

Logs rotate daily.

Retention
---------

Logs are kept for a year.
"""

RST = """=====
Guide
=====

Intro text.

Install
=======

Run the installer.

Options
-------

Pass ``--quiet``.

Upgrade
=======

Run it again.
"""


TOPICS = ("Parking", "Badges", "Canteen", "Printing")


def _pdf(path: Path, items: list[tuple[str, str, float, int | None]]) -> Path:
    """A PDF of ("heading"|"body"|"page", text, size, bookmark level from 0 or None) items."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(docgen.FIXED_DATE)
    pdf.add_page()
    for kind, text, size, bookmark in items:
        if kind == "page":
            pdf.add_page()
            continue
        if bookmark is not None:
            pdf.start_section(text if kind == "body" else _bookmark_title(text), level=bookmark)
        pdf.set_font("Helvetica", "B" if kind == "heading" else "", size)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(path))
    return path


def _bookmark_title(heading: str) -> str:
    """A bookmark's title as PDF makers vary it: no numbering, other case and spacing."""
    return "  ".join(heading.split(" ", 1)[-1].upper().split())


def _bookmarked_pdf(path: Path) -> Path:
    return _pdf(
        path,
        [
            ("heading", "3. Packages", 18, 0),
            ("heading", "3.1. Archive", 14, 1),
            ("body", PROSE * 3, 11, None),
            ("heading", "3.2. Mirror sites", 14, 1),
            ("body", PROSE * 3, 11, None),
            ("page", "", 0, None),
            ("body", PROSE * 3, 11, None),
            # Set like a section, bookmarked as a chapter: the bookmark wins.
            ("heading", "Glossary", 14, 0),
            ("body", PROSE * 3, 11, None),
        ],
    )


def _numbered_pdf(path: Path) -> Path:
    return _pdf(
        path,
        [
            ("heading", "1. Scope", 18, None),
            ("heading", "1.1 Purpose", 14, None),
            ("body", PROSE * 3, 11, None),
            ("heading", "1.1.2 Terms used", 13, None),
            ("body", PROSE * 3, 11, None),
            ("page", "", 0, None),
            ("heading", "Annex", 18, None),
            ("body", PROSE * 2, 11, None),
            ("heading", "Notes", 14, None),
            ("body", PROSE * 2, 11, None),
        ],
    )


def _docx(path: Path) -> Path:
    document = Document()
    document.add_heading("Records Policy", level=0)
    document.add_heading("1. Scope", level=1)
    document.add_paragraph("This policy covers every record the office keeps.")
    document.add_heading("Purpose", level=2)
    document.add_paragraph("Records are kept so that decisions can be traced.")
    document.add_heading("2. Retention", level=1)
    document.add_paragraph("Invoices are kept for ten years.")
    document.save(str(path))
    return path


def _outline(document: ParsedDocument) -> list[tuple[int, str, tuple[tuple[int, str], ...]]]:
    return [(s.level, s.heading, s.opens) for s in document.sections]


def test_html_headings_keep_their_levels_and_a_chapter_without_text(tmp_path: Path) -> None:
    path = tmp_path / "guide.html"
    path.write_text(HTML)
    assert _outline(load(path)) == [
        (2, "Network", ((1, "Harbor guide"), (2, "Network"))),
        (3, "VPN", ((3, "VPN"),)),
        (2, "Printing", ((2, "Printing"),)),
        (3, "Desk", ((1, "Appendix"), (2, "Contacts"), (3, "Desk"))),
    ]


def test_docx_title_and_heading_styles_give_levels(tmp_path: Path) -> None:
    assert _outline(load(_docx(tmp_path / "policy.docx"))) == [
        (1, "1. Scope", ((1, "Records Policy"), (1, "1. Scope"))),
        (2, "Purpose", ((2, "Purpose"),)),
        (1, "2. Retention", ((1, "2. Retention"),)),
    ]


def test_docx_contents_heading_left_out_with_its_entries_is_no_part_of_the_outline(
    tmp_path: Path,
) -> None:
    path = docgen.make_docx_with_contents(
        tmp_path / "faq.docx",
        "Harbor FAQ",
        [(topic, f"{topic} questions go to the front desk.") for topic in TOPICS],
        how="typed",
        intro="",
    )
    opens = [heading for section in load(path).sections for heading in section.opens]
    assert opens == [(1, "Harbor FAQ")] + [(1, topic) for topic in TOPICS]


def test_markdown_atx_and_setext_levels(tmp_path: Path) -> None:
    path = tmp_path / "ops.md"
    path.write_text(MARKDOWN)
    assert _outline(load(path)) == [
        (2, "Setup", ((1, "Ops handbook"), (2, "Setup"))),
        (3, "Details", ((3, "Details"),)),
        (1, "Rotation", ((1, "Rotation"),)),
        (2, "Retention", ((2, "Retention"),)),
    ]


def test_rst_levels_follow_the_order_adornments_first_appear(tmp_path: Path) -> None:
    path = tmp_path / "guide.rst"
    path.write_text(RST)
    assert _outline(load(path)) == [
        (1, "Guide", ((1, "Guide"),)),  # overlined and underlined: a style of its own
        (2, "Install", ((2, "Install"),)),
        (3, "Options", ((3, "Options"),)),
        (2, "Upgrade", ((2, "Upgrade"),)),
    ]


def test_plain_text_has_no_headings(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Printers are on floor 3.\n\nBadges open doors.\n")
    assert _outline(load(path)) == [(0, "", ())]


def test_pdf_levels_come_from_its_bookmarks(tmp_path: Path) -> None:
    document = load(_bookmarked_pdf(tmp_path / "packages.pdf"))
    assert [
        (s.page, *row) for s, row in zip(document.sections, _outline(document), strict=True)
    ] == [
        (1, 2, "3.1. Archive", ((1, "3. Packages"), (2, "3.1. Archive"))),
        (1, 2, "3.2. Mirror sites", ((2, "3.2. Mirror sites"),)),
        (2, 2, "3.2. Mirror sites", ()),  # the same section, on the next page
        (2, 1, "Glossary", ((1, "Glossary"),)),
    ]


def test_pdf_without_bookmarks_levels_by_numbering_then_size(tmp_path: Path) -> None:
    document = load(_numbered_pdf(tmp_path / "scope.pdf"))
    assert _outline(document) == [
        (2, "1.1 Purpose", ((1, "1. Scope"), (2, "1.1 Purpose"))),
        (3, "1.1.2 Terms used", ((3, "1.1.2 Terms used"),)),
        (1, "Annex", ((1, "Annex"),)),
        (2, "Notes", ((2, "Notes"),)),
    ]


@pytest.fixture(scope="module")
def tokens() -> TokenCounter:
    return TokenCounter(packaged_embedder_dir())


def _held(pieces: list[Piece]) -> list[Heading]:
    return [heading for piece in pieces for heading in piece.headings]


def _assert_outline_kept_once(document: ParsedDocument, pieces: list[Piece]) -> None:
    text, offsets = document_text(document)
    expected = [
        Heading(offset, level, heading)
        for section, offset in zip(document.sections, offsets, strict=True)
        for level, heading in section.opens
    ]
    assert expected and _held(pieces) == expected
    for index, piece in enumerate(pieces):
        for heading in piece.headings:
            assert piece.char_start <= heading.offset < piece.char_end
            assert all(not p.char_start <= heading.offset < p.char_end for p in pieces[:index])
    for section, offset in zip(document.sections, offsets, strict=True):
        assert text[offset:].startswith(section.text)


def _written(name: str, text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_text(text)
        return folder / name

    return write


@pytest.mark.parametrize(
    "make",
    [
        lambda d: _bookmarked_pdf(d / "packages.pdf"),
        lambda d: _numbered_pdf(d / "scope.pdf"),
        lambda d: _docx(d / "policy.docx"),
        _written("guide.html", HTML),
        _written("ops.md", MARKDOWN),
        _written("guide.rst", RST),
    ],
    ids=["pdf-bookmarks", "pdf-numbered", "docx", "html", "markdown", "rst"],
)
def test_each_heading_lands_in_exactly_one_chunk_at_its_sections_start(
    tmp_path: Path, tokens: TokenCounter, make: Callable[[Path], Path]
) -> None:
    document = load(make(tmp_path))
    for chunk_tokens, overlap in ((256, 32), (48, 16)):
        pieces = Chunker(tokens, chunk_tokens, overlap).split(document)
        _assert_outline_kept_once(document, pieces)


def test_overlapping_chunks_keep_a_heading_once_and_an_end_offset_goes_to_the_next(
    tokens: TokenCounter,
) -> None:
    sections = [
        Section(PROSE * 6, 1, "Archive", 2, ((1, "Packages"), (2, "Archive"))),
        Section(PROSE * 6, 1, "Mirrors", 2, ((2, "Mirrors"),)),
        Section(PROSE * 2, 2, "Mirrors", 2, ()),
    ]
    document = ParsedDocument("Packages", sections, pages=2)
    pieces = Chunker(tokens, 64, 24).split(document)
    assert any(b.char_start < a.char_end for a, b in itertools.pairwise(pieces))
    _assert_outline_kept_once(document, pieces)
    assert [h.text for h in _held(pieces)] == ["Packages", "Archive", "Mirrors"]


def test_a_heading_in_no_chunk_goes_to_the_next_one(tokens: TokenCounter) -> None:
    # A section of punctuation makes no chunk: its heading goes to the next chunk, and a
    # heading opening the document's empty tail goes to the last chunk.
    sections = [
        Section("Printers are on floor 3.", 1, "Printing", 1, ((1, "Printing"),)),
        Section("* * *", 2, "Rule", 1, ((1, "Rule"),)),
        Section("Badges open doors.", 3, "Badges", 1, ((1, "Badges"),)),
        Section("— · —", 4, "End", 1, ((1, "End"),)),
    ]
    document = ParsedDocument("Office", sections, pages=4)
    pieces = Chunker(tokens, 256, 32).split(document)
    assert [[h.text for h in p.headings] for p in pieces] == [
        ["Printing"],
        ["Rule", "Badges", "End"],
    ]


def _chunk(headings: tuple[Heading, ...]) -> Chunk:
    return Chunk(
        id="d:00000",
        text="Printers are on floor 3.",
        embed_text="",
        doc_id="d",
        position=0,
        source="guide.html",
        title="Guide",
        page=0,
        heading="Printing",
        char_start=0,
        char_end=24,
        headings=headings,
    )


def test_codec_round_trip_of_headings_and_chunks_stored_before_outlines() -> None:
    headings = (Heading(0, 1, "Guide — “quotes”, [brackets]"), Heading(0, 2, "Printing"))
    meta = chunk_metadata(_chunk(headings))
    assert meta["outline"] == '[[0,1,"Guide — “quotes”, [brackets]"],[0,2,"Printing"]]'
    assert all(isinstance(value, str | int | float | bool) for value in meta.values())
    assert stored_chunk("d:00000", "Printers are on floor 3.", meta).headings == headings
    plain = chunk_metadata(_chunk(()))
    assert "outline" not in plain
    assert stored_chunk("d:00000", "x", plain).headings == ()
    old = {"doc_id": "d", "position": 3, "source": "a.pdf", "page": 2, "heading": "Scope"}
    assert stored_chunk("d:00003", "x", old).headings == ()


@pytest.mark.slow
def test_outline_read_back_from_the_index(tmp_path: Path, embedder: Embedder) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "guide.html").write_text(HTML)
    _bookmarked_pdf(share / "packages.pdf")
    collection = indexed(Settings(data_dir=tmp_path / "data"), embedder, share).index.collection(
        "docs"
    )
    outlines: dict[str, list[tuple[int, str]]] = {}
    for record in collection.records():
        chunks = collection.document_chunks(Filters(documents=(record.doc_id,)))
        held = [(chunk, h) for chunk in chunks for h in chunk.headings]
        assert all(c.char_start <= h.offset < c.char_end for c, h in held)
        outlines[record.source] = [(h.level, h.text) for _, h in held]
        ids = [chunk.id for chunk in chunks]
        assert ids == [f"{record.doc_id}:{n:05d}" for n in range(len(chunks))]
    assert outlines == {
        "guide.html": [
            (1, "Harbor guide"),
            (2, "Network"),
            (3, "VPN"),
            (2, "Printing"),
            (1, "Appendix"),
            (2, "Contacts"),
            (3, "Desk"),
        ],
        "packages.pdf": [
            (1, "3. Packages"),
            (2, "3.1. Archive"),
            (2, "3.2. Mirror sites"),
            (1, "Glossary"),
        ],
    }
