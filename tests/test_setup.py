"""The set-up the README's two commands rely on: the Debian packages from one list."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.system import LIST, listed

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "system-packages.sh"


def fake_commands(folder: Path, **scripts: str) -> dict[str, str]:
    """An environment whose PATH holds only the given shell commands (and coreutils)."""
    folder.mkdir()
    for name, body in scripts.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:/usr/bin:/bin"}


def test_every_package_has_a_purpose_and_a_place() -> None:
    for line in LIST.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            places = {"image", "run", "test", "bench", "install"}
            assert set(fields[1:]) <= places and fields[1:], line
            assert "#" in line, f"say why {fields[0]} is needed"
    assert {"python3.11-doc", "chromium", "docker-compose", "tesseract-ocr"} <= listed()


def test_every_installed_distribution_is_pinned_in_the_constraints() -> None:
    # A package pulled in unpinned (by a dependency's dependency) would install whatever
    # release is newest on the next fresh machine.
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pinned = {canonicalize_name(line.split("==")[0]) for line in lines if "==" in line}
    installed = {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    assert installed - pinned <= {"docent", "pip", "setuptools"}, installed - pinned


@pytest.mark.slow
def test_installed_packages_cost_nothing_and_print_nothing() -> None:
    done = subprocess.run(
        [str(SCRIPT), "test"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


@pytest.mark.slow
def test_without_root_or_sudo_it_stops_with_the_command_to_run(tmp_path: Path) -> None:
    env = fake_commands(
        tmp_path / "bin",
        **{"dpkg-query": "exit 1", "id": "echo 1000", "sudo": "exit 1", "apt-get": "exit 99"},
    )
    done = subprocess.run(
        ["bash", str(SCRIPT), "test"], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    command = next(line for line in done.stderr.splitlines() if "apt-get install" in line)
    for package in listed():
        assert package in command
    assert "sudo apt-get update" in command
