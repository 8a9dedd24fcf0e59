"""Generates docs/cli.md from the CLI's own help text, so the docs never drift from the code.

Run ``make docs`` (``python -m app.cli.reference > docs/cli.md``); a test fails when the file
is stale.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from app.cli import cli


def _commands(
    command: click.Command, path: list[str], parent: click.Context | None
) -> Iterator[tuple[str, str]]:
    context = click.Context(
        command, info_name=path[-1], parent=parent, terminal_width=88, **command.context_settings
    )
    yield " ".join(path), command.get_help(context)
    if isinstance(command, click.Group):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None:
                yield from _commands(sub, [*path, name], context)


def render() -> str:
    """The Markdown reference of every command."""
    parts = [
        "# `docent` command reference",
        "",
        "Generated from the CLI's help by `make docs`; do not edit by hand.",
        "",
        "Exit codes: 0 when all went well, 1 on a usage or fatal error, 2 when some files "
        "failed (the report names each file and the reason).",
    ]
    for name, text in _commands(cli, ["docent"], None):
        parts += ["", f"## `{name}`", "", "```text", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
