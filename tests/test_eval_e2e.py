"""`docent eval run` end to end with the real packaged SmolLM2 in llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import cli
from app.eval.questions import EvalQuestion
from app.settings import Settings
from models.embedder import Embedder
from tests import docgen
from tests.indexed import indexed

pytestmark = pytest.mark.slow

LEAVE = "How many days of annual leave does every employee receive?"


def test_eval_run_with_the_packaged_model(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    share = docgen.handbook_share(tmp_path)
    docent = indexed(Settings(data_dir=tmp_path / "data", chat_temperature=0.0), embedder, share)
    lines = tmp_path / "set.jsonl"
    rows = [
        EvalQuestion(LEAVE, "handbook.pdf", (2,), "27 days of annual leave").to_dict(),
        {"question": "Who won the 1998 football world cup?", "unanswerable": "yes"},
    ]
    lines.write_text("".join(json.dumps(row) + "\n" for row in rows))

    def docent_cli(*args: str) -> int:
        code = cli.main(list(args), prog_name="docent", standalone_mode=False, obj=docent)
        assert isinstance(code, int)
        return code

    assert docent_cli("eval", "questions", "import", str(lines), "-c", "docs") == 0
    capsys.readouterr()
    assert docent_cli("eval", "run", "-c", "docs", "--json") == 0

    report = json.loads(capsys.readouterr().out)
    assert report["settings"]["model"].startswith("llamacpp:")
    assert [row["outcome"] for row in report["per_question"]] == ["holds expected", "refused"]
    assert report["figures"]["retrieval"]["hit@1"] == 1.0
    assert report["figures"]["answers"]["holds_expected"] == 1.0
    assert report["figures"]["refusals"]["correct_refusals"] == 1.0
    assert Path(report["per_question"][0]["question"]["source"]).name == "handbook.pdf"
