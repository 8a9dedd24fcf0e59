"""The answer chain's own logic, with the scripted chat backend (``tests.scripted_chat``).

The real index, embedder, retrieval, gate and citation checker run; only the model's
words are scripted, so what the chain does with them is tested in a fraction of a second
and without doubt about what the model said. test_answer.py runs the same areas end to
end with the packaged SmolLM2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import Embedder
from rag.prompts import NOT_FOUND
from tests import docgen
from tests.indexed import indexed
from tests.scripted_chat import Script, scripted_settings

pytestmark = pytest.mark.slow


@pytest.fixture
def library(tmp_path: Path, embedder: Embedder, scripted_chat: Script) -> Docent:
    share = docgen.handbook_share(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", answer_mode="model")
    return indexed(scripted_settings(settings), embedder, share)


def test_unrelated_question_is_refused_without_calling_the_model(
    library: Docent, scripted_chat: Script
) -> None:
    answer = library.ask("docs", "What is the boiling point of tungsten in kelvin?")

    assert answer.status == "not_found"
    assert answer.text == NOT_FOUND
    assert answer.raw == "" and "first_token" not in answer.timings
    assert answer.evidence, "the closest passages are shown"
    assert scripted_chat.prompts == []


def test_a_supported_claim_is_cited_with_its_page_and_quote(
    library: Docent, scripted_chat: Script
) -> None:
    scripted_chat.enqueue("Every employee receives 27 days of annual leave per year [1].")

    answer = library.ask("docs", "How many days of annual leave does every employee receive?")

    assert answer.status == "answered", answer
    assert answer.model.startswith("scripted:")
    assert len(scripted_chat.prompts) == 1
    cited = [c for c in answer.citations if (c.source, c.page) == ("handbook.pdf", 2)]
    assert cited and "27 days" in cited[0].quote


def test_a_reply_the_sources_do_not_support_gets_no_citation(
    library: Docent, scripted_chat: Script
) -> None:
    scripted_chat.enqueue("Every employee receives 45 days of annual leave per year [1].")

    answer = library.ask("docs", "How many days of annual leave does every employee receive?")

    assert len(scripted_chat.prompts) == 1
    assert answer.raw.startswith("Every employee receives 45 days")
    assert answer.rejected == [1]
    assert "45 days" not in answer.text


def test_a_faithful_direct_answer_stands_above_the_unit(
    library: Docent, scripted_chat: Script
) -> None:
    scripted_chat.enqueue("Every employee receives 27 days of annual leave per year [1].")

    answer = library.ask("docs", "How many days of annual leave does every employee receive?")

    assert answer.made_by == "model" and answer.fallback == ""
    assert answer.lead == "Every employee receives 27 days of annual leave per year. [1]"
    assert answer.text.startswith(answer.lead + "\n\n")
    assert "27 days" in answer.sentences[0].citation.quote  # the unit stays below it


def test_a_changed_word_keeps_the_direct_answer_off_the_screen(
    library: Docent, scripted_chat: Script
) -> None:
    # Close in meaning and in words, and "verified" by similarity alone: one word is not
    # the document's, so the reader gets the unit without the model's sentence.
    scripted_chat.enqueue("Every employee receives 27 days of holiday leave per year [1].")

    answer = library.ask("docs", "How many days of annual leave does every employee receive?")

    assert answer.lead == "" and answer.made_by == "quotes"
    assert "held against the quotes" in answer.fallback
    assert "holiday" not in answer.text and "27 days" in answer.text
