"""The chunker on real tokenizers and real documents: limits, pages, spans, overlap, headings.

Token limits are checked with the sentence-transformers model's own tokenizer, not with
the ``TokenCounter`` the chunker uses, so a disagreement between the two would show up.
"""

from __future__ import annotations

import base64
import itertools
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from ingest.chunker import Chunker, Piece, document_text
from ingest.document import ParsedDocument, Section
from ingest.loaders import load
from models.embedder import EMBEDDER_MAX_TOKENS, Embedder, TokenCounter
from models.weights import packaged_embedder_dir
from tests.docgen import make_pdf
from tests.system import require

CHUNK_TOKENS = 256
OVERLAP_TOKENS = 32
# The chunker caps the "title — heading" header at this many word pieces.
HEADER_CAP = 32
PYTHON_JSON_DOCS = Path("/usr/share/doc/python3.11/html/library/json.html")

_WORDS = [
    "harbor",
    "office",
    "staff",
    "printer",
    "queue",
    "badge",
    "leave",
    "policy",
    "invoice",
    "archive",
    "server",
    "room",
    "laptop",
    "network",
    "meeting",
    "budget",
    "quarter",
    "report",
    "pilot",
    "rollout",
    "answer",
    "citation",
    "record",
    "visitor",
    "log",
    "retention",
    "owner",
    "finance",
    "reception",
    "security",
    "backup",
    "restore",
    "schedule",
]


# --- documents ---------------------------------------------------------------------------


def prose(sentences: int, seed: int) -> str:
    """Deterministic English-like sentences with numbers, so every word is easy to find."""
    rng = random.Random(seed)
    lines = []
    for index in range(sentences):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 14))]
        lines.append(f"Item{seed}x{index} {' '.join(words)} costs {rng.randint(1, 999)} euros.")
    return " ".join(lines)


def sentences_of(count: int, text: str) -> str:
    """A text of about ``count`` word pieces: ``text`` words repeated, closed by a full stop."""
    return " ".join([text] * count) + "."


def multi_page_document() -> ParsedDocument:
    return ParsedDocument(
        title="Harbor operations manual",
        sections=[
            Section(prose(3, 1), page=1, heading="Scope"),
            Section(prose(40, 2), page=1, heading="Printing"),
            Section(prose(2, 3), page=2, heading="Printing"),
            Section(prose(60, 4) + "\n\n" + prose(5, 5), page=2, heading="Badges"),
            Section(prose(1, 6), page=3, heading="Badges"),
            Section(prose(4, 7), page=3, heading="Contacts"),
        ],
        pages=3,
    )


def run_on_sentence_document() -> ParsedDocument:
    rng = random.Random(11)
    text = " ".join(rng.choice(_WORDS) + str(rng.randint(0, 99)) for _ in range(4000))
    return ParsedDocument("Run-on", [Section(text[:20_000].strip(), page=1, heading="Log")])


def base64_document() -> ParsedDocument:
    blob = base64.b64encode(random.Random(12).randbytes(37_500)).decode("ascii")
    assert len(blob) == 50_000 and " " not in blob
    return ParsedDocument("Attachment", [Section(blob, page=1, heading="Blob")])


def cjk_document() -> ParsedDocument:
    # Chinese with full-width punctuation (not a sentence end for the chunker) and a
    # Japanese kana run, none of it separated by spaces.
    chinese = "本公司员工每年享有二十七天带薪年假，服务器机房的门禁密码每月更换一次。"
    kana = "にほんごのぶんしょうはたんごのあいだにくうはくをいれません"
    return ParsedDocument(
        "多语言", [Section((chinese * 60 + kana * 8) * 2, page=4, heading="休假")]
    )


def tiny_lines_document() -> ParsedDocument:
    text = "\n".join(f"r{index} ok" for index in range(4000))
    return ParsedDocument("Table dump", [Section(text, page=1, heading="Rows")])


def long_heading_document() -> ParsedDocument:
    heading = "Appendix on " + " ".join(_WORDS * 40)
    return ParsedDocument(
        title="Annual report of the harbor office " * 30,
        sections=[Section(prose(80, 21), page=1, heading=heading)],
    )


HAND_BUILT: dict[str, Callable[[], ParsedDocument]] = {
    "multi-page": multi_page_document,
    "run-on-sentence": run_on_sentence_document,
    "base64-blob": base64_document,
    "cjk": cjk_document,
    "tiny-lines": tiny_lines_document,
    "long-heading": long_heading_document,
}


