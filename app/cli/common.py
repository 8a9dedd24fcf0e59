"""Pieces shared by the CLI's command modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from app.api import Docent
from app.settings import Settings

EXIT_OK, EXIT_FATAL, EXIT_FAILED_FILES = 0, 1, 2


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


def emit_json(data: Any) -> None:
    """Print data as indented JSON."""
    click.echo(json.dumps(data, indent=2, default=str))


collection_option = click.option(
    "--collection", "-c", help="Collection (workspace) to use; default the `collection` setting."
)
