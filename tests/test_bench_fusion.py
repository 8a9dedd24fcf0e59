"""Leave-one-corpus-out tuning of fusion: the choice goes by the worst corpus, twins never
share a question, page@10 counts only a relevant passage with a page, the lexical weight
it tunes, and the read-once retriever ranks exactly as the retriever it stands in for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.api import Docent
from app.settings import Settings
from bench.answer_corpora import Corpus
from bench.fusion import DEPTH, ReadOnce, choose, draw, scored
from bench.gold import GoldQuestion
from models.embedder import Embedder
from rag.retrieve import Mode, Retriever, reciprocal_rank_fusion

ANSWER = "the kettle on the second floor is descaled by the facilities team every month"


def _figures(hit: float, ndcg: float = 0.5) -> dict[str, Any]:
    return {"tune": {"hit@1": hit, "ndcg@10": ndcg}, "held_out": {"hit@1": hit}}


def test_choice_goes_by_the_worst_corpus_not_the_mean() -> None:
    dense: Any = {"a": _figures(0.5), "b": _figures(0.5)}
    grid: Any = {
        (20, 10, 1.0): {"a": _figures(0.6), "b": _figures(0.6)},
        (30, 60, 1.0): {"a": _figures(0.95), "b": _figures(0.4)},
    }
    assert choose(grid, dense, ["a", "b"]) == (20, 10, 1.0)
    assert choose(grid, dense, ["a"]) == (30, 60, 1.0)  # b left out


def test_equal_points_keep_the_first_listed() -> None:
    dense: Any = {"a": _figures(0.5)}
    grid: Any = {(20, 10, 1.0): {"a": _figures(0.7)}, (10, 5, 0.7): {"a": _figures(0.7)}}
    assert choose(grid, dense, ["a"]) == (20, 10, 1.0)


def test_a_lexical_weight_below_one_lets_dense_lead_where_they_disagree() -> None:
    dense, lexical = ["a", "b", "c"], ["c", "b", "a"]
    assert next(iter(reciprocal_rank_fusion([dense, lexical], 10, [1.0, 0.5]))) == "a"
    assert list(reciprocal_rank_fusion([dense, lexical], 10)) == list(
        reciprocal_rank_fusion([dense, lexical], 10, [1.0, 1.0])
    )


def test_page_counts_a_relevant_passage_with_a_page_only() -> None:
    relevant = frozenset({"html-1", "pdf-1"})
    assert scored([("html-1", 0), ("x", 4)], relevant, True)["page@10"] == 0.0
    assert scored([("x", 0), ("pdf-1", 3)], relevant, True)["page@10"] == 1.0
    assert scored([("html-1", 0)], relevant, False)["page@10"] is None
    assert scored([("x", 2), ("html-1", 0)], relevant, True)["hit@1"] == 0.0


def test_twins_take_other_questions_and_halves_alternate() -> None:
    questions = [GoldQuestion("faq", "f.html", f"question {n}?", f"{ANSWER} {n}") for n in range(8)]
    chunks = {f"c{n}": f"{ANSWER} {n}".split() for n in range(8)}

    def corpus(name: str, offset: float) -> Corpus:
        return Corpus(
            name, "FAQ", "pkg", lambda q: [], lambda f, d: None, lambda q: questions, offset=offset
        )

    asked = draw([corpus("python", 0.0), corpus("python_pdf", 0.5)], False, 8, chunks, {"c1"}, {})
    by_name = {
        name: [a.gold.question for a in asked if a.corpus == name]
        for name in ("python", "python_pdf")
    }
    assert not set(by_name["python"]) & set(by_name["python_pdf"])
    assert [a.half for a in asked if a.corpus == "python"] == ["tune", "held_out"] * 2
    assert next(a.in_pdf for a in asked if a.corpus == "python_pdf")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_read_once_ranks_as_the_retriever(tmp_path: Path, embedder: Embedder, mode: Mode) -> None:
    share = tmp_path / "share"
    share.mkdir()
    for n, topic in enumerate(["kettle", "printer", "parking", "badges", "lifts", "boiler"]):
        (share / f"{topic}.md").write_text(
            f"# {topic.title()}\n\nThe {topic} is looked after by team {n}; report a fault "
            f"with the {topic} at the service desk quoting code {n}{n}{n}.\n"
        )
    docent = Docent(Settings.model_validate({"data_dir": tmp_path / "data"}), embedder=embedder)
    assert docent.ingest([share], "docs").exit_code == 0
    reads: dict[str, Any] = {}
    for query in ("Who looks after the kettle?", "fault code 333"):
        for candidates in (DEPTH, 2, 4):
            expected = Retriever(docent.index, candidates=candidates)
            got = ReadOnce(docent.index, reads, candidates=candidates)
            assert [p.id for p in got.retrieve("docs", query, 4, mode=mode)] == [
                p.id for p in expected.retrieve("docs", query, 4, mode=mode)
            ]
