"""The extractive summary's pure parts: the outline, the parts shown, the points and how
they are shown. Chunks are made here as the chunker stores them (verbatim spans of one
document text, headings recorded once each)."""

from __future__ import annotations

import re

from rag.digest import Extractor, chosen, focused, outline, points_per_part, prose
from rag.summarize import SummaryPart, render
from rag.types import Chunk, Heading

Sectioned = list[tuple[int, str, str]]


def document(sections: Sectioned, page_of: dict[str, int] | None = None) -> list[Chunk]:
    """Chunks of a document made of (level, heading, body) sections, one chunk per section
    (a heading with an empty body opens at the same offset as the next one)."""
    text, chunks, pending = "", [], []
    for level, heading, body in sections:
        pending.append((level, heading))
        if not body:
            continue
        if text:
            text += "\n\n"
        start = len(text)
        text += body
        heads = tuple(Heading(start, lv, h) for lv, h in pending)
        pending = []
        page = (page_of or {}).get(heads[-1].text, 0)
        chunks.append(
            Chunk(
                id=f"d:{len(chunks):05d}",
                text=body,
                embed_text=body,
                doc_id="d",
                position=len(chunks),
                source="d.html",
                title="Ward handbook",
                page=page,
                heading=heads[-1].text,
                char_start=start,
                char_end=start + len(body),
                headings=heads,
            )
        )
    return chunks


LEAVE = (
    "Annual leave is booked through the ward roster and approved by the ward manager. "
    "Staff request annual leave at least six weeks before the first day of absence.\n\n"
    "The leave year runs from April to March. Unused annual leave of up to five days may be "
    "carried over with the manager's agreement."
)
KEYS = (
    "The controlled drug cupboard keys are held by the nurse in charge of each shift. "
    "Keys are handed over in person at every shift change and the handover is signed.\n\n"
    "The following staff may hold the keys:\n"
    "- the nurse in charge\n- the deputy nurse in charge\n- the on-call pharmacist"
)
HANDS = (
    "Hand hygiene is performed before and after every patient contact on the ward. "
    "Alcohol gel is used unless the hands are visibly soiled, when soap and water are used."
)
HANDBOOK: Sectioned = [
    (1, "Ward handbook", ""),
    (2, "1. Leave", LEAVE),
    (2, "2. Controlled drugs", ""),
    (3, "2.1 Keys", KEYS),
    (2, "3. Infection control", HANDS),
]


def test_the_outline_is_the_top_level_sections_under_a_lone_title() -> None:
    parts = outline(document(HANDBOOK), "Ward handbook")
    assert [p.heading for p in parts] == ["1. Leave", "2. Controlled drugs", "3. Infection control"]
    # A chapter heading followed at once by its first section's is not lost.
    assert parts[1].chunks[0].heading == "2.1 Keys"
    assert all(p.level == 2 for p in parts)


def test_a_part_keeps_its_pages() -> None:
    chunks = document(HANDBOOK, {"1. Leave": 3, "2.1 Keys": 5, "3. Infection control": 6})
    parts = outline(chunks)
    assert [p.pages for p in parts] == ["p. 3", "p. 5", "p. 6"]


def test_chunks_stored_without_an_outline_use_their_headings() -> None:
    chunks = [
        Chunk(**{**vars(c), "headings": ()}) for c in document(HANDBOOK)
    ]  # as stored before the outline was kept
    parts = outline(chunks)
    # "2.1 Keys" is a level below "1. Leave" by its numbering: it falls in that part.
    assert [p.heading for p in parts] == ["1. Leave", "3. Infection control"]


def test_a_document_without_headings_is_cut_into_runs() -> None:
    body = " ".join(["Patients are weighed on admission and every week after."] * 400)
    chunks = [
        Chunk(
            f"d:{i:05d}",
            body,
            body,
            "d",
            i,
            "d.txt",
            "t",
            i + 1,
            "",
            i * 30000,
            i * 30000 + len(body),
        )
        for i in range(3)
    ]
    parts = outline(chunks)
    assert len(parts) == 3 and parts[0].heading == "" and parts[0].label == "Page 1"


def test_short_shows_the_five_largest_parts_and_the_first_in_document_order() -> None:
    sections: Sectioned = [(1, f"Part {i}", "Words here. " * (10 + i % 4 * 20)) for i in range(8)]
    parts = outline(document(sections))
    shown = chosen(parts, "short")
    assert len(shown) == 6 and shown[0] is parts[0]  # what the document is
    assert all(shown[i].start < shown[i + 1].start for i in range(5))
    largest = sorted(parts, key=lambda p: -p.words)[:5]
    assert all(any(p is q for q in shown) for p in largest)
    assert len(chosen(parts, "detailed")) == 8
    assert points_per_part("detailed", 40) == 1 and points_per_part("short", 5) == 1


