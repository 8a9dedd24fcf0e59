"""The answer unit (``rag.unit``): the whole answer around a chosen sentence, shown safely."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rag.evidence import named_by_heading
from rag.layout import debris, markdown
from rag.sentences import Sentence, split_passage
from rag.types import Heading, Passage
from rag.unit import UnitConfig, build, overlaps, runs_on


def passage(text: str, position: int = 0, start: int = 0, page: int = 3) -> Passage:
    return Passage(
        id=f"doc:{position:05d}",
        text=text,
        doc_id="doc",
        source="ward-policy.pdf",
        title="Ward policy",
        page=page,
        heading="",
        char_start=start,
        char_end=start + len(text),
        position=position,
        dense=0.6,
        lexical=None,
        score=0.0,
    )


def sentence(text: str, needle: str, at: Passage | None = None) -> Sentence:
    found = [s for s in split_passage(at or passage(text)) if needle in s.text]
    assert found, f"no sentence holds {needle!r}"
    return found[0]


LIST = (
    "Priorities\n\n"
    "Every package in the archive is given one priority by its maintainers. "
    "The priorities are:\n"
    "- required: the packages the system cannot boot without\n"
    "- important: what any experienced Unix user expects to find\n"
    "- standard: a reasonably small but not too limited system\n\n"
    "Nobody should change a priority without asking the release team first."
)


def test_a_lead_in_brings_the_list_it_announces() -> None:
    unit = build(sentence(LIST, "The priorities are"))

    assert unit.quote.startswith("Every package") or unit.quote.startswith("The priorities")
    assert "- standard: a reasonably small" in unit.quote
    shown = unit.markdown
    assert "\n- required: the packages" in shown and "\n- standard:" in shown
    assert "Nobody should change" not in shown.split("- standard")[1].split("\n")[0]


def test_one_item_brings_the_whole_list_and_its_lead_in() -> None:
    text = (
        "To request annual leave, staff follow the steps below:\n"
        "1. Open the leave form on the intranet and choose the dates.\n"
        "2. Send the form to the ward manager at least six weeks ahead.\n"
        "3. Wait for the manager's written approval before booking travel.\n\n"
        "Late requests are decided case by case by the matron on duty."
    )
    unit = build(sentence(text, "Send the form"))

    assert unit.quote.startswith("To request annual leave")
    assert unit.markdown.splitlines()[2:5] == [
        "1. Open the leave form on the intranet and choose the dates.",
        "2. Send the form to the ward manager at least six weeks ahead.",
        "3. Wait for the manager's written approval before booking travel.",
    ]
    assert "Late requests" not in unit.markdown


def test_a_command_announced_is_shown_as_code() -> None:
    text = (
        "To see the status of every installed package, execute the command\n\n"
        "$ dpkg -l | grep '^ii'\n\n"
        "The first column gives the desired and the current state of each package."
    )
    unit = build(sentence(text, "execute the command"))

    assert "$ dpkg -l | grep '^ii'" in unit.quote
    assert "```\n$ dpkg -l | grep '^ii'\n```" in unit.markdown


def test_a_sentence_opening_with_a_connective_gets_the_one_before() -> None:
    text = (
        "The stable suite receives only security and serious bug fixes once released. "
        "On the other hand, it holds older versions of most programs for two years. "
        "Testing moves faster but breaks now and then without any warning."
    )
    unit = build(sentence(text, "On the other hand"))

    assert unit.quote.startswith("The stable suite receives")
    assert "two years" in unit.quote


@pytest.mark.parametrize("opening", ["Second,", "Finally,", "In contrast,", "Conversely,"])
def test_a_later_step_of_a_prose_enumeration_gets_the_one_before(opening: str) -> None:
    text = (  # a paragraph longer than the cap: the unit is not the whole paragraph
        "A factor with k levels is coded by k - 1 columns of the model matrix, and which "
        "columns those are depends on the contrasts in force for it. "
        * 4
        + "First, contrasts for unordered factors default to treatment contrasts. "
        f"{opening} the whole behaviour can be changed by the options setting for contrasts."
    )
    unit = build(sentence(text, "whole behaviour"))

    assert unit.quote.startswith("First, contrasts for unordered factors")


def test_a_table_row_is_shown_with_its_header_row() -> None:
    text = (
        "Name | Role | Bleep\n"
        "Dana Whitfield | Nurse in charge | 4410\n"
        "Anna Smith | Controlled drug cupboard keys | 4432\n"
        "Omar Reyes | Pharmacist | 4470"
    )
    unit = build(sentence(text, "Anna Smith"))

    assert unit.quote.startswith("Name | Role | Bleep") and unit.quote.endswith("4432")
    assert unit.markdown.splitlines() == [
        "| Name | Role | Bleep |",
        "| --- | --- | --- |",
        "| Anna Smith | Controlled drug cupboard keys | 4432 |",
    ]


def test_a_long_unit_is_cut_at_a_boundary_and_says_so() -> None:
    items = "\n".join(
        f"- item {n} of the checklist that staff read each morning" for n in range(40)
    )
    text = f"The morning checklist is:\n{items}"
    unit = build(sentence(text, "The morning checklist"), config=UnitConfig(words=60))

    assert unit.cut and unit.markdown.endswith("...")
    assert len(unit.quote.split()) <= 70
    assert unit.quote.endswith("each morning")


def test_a_list_running_into_the_next_chunk_is_read_on() -> None:
    first = passage("Some context for the reader comes first. The three variables to set are:\n")
    rest = "- DOCENT_HOME: the data folder\n- DOCENT_PORT: the port\n- DOCENT_HOST: the address"
    after = passage(first.text[-40:] + rest, position=1, start=first.char_end - 40)
    chosen = sentence("", "three variables", first)

    alone = build(chosen)
    assert runs_on(alone)
    unit = build(chosen, after)
    assert unit.passages == (first, after)
    assert "DOCENT_HOST: the address" in unit.quote
    assert unit.doc_end == after.char_end
    on_another_page = build(chosen, passage(after.text, 1, after.char_start, page=4))
    assert on_another_page.passages == (first,)


def test_units_of_one_list_overlap() -> None:
    one = build(sentence(LIST, "important: what"))
    two = build(sentence(LIST, "The priorities are"))
    assert overlaps(one, two)


@pytest.mark.parametrize(
    "text",
    [
        "CHAPTER 3. CHOOSING A DEBIAN DISTRIBUTION 3.1. WHICH DEBIAN DISTRIBUTION",
        "| ... Description :: Release :; Version :: 3 | :: |",
        "Page 12 of 40",
    ],
)
def test_layout_debris_is_recognised(text: str) -> None:
    assert debris(text)


@pytest.mark.parametrize(
    "text",
    [
        "The kernel is Linux; the C library is glibc.",
        "Set DOCENT_HOME to the data folder before the first run.",
        "Use NHS numbers, not hospital numbers, on every form.",
    ],
)
def test_prose_is_not_debris(text: str) -> None:
    assert not debris(text)


def test_urls_and_placeholders_read_as_written() -> None:
    shown = markdown(
        "Files are named <name>_<version>_<arch>.deb and are kept at "
        "https://deb.example.org/pool/main, see [3]."
    )
    assert "`https://deb.example.org/pool/main`" in shown
    assert "link removed" not in shown and "https : //" not in shown
    html = MarkdownIt("commonmark").render(shown)
    assert "&lt;name&gt;_&lt;version&gt;_&lt;arch&gt;.deb" in html
    assert "<a " not in html and "(3)" in html


PIECES = [*"ab <>[]()!:/\\`*_#|&;.-\n\t=\"'", "http://x.y", "www.", "1. ", "$ ", "- ", " | "]
HOSTILE = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)


@given(HOSTILE)
def test_no_document_text_becomes_a_link_image_or_html(text: str) -> None:
    shown = markdown(text)
    tokens = MarkdownIt("commonmark").enable("table").parse(shown)
    inline = [c for t in tokens for c in t.children or []]
    kinds = {t.type for t in tokens} | {c.type for c in inline}
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}, shown
    # GitHub-flavoured renderers (Streamlit's) also link bare "www." and "scheme://" text:
    # outside code, none is left.
    for token in inline:
        if token.type == "text":
            assert not re.search(r"(?i)://\w|www\.\w", token.content), shown


def test_a_unit_ending_mid_sentence_at_its_page_end_says_it_stops_short() -> None:
    text = "The axes have three main components: the axis line (line style"
    unit = build(sentence(text, "three main components"))

    assert unit.cut and unit.markdown.endswith("...")
    assert runs_on(unit)  # the next chunk is read when it is on the same page


def test_a_long_block_is_cut_after_a_sentence_not_a_wrapped_line() -> None:
    wrapped = " ".join(
        f"Rule {n} of the policy says what the ward must do\nwhen the\nrota changes."
        for n in range(30)
    )
    text = f"The rota rules are as follows:\n{wrapped}"
    unit = build(sentence(text, "The rota rules"), config=UnitConfig(words=40))

    assert unit.cut and unit.quote.endswith("rota changes.")
    assert unit.markdown.endswith("rota changes. ...")


def test_a_sections_first_sentence_brings_what_completes_it_not_the_next_section() -> None:
    # A PDF's section: wrapped lines under a heading line, no blank line inside.
    text = (
        "12.3 Converting sequences\n"
        "The type constructor tuple(seq) converts any sequence into a tuple, in order.\n"
        "The type constructor list(seq) converts any sequence into a list, in order.\n"
        "12.4 Something else entirely\n"
        "Another section's answer stands here."
    )
    unit = build(sentence(text, "tuple(seq)"))
    assert "list(seq) converts" in unit.markdown and "Another section" not in unit.markdown
    # HTML and Word keep no heading between two sections of one chunk: a blank line ends it.
    html = "Use os.remove(path) to delete a file, as described.\n\nSetup must end in a newline."
    assert "Setup" not in build(sentence(html, "os.remove")).markdown


def test_an_index_in_code_is_not_taken_for_a_citation_mark() -> None:
    shown = markdown("The first item is a_tuple[0], see [3].")
    assert "a\\_tuple\\[0\\]" in shown and "(3)" in shown


def test_the_following_tasks_announce_the_list_after_them() -> None:
    text = (
        "From this account, you can perform the following system administration tasks.\n"
        "- Read, write, and remove any files on the system\n"
        "- Set the password of any non-privileged user\n\n"
        "Another paragraph."
    )
    unit = build(sentence(text, "From this account"))
    assert "- Set the password of any non-privileged user" in unit.markdown


def test_a_blank_line_in_mid_sentence_is_not_a_paragraph_break() -> None:
    # A PDF's lines spaced apart on the page come out with a blank line between them.
    text = (
        "Graphics parameters may also be passed to any graphics function as named arguments. "
        "This has the same effect as passing them to par(), except\n\n"
        "that the changes only last for the duration of the function call."
    )
    unit = build(sentence(text, "Graphics parameters"))
    assert unit.quote.endswith("duration of the function call.") and not unit.cut


def test_a_url_a_pdf_spaced_out_is_shown_joined_as_text() -> None:
    shown = markdown("runs on Unix-likes (e.g., https : //en.wikipedia. org/wiki/Unix-like) too")
    assert "`https://en.wikipedia.org/wiki/Unix-like`" in shown


def test_prose_that_opens_with_a_call_is_not_shown_as_code() -> None:
    prose = "join() is a string method because it tells the separator to iterate over a sequence."
    assert not markdown(prose).startswith("```")
    assert markdown("print(x)").startswith("```")


# Two FAQ answers in one chunk of a PDF: the loader keeps no heading line between them, only
# the stored outline says where the second begins.
TWO_ANSWERS = (
    "It should probably be rewritten with drop set to false.\n\n"
    "Autoloading is rarely used since packages became lazy-loaded. R has a special "
    "environment called the autoload environment. See the help page for autoload for an "
    "example.\n\n"
    "It is loaded again when the package is attached."
)


def _outlined(text: str, *openings: str) -> Passage:
    offsets = [text.index(opening) for opening in openings]
    headings = tuple(Heading(o, 2, f"7.{i} question") for i, o in enumerate(offsets, start=6))
    return replace(passage(text), headings=headings)


def test_a_unit_stays_inside_the_section_the_stored_outline_marks() -> None:
    at = _outlined(TWO_ANSWERS, "Autoloading is", "It is loaded again")

    opening = build(sentence(TWO_ANSWERS, "Autoloading is rarely", at))
    closing = build(sentence(TWO_ANSWERS, "It is loaded again", at))

    # The section's opening sentence grows to the section's end, and no further.
    assert opening.quote.startswith("Autoloading is rarely")
    assert opening.quote.endswith("for an example.")
    # An opening "It ..." is not joined to the sentence before when a heading stands between.
    assert closing.quote == "It is loaded again when the package is attached."


def test_a_passage_is_named_by_every_heading_it_opens() -> None:
    at = _outlined(TWO_ANSWERS, "Autoloading is")
    at = replace(at, headings=(Heading(at.headings[0].offset, 2, "How does autoloading work?"),))

    assert named_by_heading("How does autoloading work?", at)
    assert not named_by_heading("How does autoloading work?", passage(TWO_ANSWERS))


def test_a_short_section_is_shown_whole_from_its_opening_sentence() -> None:
    text = (
        "Save the workspace before you quit.\n\n"
        "The command save.image() writes every object to the file .RData in the startup "
        "folder.\n\n"
        "Packages are loaded with library()."
    )
    at = replace(
        passage(text),
        headings=(
            Heading(0, 2, "7.2 How can I save my workspace?"),
            Heading(text.index("Packages"), 2, "7.3 How do I load a package?"),
        ),
    )

    unit = build(sentence(text, "Save the workspace", at))

    assert unit.quote.startswith("Save the workspace")
    assert unit.quote.endswith("in the startup folder.")
    # Without an outline (chunks stored before outlines were kept) a blank line ends it.
    assert (
        build(sentence(text, "Save the workspace")).quote == "Save the workspace before you quit."
    )
