"""The benchmark's paraphrased questions: each stored original is still a gold question of
its corpus, and no paraphrase copies a run of four words from its original."""

from __future__ import annotations

import json

import pytest

from bench.wording import FOLDER, copied, corpora, paraphrases

# corpus -> the bench.gold reader of its questions and the documents it reads
_GOLD = {
    "python": ("python_faq", "PYTHON_FAQ"),
    "r": ("r_faq", "R_FAQ"),
    "manual": ("r_intro", "R_INTRO"),
}


def test_every_corpus_has_at_least_thirty_distinct_paraphrases() -> None:
    assert corpora() == sorted(_GOLD)
    for corpus in corpora():
        entries = json.loads((FOLDER / f"{corpus}.json").read_text(encoding="utf-8"))
        found = paraphrases(corpus)
        assert len(found) == len(entries) >= 30
        assert len(set(found.values())) == len(found)
        assert all(p.strip() and p != q for q, p in found.items())
    assert paraphrases("nowhere") == {}


@pytest.mark.parametrize("corpus", sorted(_GOLD))
def test_no_paraphrase_copies_four_words_of_its_question(corpus: str) -> None:
    copies = {q: copied(q, p) for q, p in paraphrases(corpus).items() if copied(q, p)}
    assert copies == {}


def test_copied_finds_a_shared_run() -> None:
    assert copied("How do I read binary data?", "so how do I read it") == {
        ("how", "do", "i", "read")
    }
    assert copied("How do I read binary data?", "loading raw bytes") == set()


@pytest.mark.parametrize("corpus", sorted(_GOLD))
def test_every_original_is_a_gold_question(corpus: str) -> None:
    from bench import gold

    reader, documents = _GOLD[corpus]
    if not getattr(gold, documents).exists():
        pytest.skip(f"{corpus}: its documents are not installed (python3.11-doc, r-doc-pdf)")
    asked = {q.question for q in getattr(gold, reader)()}
    missing = [q for q in paraphrases(corpus) if q not in asked]
    assert missing == []
