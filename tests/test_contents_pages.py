"""Tables of contents and index pages of every format are kept out of evidence.

An FAQ's contents list repeats every question word for word, so left in the index it
ranks first for each of them and answers none. Every loader leaves it out and notes it; a
page that is nothing but contents is indexed by its title alone. The same FAQ held as HTML
and as PDF is cited once, at its PDF page, naming the HTML copy beside it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from app.api import Docent
from ingest.document import ParsedDocument, Section
from ingest.loaders import load
from rag.duplicates import fold_duplicates
from rag.retrieve import Passage, Retriever
from tests import docgen
from tests.system import require

PYTHON_FAQ = Path("/usr/share/doc/python3.11/html/faq")

QUESTIONS = [
    (
        "How do I connect to the VPN from home?",
        "Open the Harbor client and sign in with your badge.",
    ),
    ("Why does the VPN disconnect after an hour?", "Sessions end after sixty idle minutes."),
    ("Who can get a VPN token?", "Every member of staff with a laptop issued by IT."),
    ("What do I do when my token is lost?", "Call the service desk on extension 4400 that day."),
]
TITLE = "Harbor VPN FAQ"
LEFT_OUT = "table of contents (4 entries) left out of the index"


def texts(document: ParsedDocument) -> str:
    return "\n".join(section.text for section in document.sections)


def assert_questions_only_as_headings(document: ParsedDocument) -> None:
    """Each question heads its answer and is listed nowhere else."""
    body = texts(document)
    headings = [section.heading for section in document.sections]
    for question, answer in QUESTIONS:
        assert question not in body
        assert question in headings
        assert answer in body


# --- HTML --------------------------------------------------------------------------------


def faq_html(contents: str) -> str:
    sections = "".join(
        f"<section id='q{i}'><h2>{escape(q)}</h2><p>{escape(a)}</p></section>"
        for i, (q, a) in enumerate(QUESTIONS)
    )
    return (
        f"<html><head><title>{TITLE}</title></head><body><div class='body' role='main'>"
        f"<h1>{TITLE}</h1>{contents}<p>Answers to the questions staff ask most.</p>"
        f"{sections}</div></body></html>"
    )


def link_items(href: str = "#q{i}") -> str:
    return "".join(
        f"<li><a href='{href.format(i=i)}'>{escape(q)}</a></li>"
        for i, (q, _) in enumerate(QUESTIONS)
    )


@pytest.mark.parametrize(
    "contents",
    [
        # docutils' contents directive (Sphinx before docutils 0.18)
        f"<div class='contents topic' id='contents'><p class='topic-title'>Contents</p>"
        f"<ul class='simple'>{link_items()}</ul></div>",
        # a list of links to the page's own anchors, with no title
        f"<ul>{link_items()}</ul>",
        # a titled list (as a Markdown README renders), the links naming the page itself
        f"<h2>Table of Contents</h2><ol>{link_items('vpn.html#q{i}')}</ol>",
        # DPUB-ARIA's role, nested in a wrapper
        f"<div role='doc-toc'><ul>{link_items()}</ul></div>",
    ],
    ids=["docutils-topic", "in-page-anchors", "titled-list", "doc-toc-role"],
)
def test_an_html_contents_list_is_left_out(tmp_path: Path, contents: str) -> None:
    path = tmp_path / "vpn.html"
    path.write_text(faq_html(contents))
    document = load(path)
    assert document.title == TITLE
    assert_questions_only_as_headings(document)
    assert "Answers to the questions staff ask most." in texts(document)
    assert "Table of Contents" not in {s.heading for s in document.sections}
    assert document.notes == [LEFT_OUT]


def sphinx_index(body: str) -> str:
    return (
        "<html><head><title>Harbor FAQs &#8212; Harbor docs</title></head><body>"
        "<div class='related' role='navigation'><a href='genindex.html'>index</a></div>"
        f"<div class='body' role='main'><section><h1>Harbor FAQs</h1>{body}</section></div>"
        "</body></html>"
    )


@pytest.mark.parametrize(
    "body",
    [
        # Sphinx's toctree, two levels deep: every question of every FAQ, word for word
        "<div class='toctree-wrapper compound'><ul><li class='toctree-l1'>"
        f"<a href='vpn.html'>{TITLE}</a><ul>{link_items('vpn.html#q{i}')}</ul></li>"
        "<li class='toctree-l1'><a href='printing.html'>Printing FAQ</a></li></ul></div>",
        # a hand-written intranet index: links to the site's pages and nothing else
        f"<ul>{link_items('vpn.html#q{i}')}</ul>"
        "<ul><li><a href='print.html'>Printing</a></li></ul>",
    ],
    ids=["sphinx-toctree", "unmarked-links"],
)
def test_an_html_index_page_is_indexed_by_its_title_alone(tmp_path: Path, body: str) -> None:
    path = tmp_path / "index.html"
    path.write_text(sphinx_index(body))
    document = load(path)
    assert document.sections == [Section(text="Harbor FAQs")]
    assert len(document.notes) == 1
    assert document.notes[0].startswith("table of contents (")
    assert document.notes[0].endswith("indexed by its title alone")


def test_the_python_faq_index_page_is_its_title_alone() -> None:
    require(PYTHON_FAQ, "python3.11-doc")
    document = load(PYTHON_FAQ / "index.html")
    assert document.sections == [Section(text="Python Frequently Asked Questions")]
    assert document.notes[0].startswith("table of contents (8 entries) left out:")
    # An FAQ page keeps every answer; its contents (a <nav>) was never text.
    general = load(PYTHON_FAQ / "general.html")
    assert general.sections[0].heading == "What is Python?"
    assert general.notes == []


def test_python_docs_pages_of_prose_keep_their_text() -> None:
    require(PYTHON_FAQ, "python3.11-doc")
    tutorial = load(PYTHON_FAQ.parent / "tutorial" / "index.html")
    assert "Python is an easy to learn, powerful programming language." in texts(tutorial)
    assert "Whetting Your Appetite" not in texts(tutorial)  # its toctree went
    assert tutorial.notes[0].endswith("left out of the index")
    for page in ("programming.html", "design.html", "library.html"):
        document = load(PYTHON_FAQ / page)
        assert document.notes == [], page
        assert len(document.sections) > 20


def test_lists_of_links_that_are_content_stay(tmp_path: Path) -> None:
    prose = "Staff who travel need a token before they leave; the desk issues one in a day. "
    external = "".join(
        f"<li><a href='https://vendor.example/{n}'>Vendor guide {n}</a></li>" for n in range(5)
    )
    described = "".join(
        f"<li><a href='form{n}.html'>Form {n}</a>: the request to fill in before a trip of "
        f"{n} days or more, signed by your line manager.</li>"
        for n in range(5)
    )
    path = tmp_path / "travel.html"
    path.write_text(
        "<html><body><div class='contents'>"  # Doxygen's wrapper of the main text
        f"<h1>Travel</h1><p>{prose * 3}</p><h2>Further reading</h2><ul>{external}</ul>"
        f"<h2>Forms</h2><ul>{described}</ul><ul>{link_items('other.html')}</ul>"
        "</div></body></html>"
    )
    document = load(path)
    body = texts(document)
    assert "Vendor guide 4" in body
    assert "Form 4: the request to fill in" in body
    assert QUESTIONS[0][0] in body  # links to other pages, in a page that is mostly prose
    assert document.notes == []


# --- Word --------------------------------------------------------------------------------


def faq_docx(path: Path, how: str) -> Path:
    return docgen.make_docx_with_contents(
        path, TITLE, QUESTIONS, how=how, intro="Answers to the questions staff ask most."
    )


@pytest.mark.parametrize("how", ["field", "styles", "content-control", "typed"])
def test_a_word_table_of_contents_is_left_out(tmp_path: Path, how: str) -> None:
    document = load(faq_docx(tmp_path / "faq.docx", how))
    assert document.title == TITLE  # not "Contents"
    assert_questions_only_as_headings(document)
    assert "Answers to the questions staff ask most." in texts(document)
    assert len(document.notes) == 1 and document.notes[0].startswith("table of contents (")


def test_the_body_after_a_word_toc_field_is_kept(tmp_path: Path) -> None:
    """A PAGEREF field inside the TOC closes without closing the TOC; its end does."""
    document = load(faq_docx(tmp_path / "faq.docx", "field"))
    assert document.notes == [LEFT_OUT]
    assert document.sections[0].text == "Answers to the questions staff ask most."


# --- Markdown, reStructuredText, plain text ----------------------------------------------


def faq_markdown(contents: str) -> str:
    answers = "".join(f"## {q}\n\n{a}\n\n" for q, a in QUESTIONS)
    return f"# {TITLE}\n\n{contents}\n\nAnswers to the questions staff ask most.\n\n{answers}"


def markdown_links(target: str = "#q{i}", bullet: str = "-") -> str:
    return "\n".join(f"{bullet} [{q}]({target.format(i=i)})" for i, (q, _) in enumerate(QUESTIONS))


@pytest.mark.parametrize(
    "contents",
    [
        f"## Table of Contents\n\n{markdown_links('vpn.md#q{i}')}",
        f"**Contents**\n\n{markdown_links('#q{i}', '1.')}",
        f"[TOC]\n\n{markdown_links()}",
        f"Contents\n--------\n\n{markdown_links('other.md', '*')}",
    ],
    ids=["titled", "emphasis-title", "marker-and-anchors", "setext-title"],
)
def test_a_markdown_contents_list_is_left_out(tmp_path: Path, contents: str) -> None:
    path = tmp_path / "vpn.md"
    path.write_text(faq_markdown(contents))
    document = load(path)
    assert document.title == TITLE
    assert_questions_only_as_headings(document)
    assert "[TOC]" not in texts(document) and "Contents" not in texts(document)
    assert document.notes == [LEFT_OUT]


def test_a_markdown_index_page_is_indexed_by_its_title_alone(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"# Harbor FAQs\n\n{markdown_links('vpn.md#q{i}')}\n- [Printing](print.md)\n")
    document = load(path)
    assert document.sections == [Section(text="Harbor FAQs")]
    assert document.notes[0].startswith("table of contents (5 entries) left out:")


def test_markdown_links_that_are_content_stay(tmp_path: Path) -> None:
    external = markdown_links("https://vendor.example/{i}")
    fenced = f"```markdown\n## Contents\n\n{markdown_links()}\n```"
    path = tmp_path / "guide.md"
    path.write_text(
        f"# Guide\n\nHow to write a contents list:\n\n{fenced}\n\n"
        f"## Further reading\n\n{external}\n"
    )
    document = load(path)
    assert texts(document).count(QUESTIONS[0][0]) == 2  # in the code block and as a link
    assert document.notes == []


def test_a_sphinx_toctree_page_in_rst_is_its_title_alone(tmp_path: Path) -> None:
    path = tmp_path / "index.rst"
    path.write_text(
        "Harbor FAQs\n===========\n\n.. toctree::\n   :maxdepth: 2\n   :caption: Contents:\n\n"
        "   vpn\n   printing\n   tokens\n   laptops\n"
    )
    document = load(path)
    assert document.sections == [Section(text="Harbor FAQs")]
    assert document.notes[0].startswith("table of contents (4 entries) left out:")


def test_an_rst_contents_directive_is_markup_not_text(tmp_path: Path) -> None:
    path = tmp_path / "vpn.rst"
    path.write_text(
        "VPN\n===\n\n.. contents:: Table of Contents\n   :local:\n\nSign in with your badge.\n"
    )
    document = load(path)
    assert texts(document) == "Sign in with your badge."
    assert document.notes == []


@pytest.mark.parametrize(
    "entry",
    ["   {n}. {q} {dots} {n}", "{n}. {q}"],
    ids=["dot-leaders", "numbered-headings-met-again"],
)
def test_a_plain_text_contents_is_left_out(tmp_path: Path, entry: str) -> None:
    listed = "\n".join(
        entry.format(n=n, q=q, dots=". " * 12) for n, (q, _) in enumerate(QUESTIONS, start=1)
    )
    answers = "\n\n".join(f"{n}. {q}\n\n{a}" for n, (q, a) in enumerate(QUESTIONS, start=1))
    path = tmp_path / "vpn.txt"
    path.write_text(f"{TITLE}\n\nTable of Contents\n\n{listed}\n\n{answers}\n")
    document = load(path)
    body = texts(document)
    assert "Table of Contents" not in body
    for n, (question, answer) in enumerate(QUESTIONS, start=1):
        assert body.count(question) == 1 and f"{n}. {question}\n\n{answer}" in body
    assert document.notes == [LEFT_OUT]


# --- PDF ---------------------------------------------------------------------------------


def test_a_pdf_contents_page_is_left_out_as_before(tmp_path: Path) -> None:
    listed = "\n\n".join(f"{q} {'. ' * 20}{n}" for n, (q, _) in enumerate(QUESTIONS, start=2))
    pages: list[docgen.PageSpec] = [("Contents", listed), *QUESTIONS]
    document = load(docgen.make_pdf(tmp_path / "vpn.pdf", pages=pages, title=TITLE))
    assert_questions_only_as_headings(document)
    assert document.notes == [
        "pages 1: table of contents, index or dot-leader lines left out of the index"
    ]
    assert [section.page for section in document.sections] == [2, 3, 4, 5]


# --- the index: title search, HTML and PDF copies ----------------------------------------


def copy_of(source: str, page: int, text: str, score: float) -> Passage:
    return Passage(
        id=f"{source}:0",
        text=text,
        doc_id=source,
        source=source,
        title=TITLE,
        page=page,
        heading=QUESTIONS[2][0],
        char_start=0,
        char_end=len(text),
        position=0,
        dense=score,
        lexical=None,
        score=score,
    )


def test_of_two_copies_that_read_alike_the_one_with_a_page_is_kept() -> None:
    answer = long_answer(QUESTIONS[2][1])
    html = copy_of("vpn.html", 0, answer, 0.9)
    pdf = copy_of("vpn.pdf", 3, answer.replace("harbour authority", "harbour author-\nity"), 0.8)
    folded = fold_duplicates([html, pdf])
    assert [(p.source, p.page, p.also_in) for p in folded] == [("vpn.pdf", 3, ("vpn.html",))]
    # A PDF that places its words without spaces: every other sentence glued.
    sentences = answer.split(". ")
    text = ". ".join(s.replace(" ", "") if i % 2 else s for i, s in enumerate(sentences))
    glued = copy_of("vpn.pdf", 3, text, 0.8)
    folded = fold_duplicates([glued, html])
    assert [(p.source, p.page, p.also_in) for p in folded] == [("vpn.html", 0, ("vpn.pdf",))]


@pytest.mark.slow
def test_an_index_page_is_found_by_title_and_never_above_the_answer(
    docent: Docent, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "index.html").write_text(
        sphinx_index(f"<div class='toctree-wrapper'><ul>{link_items('vpn.html#q{i}')}</ul></div>")
    )
    (share / "vpn.html").write_text(faq_html(f"<ul>{link_items()}</ul>"))
    assert docent.ingest([share], "helpdesk").exit_code == 0
    retriever = Retriever(docent.index)
    for question, answer in QUESTIONS:
        first = retriever.retrieve("helpdesk", question, k=3)[0]
        assert first.source == "vpn.html" and answer in first.text, question
    by_title = retriever.retrieve("helpdesk", "Harbor FAQs", k=1)[0]
    assert (by_title.source, by_title.text) == ("index.html", "Harbor FAQs")


def long_answer(answer: str) -> str:
    """An answer long enough to be a chunk of its own in both copies."""
    return (
        f"{answer} This applies in every office of the harbour authority and when working "
        "from home or abroad. Staff on night shifts follow the same rule as everyone else. "
        "Contractors ask their sponsor in the department, who asks the service desk for "
        "them. The service desk keeps a record of each request for two years."
    )


@pytest.mark.slow
def test_an_faq_held_as_html_and_pdf_is_cited_at_its_pdf_page(
    docent: Docent, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    sections = [(question, long_answer(answer)) for question, answer in QUESTIONS]
    docgen.make_pdf(share / "vpn.pdf", pages=sections, title=TITLE)
    docgen.make_html(share / "vpn.html", sections=sections, title=TITLE)
    assert docent.ingest([share], "helpdesk").exit_code == 0
    question, answer = QUESTIONS[2]

    first = Retriever(docent.index).retrieve("helpdesk", question, k=4)[0]
    assert (first.source, first.page, first.also_in) == ("vpn.pdf", 3, ("vpn.html",))
    assert answer in first.text

    reply = docent.ask("helpdesk", question)
    cited = reply.sentences[0].citation
    assert (cited.source, cited.page, cited.also_in) == ("vpn.pdf", 3, ("vpn.html",))
