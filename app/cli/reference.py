"""Generates docs/cli.md from the CLI's own help text, so the docs never drift from the code.

Run ``make docs`` (``python -m app.cli.reference > docs/cli.md``); a test fails when the file
is stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from app.answer_record import AnswerRecord
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
    parts += _answer_record()
    return "\n".join(parts) + "\n"


def _answer_record() -> list[str]:
    """The answer record's fields: what `ask --json`, the HTTP API and conversations write."""
    schema = AnswerRecord.model_json_schema()
    models = {"AnswerRecord": schema, **schema.get("$defs", {})}
    parts = [
        "",
        "## The answer record",
        "",
        "What `docent ask --json` prints, `POST /api/v1/collections/{c}/ask` returns (and its "
        "`answer` event streams), the `docent` field of an OpenAI-compatible completion holds "
        "(with `collection`), and a saved conversation keeps, for every answer. The same "
        "schema is in the server's `/openapi.json`.",
    ]
    for name, model in models.items():
        parts += ["", f"### `{name}`", "", model.get("description", ""), ""]
        parts += ["| field | type | what |", "|---|---|---|"]
        for field, spec in model["properties"].items():
            what = spec.get("description", "").replace("|", "\\|")
            parts.append(f"| `{field}` | {_type(spec)} | {what} |")
    return parts


def _type(spec: dict[str, Any]) -> str:
    """A JSON schema type in a few words: `string`, `list of CitationRecord`, `"a" or "b"`."""
    if "$ref" in spec:
        return f"`{spec['$ref'].rsplit('/', 1)[-1]}`"
    if "enum" in spec or "const" in spec:
        return " or ".join(
            f'`"{v}"`' if isinstance(v, str) else f"`{v}`"
            for v in spec.get("enum", [spec.get("const")])
        )
    kind = spec.get("type", "any")
    if kind == "array" and "prefixItems" in spec:
        return "[" + ", ".join(_type(item) for item in spec["prefixItems"]) + "]"
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        return f"map of {_type(spec['additionalProperties'])}"
    return f"`{kind}`"


if __name__ == "__main__":
    print(render(), end="")