@pytest.fixture(scope="module")
def loaded_pdf(tmp_path_factory: pytest.TempPathFactory) -> ParsedDocument:
    path = make_pdf(
        tmp_path_factory.mktemp("chunker") / "manual.pdf",
        pages=[
            ("Printing", prose(120, 31)),  # flows over several PDF pages
            ("Badges", prose(3, 32)),
            (None, prose(2, 33)),
            ("Contacts", prose(1, 34)),
        ],
        title="Harbor manual",
    )
    document = load(path)
    assert document.pages >= 5
    return document


@pytest.fixture(scope="module")
def loaded_html() -> ParsedDocument:
    require(PYTHON_JSON_DOCS, "python3.11-doc")
    document = load(PYTHON_JSON_DOCS)
    assert len(document.sections) > 5
    return document


@pytest.fixture(params=[*HAND_BUILT, "json-html", "pdf"])
def document(request: pytest.FixtureRequest) -> ParsedDocument:
    name: str = request.param
    if name in HAND_BUILT:
        return HAND_BUILT[name]()
    loaded: ParsedDocument = request.getfixturevalue(
        "loaded_html" if name == "json-html" else "loaded_pdf"
    )
    return loaded


@pytest.fixture(scope="module")
def tokens() -> TokenCounter:
    return TokenCounter(packaged_embedder_dir())


@pytest.fixture(scope="module")
def chunker(tokens: TokenCounter) -> Chunker:
    return Chunker(tokens, chunk_tokens=CHUNK_TOKENS, overlap_tokens=OVERLAP_TOKENS)


@pytest.fixture(scope="module")
def model_tokenizer(embedder: Embedder) -> Any:
    """The tokenizer the model is fed with (the int8 encoder's own, or sentence-transformers')."""
    tokenizer = embedder.model().tokenizer
    if isinstance(tokenizer, Tokenizer):
        uncut = Tokenizer.from_str(tokenizer.to_str())
        uncut.no_truncation()
        return uncut
    return tokenizer


def model_count(tokenizer: Any, text: str) -> int:
    """Word pieces the model would see for ``text``, [CLS] and [SEP] included, uncut."""
    if isinstance(tokenizer, Tokenizer):
        return len(tokenizer.encode(text, add_special_tokens=True).ids)
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def section_at(document: ParsedDocument, offset: int) -> int:
    """Index of the section whose text contains the document-text offset."""
    _, offsets = document_text(document)
    for index in reversed(range(len(offsets))):
        if offsets[index] <= offset:
            assert offset < offsets[index] + len(document.sections[index].text)
            return index
    raise AssertionError(f"offset {offset} precedes the first section")


# --- properties on every document ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("chunk_tokens", [CHUNK_TOKENS, 64])
def test_no_piece_is_truncated(
    document: ParsedDocument, tokens: TokenCounter, model_tokenizer: Any, chunk_tokens: int
) -> None:
    pieces = Chunker(tokens, chunk_tokens=chunk_tokens, overlap_tokens=16).split(document)

    assert pieces
    counts = [model_count(model_tokenizer, piece.embed_text) for piece in pieces]
    assert max(counts) <= chunk_tokens <= EMBEDDER_MAX_TOKENS


def test_pieces_are_verbatim_spans_in_reading_order(
    document: ParsedDocument, chunker: Chunker
) -> None:
    text, _ = document_text(document)
    pieces = chunker.split(document)

    for piece in pieces:
        assert text[piece.char_start : piece.char_end] == piece.text
        assert piece.embed_text.endswith(piece.text)
    starts = [piece.char_start for piece in pieces]
    assert starts == sorted(starts)


def test_pieces_never_cross_pages(document: ParsedDocument, chunker: Chunker) -> None:
    pieces = chunker.split(document)

    for piece in pieces:
        first = section_at(document, piece.char_start)
        last = section_at(document, piece.char_end - 1)
        pages = {document.sections[i].page for i in range(first, last + 1)}
        assert pages == {piece.page}
    pages_with_words = {s.page for s in document.sections if re.search(r"\w", s.text)}
    assert {piece.page for piece in pieces} == pages_with_words


def test_heading_is_that_of_the_section_the_piece_starts_in(
    document: ParsedDocument, chunker: Chunker
) -> None:
    for piece in chunker.split(document):
        assert piece.heading == document.sections[section_at(document, piece.char_start)].heading


def test_a_piece_only_runs_into_the_next_section_while_small(
    document: ParsedDocument, chunker: Chunker, tokens: TokenCounter
) -> None:
    text, offsets = document_text(document)

    for piece in chunker.split(document):
        inner_starts = [o for o in offsets if piece.char_start < o < piece.char_end]
        for start in inner_starts:
            before = text[piece.char_start : start].strip()
            assert tokens.count([before])[0] < CHUNK_TOKENS // 4