def test_points_are_verbatim_prose_with_what_they_introduce() -> None:
    chunks = document(HANDBOOK)
    parts = outline(chunks)
    extractor = Extractor()
    extractor.learn(parts)
    text = {c.char_start: c.text for c in chunks}
    for part in parts:
        for point in extractor.points(part, 2):
            chunk = next(c for c in chunks if c.char_start <= point.start < c.char_end)
            assert text[chunk.char_start][point.start - chunk.char_start :].startswith(
                point.quote[:40]
            )
            assert (
                point.quote
                == "".join(c.text for c in chunks if c.char_start <= point.start < c.char_end)[
                    point.start - chunk.char_start : point.end - chunk.char_start
                ]
            )
    keys = extractor.points(parts[1], 2)
    # The lead-in "The following staff may hold the keys:" comes with its list, never alone.
    shown = "\n".join(p.text for p in keys)
    assert "following staff" in shown and "on-call pharmacist" in shown, shown
    assert all(not p.quote.rstrip().endswith(":") for p in keys)


def test_headings_tables_and_debris_never_carry_a_part() -> None:
    assert prose(LEAVE.split(". ")[0] + ".")
    assert not prose("CHAPTER 3. CHOOSING A PACKAGE 3.1. WHICH PACKAGE")
    assert not prose("Ward 4 | Night | 2 nurses | bleep 4471")
    assert not prose("- the nurse in charge of the shift today")
    assert not prose("Tip: keep the keys on you at all times during the shift.")
    assert not prose("debian/rules The executable script for building the package.")
    assert not prose("$ apt-get install the-package --yes --no-install-recommends")
    assert not prose(
        "Git command: git init; function: create the repository Git command: git clone URL"
    )
    assert not prose("Chapter 7: Reading data from files 34 Input file form without labels.")
    assert not prose("The data are read ☛ ✟ from the file by the read.table function.")


def test_the_summary_shows_each_part_with_its_points_and_pages() -> None:
    chunks = document(HANDBOOK, {"1. Leave": 3, "2.1 Keys": 5, "3. Infection control": 6})
    parts = outline(chunks)
    extractor = Extractor()
    extractor.learn(parts)
    sections = [
        SummaryPart(p.heading, p.pages, p.first_page, p.last_page, extractor.points(p, 2))
        for p in parts
    ]
    text = render(sections)
    assert text.startswith("**1. Leave** (p. 3)\n\n- Annual leave is booked")
    assert "(p. 5)" in text and "(p. 6)" in text
    assert not re.search(r"^- - ", text, re.MULTILINE)  # never a bullet of a bullet
    for line in text.splitlines():
        assert not line.startswith("- -")


def test_a_focus_keeps_the_parts_near_it() -> None:
    parts = outline(document(HANDBOOK))
    assert focused(parts, [0.2, 0.7, 0.65], gate=0.4, most=5) == parts[1:]
    assert focused(parts, [0.2, 0.7, 0.5], gate=0.4, most=5) == [parts[1]]
    assert focused(parts, [0.2, 0.3, 0.1], gate=0.4, most=5) == []


def test_an_faqs_points_carry_their_question_and_stay_in_their_section() -> None:
    faq: Sectioned = [
        (1, "Python FAQ", ""),
        (2, "General", ""),
        (3, "Is Python free to use?", "Yes. Python is free to use and distribute, even for "
         "commercial products, under an open source licence."),
        (3, "Is there a style guide?", "Yes. The coding style required for standard library "
         "modules is documented as PEP 8, which most projects follow."),
        (2, "Library", "The standard library covers files, networking, dates and text "
         "processing, so most programs need few other packages."),
    ]  # fmt: skip
    chunks = document(faq)
    parts = outline(chunks)
    extractor = Extractor()
    extractor.learn(parts)
    general = extractor.points(parts[0], 2)
    assert [p.text.split("\n")[0] for p in general] == [
        "*Is Python free to use?*",
        "*Is there a style guide?*",
    ]
    questions = [h.offset for c in chunks for h in c.headings]
    for point in general:
        assert not any(point.start < offset < point.end for offset in questions)
    assert not extractor.points(parts[1], 1)[0].text.startswith("*")


def test_a_sentence_pointing_at_what_follows_is_not_shown_without_it() -> None:
    body = (
        "You install the package with the following command which also refreshes the "
        "package lists of every archive.\n\n"
        "Packages are installed from the archives listed in the sources file of the system."
    )
    parts = outline(document([(1, "A", body), (1, "B", "Other words about other things.")]))
    extractor = Extractor()
    extractor.learn(parts)
    shown = extractor.points(parts[0], 2)
    assert [p.quote.split()[0] for p in shown] == ["Packages"]


def test_a_heading_without_text_is_no_part_and_front_matter_does_not_open_a_summary() -> None:
    chapter = "The archive holds the packages and their sources, signed by the project. " * 8
    # Three times the length of a chapter: a chapter still counts for more.
    appendix = "Old packaging manual text kept for reference in this appendix of the book. " * 24
    sections: Sectioned = [
        (1, "Introduction", chapter),
        (1, "THREE", "Three"),  # a chapter number set as large as a title: no part
        *[(1, f"Chapter {n}", chapter) for n in range(4, 9)],
        (1, "Appendix A. Old manual", appendix),
    ]
    parts = outline(document(sections))
    assert "THREE" not in [p.heading for p in parts]
    shown = [p.heading for p in chosen(parts, "short")]
    assert shown[0] == "Introduction"
    permission = "Permission is granted to copy and share this manual under its licence terms."
    licence: Sectioned = [(1, "Licence", permission), *sections[1:]]
    assert chosen(outline(document(licence)), "short")[0].heading == "Chapter 4"
