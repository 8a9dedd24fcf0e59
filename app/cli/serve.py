"""CLI commands of the HTTP API: ``docent serve`` and ``docent tokens``.

A token is printed once, when it is made; the tokens file keeps only its hash. Making
and revoking tokens is the local administrator's job (like ``docent users``), and
both are in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from app.cli import render
from app.cli.common import EXIT_OK, docent_of, emit_json, json_option


@click.command()
@click.option("--host", help="Address to listen on; default the `api_host` setting.")
@click.option("--port", type=int, help="Port to listen on; default the `api_port` setting.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> int:
    """Serve the HTTP API (REST under /api/v1, OpenAI-compatible under /v1)."""
    from app.http.server import serve as run

    docent = docent_of(ctx)
    where = host or docent.settings.api_host
    chosen = port or docent.settings.api_port
    click.echo(f"Docent API: http://{where}:{chosen}/docs (Ctrl+C stops it)")
    run(docent, where, chosen)
    return EXIT_OK


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens (one user each, with an expiry)."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Lifetime in days, at least 1; default the `api_token_days` setting.",
)
@click.pass_context
def tokens_create(ctx: click.Context, user: str, name: str, days: int | None) -> int:
    """Make an API token acting as USER; it is shown this once.

    A USER who signs in through the site's directory is looked up there first.
    """
    docent = docent_of(ctx)
    lifetime = timedelta(days=docent.settings.api_token_days if days is None else days)
    secret, token = docent.create_token(user, name, lifetime)
    click.echo(secret)
    click.echo(
        f"Token `{token.id}` for `{user}`, valid until {token.expires_at:%Y-%m-%d %H:%M} UTC. "
        "It is shown only now: store it in the client's secret store.",
        err=True,
    )
    return EXIT_OK


@tokens.command("list")
@click.option("--user", help="Only the tokens of this user.")
@json_option
@click.pass_context
def tokens_list(ctx: click.Context, user: str | None, as_json: bool) -> int:
    """List API tokens (ids, users, expiry; never the secrets)."""
    found = docent_of(ctx).gate.tokens.tokens(user)
    if as_json:
        emit_json([t.to_dict() for t in found])
        return EXIT_OK
    now = datetime.now(UTC)
    rows = [
        [t.id, t.user, t.name, f"{t.expires_at:%Y-%m-%d}", _state(t.usable(now), t.revoked_at)]
        for t in found
    ]
    headers = ["id", "user", "name", "expires", "state"]
    click.echo(render.table(headers, rows) if rows else "No API tokens.")
    return EXIT_OK


def _state(usable: bool, revoked: datetime | None) -> str:
    if revoked is not None:
        return "revoked"
    return "active" if usable else "expired"


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: str) -> int:
    """Revoke the token TOKEN_ID (as `tokens list` shows it); it stops at once."""
    token = docent_of(ctx).revoke_token(token_id)
    click.echo(f"Revoked token `{token.id}` of `{token.user}`.")
    return EXIT_OK


COMMANDS: tuple[click.Command, ...] = (serve, tokens)