def test_every_word_lands_in_a_piece(
    document: ParsedDocument, chunker: Chunker, tokens: TokenCounter
) -> None:
    text, _ = document_text(document)
    pieces = chunker.split(document)
    covered = bytearray(len(text))
    for piece in pieces:
        covered[piece.char_start : piece.char_end] = b"\x01" * len(piece.text)

    for word in re.finditer(r"\S+", text):
        if not re.search(r"\w", word.group()):
            continue
        if tokens.count([word.group()])[0] <= CHUNK_TOKENS // 2:
            assert any(p.char_start <= word.start() and word.end() <= p.char_end for p in pieces)
        else:  # a "word" longer than a chunk is cut, but no character of it is lost
            assert all(covered[word.start() : word.end()]), word.group()[:40]


def test_no_piece_is_empty_or_punctuation_only(document: ParsedDocument, chunker: Chunker) -> None:
    for piece in chunker.split(document):
        assert piece.text.strip() == piece.text
        assert re.search(r"\w", piece.text)


# --- specific behaviours -------------------------------------------------------------------


def test_empty_and_wordless_documents_give_no_pieces(chunker: Chunker) -> None:
    assert chunker.split(ParsedDocument("Empty", [])) == []
    wordless = ParsedDocument(
        "Rules", [Section("", 1, "A"), Section("* * *\n\n---", 1, "B"), Section("…!?", 2, "C")]
    )
    assert chunker.split(wordless) == []


def test_a_page_of_punctuation_is_not_a_piece(chunker: Chunker) -> None:
    document = ParsedDocument(
        "Memo",
        [
            Section("First part about the printers. " * 40, 1, "One"),
            Section("* * * * *\n\n— · —", 2, "Rule"),
            Section("Second part about the badges. " * 40, 3, "Two"),
        ],
    )

    pieces = chunker.split(document)

    assert [(p.page, p.heading) for p in pieces] == [(1, "One"), (3, "Two")]


def test_consecutive_chunks_of_a_long_section_overlap_a_little(
    chunker: Chunker, tokens: TokenCounter
) -> None:
    document = ParsedDocument("Manual", [Section(prose(120, 41), page=1, heading="Printing")])
    text, _ = document_text(document)

    pieces = chunker.split(document)

    assert len(pieces) >= 4
    for previous, following in itertools.pairwise(pieces):
        assert previous.char_start < following.char_start < previous.char_end
        shared = tokens.count([text[following.char_start : previous.char_end]])[0]
        assert 0 < shared <= OVERLAP_TOKENS


def test_no_overlap_across_a_new_heading(chunker: Chunker) -> None:
    document = ParsedDocument(
        "Manual",
        [Section(prose(60, 42), 1, "Printing"), Section(prose(60, 43), 1, "Badges")],
    )
    _, offsets = document_text(document)

    pieces = chunker.split(document)

    badges = [p for p in pieces if p.heading == "Badges"]
    assert badges[0].char_start == offsets[1]
    assert all(p.char_end <= offsets[1] for p in pieces if p.heading == "Printing")


