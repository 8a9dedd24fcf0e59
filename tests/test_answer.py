"""Answers and summaries end to end: real index, real embedder, real SmolLM2 in llama.cpp.

The chain's logic alone (refusal, citations) is tested with a scripted model in
test_chain_logic.py, the summary's in test_summarize.py.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.answer import Answer
from rag.condense import Turn
from rag.retrieve import Filters
from tests import docgen
from tests.indexed import indexed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Docent:
    root = tmp_path_factory.mktemp("library")
    share = docgen.handbook_share(root)
    (share / "report-2022.txt").write_text(
        "In 2022 the revenue of Northwind was 4.1 million euros.\n"
    )
    (share / "report-2023.txt").write_text(
        "In 2023 the revenue of Northwind was 5.3 million euros.\n"
    )
    (share / "canteen.txt").write_text("In 2023 the canteen was renovated and got a salad bar.\n")
    # The model's path: answers of quotes (the default) are tested in test_evidence.py.
    settings = Settings(data_dir=root / "data", chat_temperature=0.0, answer_mode="model")
    return indexed(settings, embedder, share)


def test_answer_cites_the_right_document_and_page(library: Docent) -> None:
    answer = library.ask("docs", "How many days of annual leave does every employee receive?")

    assert answer.status == "answered", answer
    assert "27" in answer.text
    assert ("handbook.pdf", 2) in {(c.source, c.page) for c in answer.citations}
    cited = next(c for c in answer.citations if c.page == 2)
    assert "27 days" in cited.quote
    assert answer.model.startswith("llamacpp:")
    assert {"retrieve", "first_token", "generate", "total"} <= set(answer.timings)


def test_stream_yields_text_then_the_checked_answer(library: Docent) -> None:
    parts = list(library.stream_answer("docs", "What is the notice period after probation?"))

    *tokens, final = parts
    assert tokens and all(isinstance(t, str) for t in tokens)
    assert isinstance(final, Answer)
    assert final.raw == "".join(tokens).strip()


def test_follow_up_retrieves_the_earlier_topic(library: Docent) -> None:
    first = library.ask("docs", "What was the revenue of Northwind in 2022?")
    follow = library.ask("docs", "And in 2023?", [Turn(first.question, first.query, first.text)])

    assert "2023" in follow.query and "revenue" in follow.query
    assert follow.evidence[0].source == "report-2023.txt"


def test_filters_restrict_the_evidence(library: Docent) -> None:
    answer = library.ask(
        "docs", "What was the revenue in 2023?", filters=Filters(sources=("canteen.txt",))
    )
    assert {s.source for s in answer.evidence} <= {"canteen.txt"}


def test_summary_reads_the_whole_document_in_order(tmp_path: Path, embedder: Embedder) -> None:
    share = tmp_path / "share"
    share.mkdir()
    names = ["Delivery", "Payment", "Warranty", "Liability"]
    names += ["Termination", "Notices", "Disputes", "Signatures"]
    pages = [
        (name, f"Clause {n} sets the delivery duty number {n}. " * (30 + n))
        for n, name in enumerate(names, start=1)
    ]
    docgen.make_pdf(share / "contract.pdf", pages=pages, title="Supply Contract")
    settings = Settings(data_dir=tmp_path / "data", chat_temperature=0.0)
    docent = Docent(settings, embedder=embedder)
    docent.ingest([share], "docs")
    steps: list[tuple[int, int, str]] = []

    summary = docent.summarize(
        "docs", "contract.pdf", length="short", progress=lambda *s: steps.append(s)
    )

    # Every clause is a part of the outline; short shows the five largest and the first.
    assert summary.outline_parts == 8 and summary.parts == 6, summary.text
    shown = [names[0], *names[3:]]
    assert [s.heading for s in summary.sections] == shown
    assert summary.part_pages == ["p. 1", "p. 4", "p. 5", "p. 6", "p. 7", "p. 8"]
    # The packaged model is not asked: each point is the clause's own sentence, quoted.
    assert summary.calls == 0 and summary.mode == "quotes"
    for section in summary.sections:
        number = names.index(section.heading) + 1
        assert section.points[0].text.startswith(f"Clause {number} sets the delivery duty")
        assert section.points[0].page == number
    # Each step once, in order: the outline, then each part.
    assert [s[0] for s in steps] == list(range(1, summary.parts + 2))
    assert len(set(steps)) == len(steps)


class Stopped(Exception):
    """What the UI's Stop raises from inside a progress report."""


def test_a_summary_stops_while_the_model_writes_and_frees_the_model(
    tmp_path: Path, embedder: Embedder
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    duty = "Clause {0} sets the delivery duty number {0}. " * 40
    pages = [(f"Clause {n}", duty.format(n)) for n in (1, 2)]
    docgen.make_pdf(share / "contract.pdf", pages=pages, title="Supply Contract")
    settings = Settings(
        data_dir=tmp_path / "data",
        chat_max_answer_tokens=256,
        chat_temperature=0,
        summary_mode="model",  # the packaged model writes each part's points
    )
    docent = Docent(settings, embedder=embedder)
    docent.ingest([share], "docs")
    reports: list[str] = []

    def stop_on_the_first_beat(done: int, total: int, step: str) -> None:
        reports.append(step)
        if reports[-2:-1] == [step]:  # the same step again: the model is writing its reply
            raise Stopped

    with pytest.raises(Stopped):
        docent.summarize("docs", "contract.pdf", progress=stop_on_the_first_beat)

    assert reports[0].startswith("reading the outline")
    assert reports[-1] == reports[-2] and re.match(
        r"part [12] of 2: Clause [12] \(p\. [12]\)", reports[-1]
    )
    # Had the stopped reply kept its turn, the next caller would wait for ever.
    replies: list[str] = []
    after = threading.Thread(
        target=lambda: replies.append(docent.chat.invoke([HumanMessage("Say yes.")])),
        daemon=True,
    )
    after.start()
    after.join(timeout=120)
    assert replies, "the stopped reply still holds the model"
