"""Docent's answer chain end to end, as the answer benchmark reads it: what it shows
(``Answer.text`` and its pieces, ``Answer.sentences[i].text``), latencies, today's design
(the model's own text), and the rows of the grading sheet."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from typing import Any

from app.api import Docent
from bench.answer_figures import Case, Shown, by_corpus, collection_for, figures, percentiles
from bench.answer_report import UNANSWERABLE, SheetRow
from bench.gold import holds
from bench.reader import plain, reading, scores
from rag.answer import Answer, AnswerChain
from rag.retrieve import Retriever


def _pieces(answer: Answer) -> list[str]:
    """What the reader sees of an answer, piece by piece ([] for "not found")."""
    if answer.status == "not_found":
        return []
    return [s.text for s in answer.sentences] or [answer.text]


def _sheet_row(case: Case, answer: Answer, pieces: list[str]) -> SheetRow:
    gold = case[0].answer if case[0] else ""
    cited = [{"source": c.source, "page": c.page, "quote": c.quote} for c in answer.citations]
    automatic: dict[str, Any] = {"status": answer.status}
    if case[0] is not None:
        automatic["holds_gold"] = holds([plain(p) for p in pieces], case[0])
        automatic.update(asdict(scores(pieces, gold, answer.text)) if pieces else {})
    return SheetRow(case[2], case[1], gold, answer.text, cited, automatic)


def end_to_end(
    docent: Docent, cases: list[Case], mode: str, sheet: list[SheetRow] | None = None
) -> dict[str, Any]:
    """The real chain on the questions: what it shows, latencies, and today's raw text."""
    config = replace(docent.settings.answer_config(), mode=mode)  # type: ignore[arg-type]
    chain = AnswerChain(Retriever(docent.index), docent.chat, config)
    shown: Shown = []
    texts: Shown = []
    cited: Shown = []
    today: Shown = []
    first: list[float] = []
    total: list[float] = []
    for case in cases:
        collection = collection_for(case[2])
        started = time.perf_counter()
        answer: Answer | None = None
        first_at: float | None = None
        for part in chain.stream(collection, case[1]):
            if isinstance(part, Answer):
                answer = part
            elif first_at is None:
                first_at = time.perf_counter() - started
        total.append(time.perf_counter() - started)
        first.append(first_at if first_at is not None else total[-1])
        assert answer is not None
        pieces = _pieces(answer)
        shown.append((case, pieces))
        texts.append((case, [answer.text] if pieces else []))
        cited.append((case, [c.quote for c in answer.citations] if pieces else []))
        raw = answer.raw if answer.raw and "could not find" not in answer.raw else ""
        today.append((case, [raw] if raw else []))
        if sheet is not None:
            sheet.append(_sheet_row(case, answer, pieces))
    result = {
        **figures(shown),
        "holds_gold_cited": figures(cited).get("holds_gold"),
        "by_corpus": _chain_by_corpus(shown, texts),
        "first_text_s": percentiles(first),
        "total_s": percentiles(total),
    }
    if mode == "model":
        result["today_design"] = figures(today)
    return result


def _chain_by_corpus(shown: Shown, texts: Shown) -> dict[str, dict[str, Any]]:
    """Per corpus: holds gold on the shown pieces, reading figures on ``Answer.text``
    (defects on the pieces, so each quote's opening counts)."""
    out = by_corpus(shown)
    for kind, got in out.items():
        if kind in UNANSWERABLE:
            continue
        whole = reading([(c[0].answer, q) for c, q in texts if c[2] == kind and c[0]])
        got.update(
            {k: whole[k] for k in ("coverage", "first_sentence", "words_median", "words_p95")}
        )
    return out