@pytest.mark.parametrize(("first_tokens", "merged"), [(CHUNK_TOKENS // 4 - 1, True), (64, False)])
def test_new_heading_starts_a_chunk_once_the_current_one_is_a_quarter_full(
    chunker: Chunker, tokens: TokenCounter, first_tokens: int, merged: bool
) -> None:
    first = sentences_of(first_tokens - 1, "printer")
    assert tokens.count([first]) == [first_tokens]
    document = ParsedDocument(
        "Manual",
        [Section(first, 1, "Printing"), Section("Badges open the front door.", 1, "Badges")],
    )

    pieces = chunker.split(document)

    if merged:
        assert [(p.heading, p.text) for p in pieces] == [
            ("Printing", f"{first}\n\nBadges open the front door.")
        ]
    else:
        assert [(p.heading, p.text) for p in pieces] == [
            ("Printing", first),
            ("Badges", "Badges open the front door."),
        ]


def test_small_sections_on_one_page_are_merged_but_not_across_pages(chunker: Chunker) -> None:
    document = ParsedDocument(
        "FAQ",
        [
            Section("Printers are on floor 3.", 1, "Printing"),
            Section("Badges open doors.", 1, "Badges"),
            Section("Call 555 for help.", 1, "Help"),
            Section("Parking opens at 06:30.", 2, "Parking"),
        ],
    )

    pieces = chunker.split(document)

    assert [(p.page, p.heading) for p in pieces] == [(1, "Printing"), (2, "Parking")]
    assert "Badges open doors." in pieces[0].text and "Call 555" in pieces[0].text
    assert pieces[0].embed_text.startswith("FAQ — Printing\n")


def test_a_short_section_after_a_long_ones_tail_starts_its_own_chunk(chunker: Chunker) -> None:
    # The tail of a section already begun in an earlier chunk is small, but the next
    # section is not packed after it: the chunk would be found by the wrong heading.
    document = ParsedDocument(
        "FAQ",
        [
            Section(
                prose(24, 7),
                1,
                "7.5 Why do my matrices lose dimensions?",
                2,
                ((2, "7.5 Why do my matrices lose dimensions?"),),
            ),
            Section(
                "Autoloading is rarely used since packages became lazy-loaded.",
                1,
                "7.6 How does autoloading work?",
                2,
                ((2, "7.6 How does autoloading work?"),),
            ),
        ],
    )
    _, offsets = document_text(document)

    pieces = chunker.split(document)

    assert len(pieces) >= 3
    assert pieces[-1].heading == "7.6 How does autoloading work?"
    assert pieces[-1].char_start == offsets[1]
    assert all(p.char_end <= offsets[1] for p in pieces[:-1])


def test_a_section_opening_inside_a_chunk_is_embedded_under_its_own_heading(
    chunker: Chunker,
) -> None:
    document = ParsedDocument(
        "Policy",
        [
            Section("Closes lists the bugs an upload closes.", 1, "Closes", 2, ((2, "Closes"),)),
            Section("Distribution names the suite.", 1, "Distribution", 2, ((2, "Distribution"),)),
        ],
    )

    [piece] = chunker.split(document)

    assert piece.text == "Closes lists the bugs an upload closes.\n\nDistribution names the suite."
    assert piece.embed_text == (
        "Policy — Closes\nCloses lists the bugs an upload closes.\n\n"
        "Distribution\nDistribution names the suite."
    )
    assert [h.text for h in piece.headings] == ["Closes", "Distribution"]


def test_long_title_and_heading_are_capped_in_the_header(
    chunker: Chunker, tokens: TokenCounter
) -> None:
    document = long_heading_document()
    full_header = f"{document.title.strip()} — {document.sections[0].heading.strip()}"

    pieces = chunker.split(document)

    assert len(pieces) > 1
    for piece in pieces:
        header = piece.embed_text[: -len(piece.text) - 1]
        assert full_header.startswith(header)
        assert 0 < tokens.count([header])[0] <= HEADER_CAP
    # The cap leaves the passage most of the window, not a sliver of it.
    passage = tokens.count([pieces[0].text])[0]
    assert passage >= CHUNK_TOKENS - 2 - HEADER_CAP - 20


@pytest.mark.slow
@pytest.mark.timeout(60)
@pytest.mark.parametrize("extra_words", range(8, 22))
def test_header_leaves_room_for_text_at_the_smallest_chunk_size(
    tokens: TokenCounter, model_tokenizer: Any, extra_words: int
) -> None:
    # Headers of 23 to 39 word pieces: one of 30 once left a passage budget of 0 and the
    # chunker looped forever; 31 and more raised IndexError.
    title = "Minutes of the joint meeting of the harbor office committees held in January"
    heading = "Decisions " + " ".join(_WORDS[:extra_words])
    body = "The printers on floor three were replaced. Badges now open the back door."
    document = ParsedDocument(title, [Section(body, page=1, heading=heading)])

    pieces = Chunker(tokens, chunk_tokens=32, overlap_tokens=8).split(document)

    assert " ".join(p.text for p in pieces).split() == body.split()
    for piece in pieces:
        assert model_count(model_tokenizer, piece.embed_text) <= 32
        assert tokens.count([piece.embed_text[: -len(piece.text) - 1]])[0] <= (32 - 2) // 2


def test_smaller_chunk_size_gives_more_and_smaller_chunks(
    tokens: TokenCounter, chunker: Chunker, loaded_html: ParsedDocument
) -> None:
    large = chunker.split(loaded_html)
    small = Chunker(tokens, chunk_tokens=64, overlap_tokens=8).split(loaded_html)

    assert len(small) > 2 * len(large)
    small_counts = tokens.count([p.embed_text for p in small])
    large_counts = tokens.count([p.embed_text for p in large])
    assert max(small_counts) + 2 <= 64
    assert sum(small_counts) / len(small) < sum(large_counts) / len(large) / 2


def test_pages_of_a_loaded_pdf_are_kept(chunker: Chunker, loaded_pdf: ParsedDocument) -> None:
    pieces = chunker.split(loaded_pdf)

    by_page: dict[int, list[Piece]] = {}
    for piece in pieces:
        by_page.setdefault(piece.page, []).append(piece)
    assert sorted(by_page) == list(range(1, loaded_pdf.pages + 1))
    # The page the "Badges" heading is printed on holds the piece headed "Badges".
    badges_page = next(s.page for s in loaded_pdf.sections if s.heading == "Badges")
    assert by_page[badges_page][0].heading == "Badges"
