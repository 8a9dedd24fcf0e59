"""File names with newlines, escape sequences or bidirectional controls are shown escaped
in CLI progress, reports and listings and on the Library page; JSON keeps them exact."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from app.cli import main
from app.conversations import where
from app.ui import present, wording
from ingest.report import FileOutcome, IngestReport, shown

# A fake log line, a terminal colour and title change, a cursor move, a right-to-left
# override that makes "txt.exe" read as "exe.txt", an isolate, a zero-width space, a C1 CSI.
HOSTILE = [
    "note\n[9] added payroll.md",
    "red\x1b[31m\x1b]0;owned\x07.md",
    "move\x1b[2A\x1b[Kup.md",
    "invoice\u202etxt.md",
    "isolate\u2066x\u2069.md",
    "zero\u200bwidth.md",
    "c1\x9b31m.md",
]
PLAIN = ["Résumé – café.md", "back\\slash.md"]


def _unsafe(text: str) -> list[str]:
    """Characters a terminal or a page would act on rather than show."""
    return [c for c in text if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} and c != "\n"]


def test_shown_escapes_every_hostile_name_and_keeps_names_apart() -> None:
    for name in HOSTILE:
        assert not _unsafe(shown(name)) and "\n" not in shown(name), name
    assert shown(PLAIN[0]) == PLAIN[0]
    assert shown("a\nb.md") != shown("a\\nb.md")  # a real newline and the two characters differ
    assert shown("invoice\u202etxt.md") == "invoice\\u202etxt.md"


def test_cli_progress_report_and_listing_escape_names_and_json_keeps_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    share = tmp_path / "share"
    share.mkdir()
    for n, name in enumerate(HOSTILE + PLAIN):
        (share / name).write_text(f"# Note {n}\n\nRoom {n} opens at {n + 7}:00.\n", "utf-8")
    (share / "empty\x1b[2J.md").write_bytes(b"")  # a skip reason names it too

    assert main(["ingest", str(share), "-c", "names"]) == 0
    out, err = capsys.readouterr()
    assert main(["docs", "list", "-c", "names"]) == 0
    listing, _ = capsys.readouterr()
    assert main(["ingest", str(share), "-c", "names", "--json"]) == 0
    exact, _ = capsys.readouterr()

    for text in (out, err, listing):
        assert not _unsafe(text), repr(text)
    lines = err.splitlines()
    # One outcome line per file, none forged; a slow machine may add status lines between.
    outcomes = [line for line in lines if line.split(" ")[1:2] in (["added"], ["skipped"])]
    assert len(outcomes) == len(HOSTILE) + len(PLAIN) + 1
    assert sum(line.startswith("[") for line in lines) == len(lines)
    assert "invoice\\u202etxt.md" in listing and PLAIN[0] in listing
    assert "empty\\x1b[2J.md: empty file" in out
    sources = {f["source"] for f in json.loads(exact)["files"]}
    assert sources == {*HOSTILE, *PLAIN, "empty\x1b[2J.md"}


def test_the_library_tables_escape_names() -> None:
    report = IngestReport("names", files=[FileOutcome(n, n, "added") for n in HOSTILE])
    report.files.append(FileOutcome("x", "dup\x1b.md", "skipped", "same content as a\nb.md"))
    for rows in (wording.upload_rows(report), present.report_rows(report)):
        for row in rows:
            assert not _unsafe(str(row["file"]) + str(row["reason"])), row
            assert "\n" not in str(row["file"]) + str(row["reason"])


def test_citations_on_the_ask_page_escape_names() -> None:
    assert where("Pay\u202etxt.exe", "pay\nroll.md", 2) == (
        "Pay\\u202etxt.exe (pay\\nroll.md), p. 2"
    )
