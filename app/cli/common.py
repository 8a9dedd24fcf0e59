"""Pieces shared by the CLI's command modules."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from app.api import Docent
from app.settings import Settings

EXIT_OK, EXIT_FATAL, EXIT_FAILED_FILES = 0, 1, 2
Shown = TypeVar("Shown")


def docent_of(ctx: click.Context, **overrides: Any) -> Docent:
    """The process's ``Docent``, built once from the settings named on the command line.

    Args:
        ctx: The command's context.
        overrides: Settings given as command options (None values are ignored).
    """
    docent = ctx.find_object(Docent)
    if docent is None:
        config = ctx.find_root().params.get("config")
        settings = Settings.load(Path(config) if config else None)
        given = {key: value for key, value in overrides.items() if value is not None}
        docent = Docent(settings.model_copy(update=given) if given else settings)
        ctx.find_root().obj = docent
    return docent


def docent_for_account(ctx: click.Context, name: str) -> Docent:
    """The process's ``Docent``, once ``name`` is known to be an account.

    Checked before a password or a confirmation is asked for, so none is typed in vain.

    Raises:
        AccountError: There is no such account.
    """
    docent = docent_of(ctx)
    docent.accounts.find(name)
    return docent


def emit_json(data: Any) -> None:
    """Print data as indented JSON."""
    click.echo(json.dumps(data, indent=2, default=str))


def emit_json_text(pieces: Iterable[str]) -> None:
    """Print JSON text given in pieces (a large report never held as one text).

    The pieces are printed about 64 KB at a time: one write per piece cost more than
    making the text.
    """
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= 1 << 16:
            click.echo("".join(batch), nl=False)
            batch, size = [], 0
    click.echo("".join(batch))


def show(data: Shown, as_json: bool, text: Callable[[Shown], str]) -> None:
    """Print ``data`` (a dataclass or a list of them) as JSON with ``--json``, else as ``text``."""
    if not as_json:
        click.echo(text(data))
    elif isinstance(data, list):
        emit_json([asdict(item) for item in data])
    else:
        assert is_dataclass(data) and not isinstance(data, type)
        emit_json(asdict(data))


json_option = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
yes_option = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")


collection_option = click.option(
    "--collection", "-c", help="Collection (workspace) to use; default the `collection` setting."
)
