"""Gold questions in a person's own words: paraphrases of the benchmark's questions.

``bench/paraphrases/<corpus>.json`` (corpus: ``python``, ``r``, ``manual``, the names of
``bench.answer_corpora``) is a list of ``{"question": ..., "paraphrase": ...}``: the
question exactly as ``bench.gold`` yields it (the section heading) and the same question
as a staff member might type it. Each paraphrase was written from the question alone,
before reading its section: synonyms instead of the heading's words, a situation instead
of a term ("My script takes ages to finish, what can I do to make it faster?" for "My
program is too slow. How do I speed it up?"), and no run of ``COPIED_RUN`` words or more
taken from the question. Names of functions, packages and products stay as they are.

The questions are those ``bench.answers`` asks (every ``len(kept) // 40``-th gold question
with a relevant chunk, ``_cases``), 40 per corpus; ask a paraphrase with the original's
gold answer and report its figures beside the original wording's.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.metrics import runs, words

FOLDER = Path(__file__).parent / "paraphrases"
COPIED_RUN = 4


def paraphrases(corpus: str) -> dict[str, str]:
    """Original question -> paraphrase, for one corpus ({} when it has none)."""
    path = FOLDER / f"{corpus}.json"
    if not path.exists():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {entry["question"]: entry["paraphrase"] for entry in entries}


def corpora() -> list[str]:
    """The corpora with paraphrases."""
    return sorted(path.stem for path in FOLDER.glob("*.json"))


def copied(question: str, paraphrase: str, n: int = COPIED_RUN) -> set[tuple[str, ...]]:
    """The runs of ``n`` words a paraphrase shares with its question."""
    return runs(words(question), n) & runs(words(paraphrase), n)
