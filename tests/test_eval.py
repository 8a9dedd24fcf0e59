"""`docent eval` on a generated corpus: real Chroma, real embedder, the chat model faked at
Ollama's HTTP edge (so the real answer chain and citation check run in milliseconds)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api import Docent
from app.auth.access import AccessError
from app.auth.accounts import User
from app.cli import cli
from app.eval import Evaluation
from app.eval.draft import definition_question
from app.eval.questions import EvalQuestion, QuestionSetError, read_rows
from app.eval.run import headline
from app.settings import Settings
from models.embedder import Embedder
from rag.store import CollectionError
from tests import docgen
from tests.fake_ollama import FakeModel, FakeOllama

MODEL = "qwen2.5:1.5b"
LEAVE = "How many days of annual leave does every employee receive?"
PASSWORD = "How do I reset my password?"
LEAVE_ANSWER = "Every employee receives 27 days of annual leave per year [1]."
GUIDE = [
    (
        PASSWORD,
        "Open the self-service portal and choose Forgot password. "
        "A reset link is sent to your work e-mail.",
    ),
    (
        "Annual leave",
        "Every employee receives 27 days of annual leave per year.\n\n"
        "A bridge day is a working day between a public holiday and a weekend.",
    ),
    ("Expenses", "Claims for travel are paid within ten working days of approval."),
]


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama([FakeModel(MODEL)]) as server:
        yield server


@pytest.fixture
def staff(tmp_path: Path, embedder: Embedder, fake: FakeOllama) -> Docent:
    """A collection `staff`: a three-page PDF guide and a Markdown note."""
    share = tmp_path / "share"
    share.mkdir()
    docgen.make_pdf(share / "guide.pdf", pages=GUIDE, title="Staff Guide")
    (share / "notes.md").write_text(
        "# Parking\n\nThe staff car park opens at 06:30 every weekday.\n\n"
        "## Can I bring a bicycle?\n\nRacks for bicycles are behind building C.\n",
        encoding="utf-8",
    )
    # The model writes the answers (answer_mode=model), so the scripted replies decide them.
    settings = Settings(
        data_dir=tmp_path / "data",
        chat_backend="ollama",
        chat_model=MODEL,
        chat_base_url=fake.url,
        answer_mode="model",
    )
    docent = Docent(settings, embedder=embedder)
    assert docent.ingest([share], "staff").exit_code == 0
    return docent


@pytest.mark.slow
def test_drafting_finds_question_headings_definitions_and_headings(staff: Docent) -> None:
    drafted = Evaluation(staff).draft("staff", 50)

    found = {(q.question, q.source, q.pages, q.note) for q in drafted}
    assert found == {
        (PASSWORD, "guide.pdf", (1,), "heading-question"),
        ("Can I bring a bicycle?", "notes.md", (), "heading-question"),
        ("What is a bridge day?", "guide.pdf", (2,), "definition"),
        ("What does Staff Guide say about annual leave?", "guide.pdf", (2,), "heading"),
        ("What does Staff Guide say about expenses?", "guide.pdf", (3,), "heading"),
        ("What is said about parking?", "notes.md", (), "heading"),
    }
    assert all(q.drafted for q in drafted)
    bridge = next(q for q in drafted if q.note == "definition")
    assert bridge.expected_quote.startswith("A bridge day is a working day")
    assert [q.note for q in drafted[:2]] == ["heading-question", "heading-question"]
    # Nothing is drafted twice; a smaller count takes the question headings first.
    assert Evaluation(staff).draft("staff", 50) == []
    staff.settings.data_dir.joinpath("eval", "staff", "questions.jsonl").unlink()
    first = Evaluation(staff).draft("staff", 2)
    assert {q.question for q in first} == {PASSWORD, "Can I bring a bicycle?"}


def test_definition_sentences() -> None:
    assert definition_question("A bridge day is a working day between two holidays.") == (
        "What is a bridge day?"
    )
    assert definition_question("Flexitime means that staff choose their hours.") == (
        "What does Flexitime mean?"
    )
    assert definition_question("It is a good idea to back up your files daily.") == ""
    assert definition_question("The car park opens at six.") == ""


def test_import_csv_and_json_lines(tmp_path: Path) -> None:
    table = tmp_path / "set.csv"
    table.write_text(
        "question,source,pages,expected_quote,unanswerable\n"
        f'"{LEAVE}",guide.pdf,2-3,27 days of annual leave,\n'
        "Who won the 1998 world cup?,,,,yes\n",
        encoding="utf-8",
    )
    lines = tmp_path / "set.jsonl"
    lines.write_text(json.dumps({"question": PASSWORD, "source": "guide.pdf", "pages": [1]}) + "\n")

    rows = read_rows(table) + read_rows(lines)

    assert [(q.source, q.pages, q.unanswerable, q.origin) for q in rows] == [
        ("guide.pdf", (2, 3), False, "imported"),
        ("", (), True, "imported"),
        ("guide.pdf", (1,), False, "imported"),
    ]
    table.write_text("question,source\nWhere is it?,\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match=r"line 2: .*names no source"):
        read_rows(table)


def _ranks(docent: Docent, question: str) -> list[tuple[str, int]]:
    top = docent.answers.retriever.retrieve("staff", question, 10)
    return [(p.source, p.page) for p in top]


@pytest.mark.slow
def test_a_run_reports_what_a_hand_computation_gives(staff: Docent, fake: FakeOllama) -> None:
    questions = [
        EvalQuestion(LEAVE, "guide.pdf", (2,), "27 days of annual leave"),
        EvalQuestion(PASSWORD, "guide.pdf", (1,)),
        # Gold deliberately on the expenses page: the password page is found first.
        EvalQuestion("How do I reset a forgotten password?", "guide.pdf", (3,)),
        EvalQuestion("What is the capital of Peru?", unanswerable=True),
        EvalQuestion("Where is the canteen?", "menu.pdf", (4,)),
    ]
    evaluation = Evaluation(staff)
    evaluation.questions("staff").add(questions)
    answers = iter(
        [
            "The moon is made of green cheese [1].",
            "Open the self-service portal and choose Forgot password [1].",
        ]
    )
    fake.behaviour.answer = LEAVE_ANSWER

    def next_answer(_: object) -> None:
        fake.behaviour.answer = next(answers, "")

    result = evaluation.run("staff", on_question=next_answer)

    report = result.report
    rows = {row["question"]["question"]: row for row in report["per_question"]}
    # The invented second answer verifies nowhere: the reader is shown the ranked quotes
    # instead, which hold the expected page.
    assert [row["outcome"] for row in report["per_question"]] == [
        "holds expected",
        "holds expected",
        "cites elsewhere",
        "refused",
        "no gold in index",
    ]
    expenses = _ranks(staff, "How do I reset a forgotten password?").index(("guide.pdf", 3)) + 1
    assert expenses > 1
    assert rows[LEAVE]["rank"] == rows[PASSWORD]["rank"] == 1
    assert rows["How do I reset a forgotten password?"]["rank"] == expenses
    figures = report["figures"]
    assert figures["questions"] == 5 and figures["no_gold"] == 1 and figures["drafted"] == 0
    retrieval = figures["retrieval"]
    assert retrieval["n"] == 3
    assert retrieval["hit@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert retrieval["hit@5"] == pytest.approx((2 + (expenses <= 5)) / 3, abs=1e-4)
    ndcg = (1 + 1 + 1 / math.log2(expenses + 1)) / 3
    assert retrieval["ndcg@10"] == pytest.approx(ndcg, abs=1e-4)
    assert retrieval["gold_page@10"] == 1.0
    assert figures["answers"] == {
        "n": 3,
        "holds_expected": pytest.approx(2 / 3, abs=1e-4),
        "verified": 1.0,
        "unverified": 0.0,
        "wrong_refusals": 0.0,
    }
    assert figures["refusals"] == {
        "n": 1,
        "correct_refusals": 1.0,
        "n_in_domain": 0,
        "in_domain_refusals": None,
        "in_domain_not_counted": 0,
    }
    latencies = sorted(row["latency_s"] for row in report["per_question"] if row["status"])
    assert len(latencies) == 4
    assert figures["latency"]["p50_s"] == pytest.approx(statistics.median(latencies), abs=1e-3)
    assert figures["latency"]["p95_s"] == pytest.approx(latencies[-1], abs=1e-3)
    assert {p.name for p in result.folder.iterdir()} == {
        "report.json",
        "report.md",
        "latency.png",
        "outcomes.png",
        "index.html",
    }
    page = result.page.read_text()
    assert "<img src='outcomes.png'" in page and "http" not in page
    assert report["previous"] is None and report["changes"] == []


@pytest.mark.slow
def test_own_words_and_questions_asked_without_their_section(
    staff: Docent, fake: FakeOllama
) -> None:
    questions = [
        EvalQuestion(LEAVE, "guide.pdf", (2,), "27 days of annual leave"),
        EvalQuestion(
            "How much holiday do I get each year?",
            "guide.pdf",
            (2,),
            "27 days of annual leave",
            own_words=True,
        ),
        # Asked against a copy without the password section: "not found" is right.
        EvalQuestion(
            PASSWORD,
            "guide.pdf",
            (1,),
            "Open the self-service portal and choose Forgot password",
            removed=True,
            section=PASSWORD,
        ),
        EvalQuestion(
            "When are travel claims paid?",
            "guide.pdf",
            (3,),
            "paid within ten working days",
            removed=True,
            section="Refunds",  # no such heading: not counted
        ),
    ]
    assert questions[2].id != EvalQuestion(PASSWORD, "guide.pdf").id
    evaluation = Evaluation(staff)
    evaluation.questions("staff").add(questions)
    fake.behaviour.answer = LEAVE_ANSWER

    report = evaluation.run("staff").report

    outcomes = [row["outcome"] for row in report["per_question"]]
    assert outcomes[0] == "holds expected"
    # Whatever the own-words question got, it is counted apart from the document's words.
    own = outcomes[1]
    assert own in ("holds expected", "cites elsewhere", "wrong refusal", "unverified")
    assert outcomes[2] == "refused", report["per_question"][2]
    assert outcomes[3] == "section not found"
    figures = report["figures"]
    assert figures["answers"]["n"] == 2
    assert figures["own_words"] == {
        "n_own_words": 1,
        "own_words_holds": float(own == "holds expected"),
        "own_words_wrong_refusals": float(own == "wrong refusal"),
        "document_words_holds": 1.0,
        "document_words_wrong_refusals": 0.0,
    }
    refusals = figures["refusals"]
    assert (refusals["n_in_domain"], refusals["in_domain_refusals"]) == (1, 1.0)
    assert refusals["in_domain_not_counted"] == 1
    assert headline(report)["in_domain_refusals"] == 1.0
    # The copy holds every other section, with the password page's text gone.
    from app.eval.removed import cut_name

    copy = staff.index.collection(cut_name("staff")).stored_chunks()
    texts = " ".join(c.text for c in copy)
    assert "self-service portal" not in texts and "27 days of annual leave" in texts
    assert "bicycles are behind building C" in texts
    page = next((evaluation.root / "staff" / "runs").glob("*/report.md")).read_text()
    assert "| own words |" in page and "| without its section |" in page


@pytest.mark.slow
def test_a_question_whose_answer_the_copy_still_holds_is_not_counted(staff: Docent) -> None:
    from app.eval.removed import make_cut

    # The bicycle section is cut, but the answer given is the parking section's, which
    # the copy still holds: the question cannot count as unanswerable.
    asked = EvalQuestion(
        "When does the car park open?",
        "notes.md",
        (),
        "The staff car park opens at 06:30 every weekday",
        removed=True,
        section="Can I bring a bicycle?",
    )
    cut = make_cut(staff, "staff", [asked])
    assert cut.elsewhere == {asked.id} and not cut.absent


@pytest.mark.slow
def test_drafting_makes_in_domain_unanswerables_of_sections_without_sub_sections(
    staff: Docent,
) -> None:
    drafted = Evaluation(staff).draft_removed("staff", 10)

    assert drafted and all(q.removed and q.section and q.source for q in drafted)
    # "Parking" holds the bicycle question's section: cutting it would cut that answer too.
    assert "Parking" not in {q.section for q in drafted}
    assert {q.section for q in drafted} >= {PASSWORD, "Can I bring a bicycle?"}
    assert Evaluation(staff).draft_removed("staff", 10) == []  # nothing drafted twice


@pytest.mark.slow
def test_a_second_run_is_compared_with_the_first(staff: Docent, fake: FakeOllama) -> None:
    evaluation = Evaluation(staff)
    peru = EvalQuestion("What is the capital of Peru?", unanswerable=True)
    evaluation.questions("staff").add([EvalQuestion(LEAVE, "guide.pdf", (2,)), peru])
    fake.behaviour.answer = LEAVE_ANSWER
    first = evaluation.run("staff", label="one")
    evaluation.questions("staff").remove([peru.id[:4]])

    second = evaluation.run("staff", label="two")

    assert second.report["previous"] == first.report["run"]
    assert "correct_refusals 1.00 -> -" in second.report["changes"]
    assert "(the question set changed since that run)" in second.report["changes"]
    assert evaluation.last_runs(["staff", "other"]) == {
        "staff": {"run": second.report["run"], **headline(second.report)}
    }


@pytest.mark.slow
def test_compare_shows_two_settings_side_by_side(
    staff: Docent, fake: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    Evaluation(staff).questions("staff").add([EvalQuestion(LEAVE, "guide.pdf", (2,))])
    fake.behaviour.answer = LEAVE_ANSWER

    code = cli.main(
        ["eval", "compare", "-c", "staff", "--b", "answer_gate=0.99"],
        prog_name="docent",
        standalone_mode=False,
        obj=staff,
    )

    assert code == 0
    table = capsys.readouterr().out
    assert "| answer_gate | 0.441 | 0.99 |" in table
    assert "| holds_expected | 1.00 | 0.00 |" in table
    assert "| wrong_refusals (lower is better) | 0.00 | 1.00 |" in table
    with pytest.raises(Exception, match="not SETTING=VALUE"):
        cli.main(
            ["eval", "compare", "-c", "staff", "--a", "bogus=1"],
            prog_name="docent",
            standalone_mode=False,
            obj=staff,
        )


@pytest.mark.slow
def test_feedback_round_trips_into_the_set_and_only_administrators_see_it(
    staff: Docent, fake: FakeOllama
) -> None:
    staff.accounts.add("alice", "alice's passphrase")
    staff.accounts.add("bob", "bob's passphrase")
    staff.grant("alice", "staff")
    alice, bob = staff.accounts.get("alice"), staff.accounts.get("bob")
    admin = User("root", role="admin")
    fake.behaviour.answer = "Claims are paid quickly [1]."
    answer = staff.ask("staff", "When are travel claims paid?", user=alice)

    given = staff.give_feedback(
        "staff",
        answer,
        helpful=False,
        note="it says ten working days",
        source="guide.pdf",
        page=3,
        user=alice,
    )
    with pytest.raises(CollectionError):
        staff.give_feedback("staff", answer, helpful=True, user=bob)
    with pytest.raises(AccessError):
        staff.feedback(user=alice)

    seen = staff.feedback("staff", user=admin)
    assert [(f.id, f.user, f.question, f.helpful, f.page) for f in seen] == [
        (given.id, "alice", "When are travel claims paid?", False, 3)
    ]
    assert seen[0].answer == answer.text and seen[0].status == answer.status
    assert seen[0].sources == [
        {"source": c.source, "page": c.page, "quote": c.quote} for c in answer.citations
    ]
    events = [(r["event"], r["user"]) for r in staff.audit.export()]
    assert ("feedback", "alice") in events and ("denied", "alice") in events
    taught = Evaluation(staff).import_feedback("staff")
    assert [(q.question, q.source, q.pages, q.origin) for q in taught] == [
        ("When are travel claims paid?", "guide.pdf", (3,), "feedback")
    ]
    assert Evaluation(staff).import_feedback("staff") == []
    fake.behaviour.answer = "Claims for travel are paid within ten working days of approval [1]."
    report = Evaluation(staff).run("staff").report
    assert [row["outcome"] for row in report["per_question"]] == ["holds expected"]
