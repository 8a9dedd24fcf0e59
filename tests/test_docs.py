"""The docs stay honest: every setting and command is documented, the CLI reference is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.cli import cli
from app.cli.reference import render
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_table(name: str) -> None:
    row = re.search(rf"^\| `{name}` \| `DOCENT_{name.upper()}` \|.+\|$", README, re.MULTILINE)
    assert row, f"setting {name} is missing from the README settings table"


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"


def test_readme_names_no_setting_that_does_not_exist() -> None:
    documented = set(re.findall(r"^\| `(\w+)` \| `DOCENT_", README, re.MULTILINE))
    assert documented == set(Settings.model_fields)


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"docent {command}" in README


def test_cli_reference_is_generated_from_the_code() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == render(), "docs/cli.md is stale: run `make docs`"
