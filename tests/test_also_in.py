"""A passage found in two files is cited once and names the other file: "also in".

Real Chroma, the real embedder, answers of quotes (no model); the same cited sentence
is checked in the answer, `docent ask` and its `--json`, and the HTTP API's answer record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.api import Docent
from app.cli import main
from app.cli.render import answer_footer, quoted_answer
from app.http.schemas import answer as answer_json

pytestmark = pytest.mark.slow

LEAVE = (
    "Every employee receives 27 days of annual leave per year, and unused days may be "
    "carried over until the end of March of the following year."
)
QUESTION = "How many days of annual leave does every employee receive?"


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    """The same passage in a Markdown page and in a text copy of it in another folder."""
    folder = tmp_path / "files"
    (folder / "old").mkdir(parents=True)
    (folder / "handbook.md").write_text(f"# Leave\n\n{LEAVE}\n")
    (folder / "old" / "handbook.txt").write_text(f"Leave\n\n{LEAVE}\n")
    return folder


def test_the_cited_passage_names_its_copy_everywhere(
    docent: Docent, copies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert docent.ingest([copies], "staff").exit_code == 0
    answer = docent.ask("staff", QUESTION)

    assert answer.status == "answered"
    cited = answer.sentences[0].citation
    both = {cited.source, *cited.also_in}
    assert both == {"handbook.md", "old/handbook.txt"} and len(cited.also_in) == 1
    assert f"also in: {cited.also_in[0]}" in quoted_answer(answer)
    assert f"also in: {cited.also_in[0]}" in answer_footer(answer)
    assert answer_json(answer).citations[0].also_in == list(cited.also_in)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCENT_DATA_DIR", str(docent.settings.data_dir))
        assert main(["ask", QUESTION, "-c", "staff", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert main(["ask", QUESTION, "-c", "staff"]) == 0
        printed = capsys.readouterr().out
    assert shown["units"][0]["citation"]["also_in"] == list(cited.also_in)
    assert f"also in: {cited.also_in[0]}" in printed


def test_a_passage_in_one_file_names_no_other(docent: Docent, copies: Path) -> None:
    (copies / "old" / "handbook.txt").unlink()
    docent.ingest([copies], "staff")
    answer = docent.ask("staff", QUESTION)
    assert answer.sentences and answer.sentences[0].citation.also_in == ()
    assert "also in" not in quoted_answer(answer)


def test_an_exact_copy_in_another_folder_is_named(docent: Docent, tmp_path: Path) -> None:
    folder = tmp_path / "copies"
    (folder / "2024").mkdir(parents=True)
    (folder / "rota.md").write_text("# Night rota\n\nThe night shift starts at nine.\n")
    (folder / "2024" / "rota.txt").write_text("Night rota\n\nThe night shift starts at nine.\n")
    docent.ingest([folder], "staff")
    answer = docent.ask("staff", "When does the night shift start?")
    cited = answer.sentences[0].citation
    assert {cited.source, *cited.also_in} == {"rota.md", "2024/rota.txt"}
