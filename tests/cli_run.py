"""The `docent` CLI run in the test process, as a user would type it, with its output."""

from __future__ import annotations

import pytest

from app.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``docent ARGV``: the exit code, and what it wrote to stdout and to stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
