"""Debian packages the tests use, from the one list in deploy/system-packages.txt.

`make test` installs them first. A test run without one (plain `pytest` on a machine that
lacks it) skips the tests that need it, naming the package, instead of failing them.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

LIST = Path(__file__).resolve().parent.parent / "deploy" / "system-packages.txt"


@cache
def listed(where: str = "test") -> frozenset[str]:
    """The packages the list tags ``where``."""
    names = set()
    for line in LIST.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and where in fields[1:]:
            names.add(fields[0])
    return frozenset(names)


def require(thing: Path | str, package: str) -> None:
    """Skip the calling test unless ``thing`` (a path, or a command on PATH) is present.

    Raises:
        AssertionError: ``package`` is missing from the list, so `make test` would not
            install it.
    """
    assert package in listed(), f"{package} is not tagged `test` in {LIST}"
    present = thing.exists() if isinstance(thing, Path) else shutil.which(thing) is not None
    if not present:
        pytest.skip(
            f"needs the Debian package {package} ({thing} is missing): "
            f"`make test` installs it, or run `apt-get install {package}`"
        )
