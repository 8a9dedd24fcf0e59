"""Load: several users asking at once through the UI's code path, with the embedded model.

Run by hand (``python -m bench.load``); never a timed test.

* Corpus: the sample documents in ``data/samples/``, ingested into a fresh temporary index.
* Code path: one shared ``Docent`` (as the Streamlit app keeps one per process) and
  ``Docent.stream_answer`` consumed to the end in one thread per user, as the UI does.
* Questions: ``QUESTIONS`` (answerable ones and two the gate refuses); user ``u`` asks them
  in turn starting at question ``u``, so different questions run at the same time.
* Correct: each answer's status, text and cited pages must equal what a single user got
  for the same question before the load (temperature 0: llama.cpp answers the same prompt
  the same way when generations do not interfere).
* Queue: llama.cpp serves one generation at a time; a waiting user is told its place in
  the line (``models.queue``). The longest line and the waits are reported.
* Output: p50/p95 of the time to the whole answer and to its first shown text, errors,
  mismatches; the figures are written to ``bench/results/load-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.api import Docent
from app.settings import Settings
from models.queue import queue_listener
from rag.answer import Answer

RESULTS = Path(__file__).parent / "results"
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
COLLECTION = "samples"

QUESTIONS = [
    "How many days of annual leave do full-time employees receive?",
    "What is the notice period during probation?",
    "How long is the probation period?",
    "How many characters must a password have?",
    "Within how many hours must a security incident be reported?",
    "What is the hotel limit per night for expenses?",
    "How many days per week may administrative staff work remotely?",
    "After how many failed sign-in attempts is an account locked?",
    "What is the boiling point of tungsten in kelvin?",
    "Who won the football world cup in 1954?",
]


@dataclass(frozen=True)
class Outcome:
    """What one question produced, in the terms compared between runs."""

    status: str
    text: str
    pages: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, answer: Answer) -> Outcome:
        """The comparable part of an answer."""
        pages = tuple(sorted({(c.source, c.page) for c in answer.citations}))
        return cls(answer.status, answer.text, pages)


@dataclass
class Asked:
    """One question asked under load."""

    user: int
    question: str
    seconds: float
    first_text: float | None
    queue_ahead: int
    queue_wait: float
    error: str = ""
    matches: bool = True


@dataclass
class UserRun:
    """Everything one simulated user saw."""

    user: int
    asked: list[Asked] = field(default_factory=list)


def _ask(docent: Docent, user: int, question: str, expected: Outcome) -> Asked:
    started = time.perf_counter()
    first: float | None = None
    ahead: list[int] = []
    waits: list[float] = []

    def on_queue(position: int) -> None:
        # The UI shows "busy: N ahead of yours"; here the line is measured instead.
        ahead.append(position)
        waits.append(time.perf_counter())

    final: Answer | None = None
    try:
        with queue_listener(on_queue):
            for part in docent.stream_answer(COLLECTION, question):
                if isinstance(part, Answer):
                    final = part
                elif first is None:
                    first = time.perf_counter() - started
    except Exception as error:  # the load test counts every failure, whatever its type
        return Asked(user, question, time.perf_counter() - started, first, 0, 0.0, repr(error))
    seconds = time.perf_counter() - started
    assert final is not None
    return Asked(
        user=user,
        question=question,
        seconds=seconds,
        first_text=first,
        queue_ahead=max(ahead, default=0),
        queue_wait=waits[-1] - waits[0] if len(waits) > 1 else 0.0,
        matches=Outcome.of(final) == expected,
    )


def _user(docent: Docent, run: UserRun, count: int, expected: dict[str, Outcome]) -> None:
    for n in range(count):
        question = QUESTIONS[(run.user + n) % len(QUESTIONS)]
        run.asked.append(_ask(docent, run.user, question, expected[question]))


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    cuts = statistics.quantiles(values, n=20, method="inclusive") if len(values) > 1 else values
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(cuts[-1], 2),
        "max": round(max(values), 2),
    }


def baseline(docent: Docent) -> tuple[dict[str, Outcome], list[float]]:
    """Each question asked by a single user, with nothing else running."""
    expected: dict[str, Outcome] = {}
    seconds: list[float] = []
    for question in QUESTIONS:
        started = time.perf_counter()
        expected[question] = Outcome.of(docent.ask(COLLECTION, question))
        seconds.append(time.perf_counter() - started)
    return expected, seconds


def load(docent: Docent, users: int, count: int, expected: dict[str, Outcome]) -> list[UserRun]:
    """``users`` threads, each asking ``count`` questions through ``stream_answer``."""
    runs = [UserRun(user) for user in range(users)]
    threads = [
        threading.Thread(target=_user, args=(docent, run, count, expected), name=f"user-{i}")
        for i, run in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def report(runs: list[UserRun], single: list[float], wall: float) -> dict[str, Any]:
    """The figures of a load run."""
    asked = [a for run in runs for a in run.asked]
    answered = [a for a in asked if not a.error]
    return {
        "users": len(runs),
        "questions": len(asked),
        "errors": [f"user {a.user}: {a.question}: {a.error}" for a in asked if a.error],
        "mismatches": [f"user {a.user}: {a.question}" for a in answered if not a.matches],
        "wall_seconds": round(wall, 1),
        "questions_per_minute": round(len(asked) / wall * 60, 2),
        "single_user_seconds": _percentiles(single),
        "answer_seconds": _percentiles([a.seconds for a in answered]),
        # Gate refusals take no model call; these are the answers that queued for the model.
        "model_answer_seconds": _percentiles(
            [a.seconds for a in answered if a.first_text is not None]
        ),
        "first_text_seconds": _percentiles(
            [a.first_text for a in answered if a.first_text is not None]
        ),
        "queue_wait_seconds": _percentiles([a.queue_wait for a in answered if a.queue_ahead]),
        "longest_line": max((a.queue_ahead for a in answered), default=0),
        "waited": sum(1 for a in answered if a.queue_ahead),
    }


def _table(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['users']} users, {figures['questions']} questions in "
        f"{figures['wall_seconds']} s ({figures['questions_per_minute']} per minute)",
        f"errors: {len(figures['errors'])}, answers differing from a single user's: "
        f"{len(figures['mismatches'])}",
    ]
    names = ("single_user_seconds", "answer_seconds", "model_answer_seconds", "first_text_seconds")
    for name in names:
        lines.append(f"{name:22} {figures[name]}")
    lines.append(
        f"queue: longest line {figures['longest_line']} ahead, {figures['waited']} questions "
        f"waited, wait {figures['queue_wait_seconds']}"
    )
    lines += [f"  ERROR {e}" for e in figures["errors"]]
    lines += [f"  MISMATCH {m}" for m in figures["mismatches"]]
    return "\n".join(lines)


def main() -> None:
    """Ingest the samples, ask each question alone, then all users at once; save figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=8, help="concurrent users (default 8)")
    parser.add_argument("--questions", type=int, default=25, help="questions per user")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docent-load-") as tmp:
        docent = Docent(Settings(data_dir=Path(tmp), chat_temperature=0.0))
        docent.ingest([SAMPLES], COLLECTION)
        docent.chat.preflight()
        expected, single = baseline(docent)
        started = time.perf_counter()
        runs = load(docent, args.users, args.questions, expected)
        figures = report(runs, single, time.perf_counter() - started)
    figures["asked"] = [asdict(a) for run in runs for a in run.asked]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(figures, indent=2))
    print(_table(figures))
    print(f"figures: {out}")


if __name__ == "__main__":
    main()
