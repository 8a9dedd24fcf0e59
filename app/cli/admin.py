"""CLI commands for administrators: users, grants, the site's directory and the audit log.

Passwords are never taken as arguments (they would stay in the shell history and be
visible to every local user in the process list): they are typed at a prompt, twice, or
read from standard input with ``--password-stdin`` (for scripts and container starts),
or generated with ``--generate`` and printed once (a fresh machine's first administrator).
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime

import click

from app.auth.access import Grant
from app.auth.accounts import Role, User
from app.auth.audit import canonical
from app.auth.directory_accounts import DirectorySync
from app.cli import render
from app.cli.common import (
    EXIT_FATAL,
    EXIT_OK,
    docent_for_account,
    docent_of,
    emit_json,
    json_option,
    show,
    yes_option,
)

_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def users() -> None:
    """Add, list, change and remove local accounts."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--group", "groups", multiple=True, help="A group the user belongs to.")
@click.option(
    "--first",
    is_flag=True,
    help="Only if no account exists yet; otherwise do nothing (a container's first start).",
)
@_stdin_option
@click.option(
    "--generate",
    is_flag=True,
    help="Make up a random password and print it once (change it with `docent users passwd`).",
)
@click.pass_context
def users_add(
    ctx: click.Context,
    name: str,
    admin: bool,
    groups: tuple[str, ...],
    first: bool,
    password_stdin: bool,
    generate: bool,
) -> int:
    """Create the account NAME; the password is asked for twice (or read with --password-stdin)."""
    docent = docent_of(ctx)
    if first and docent.accounts.users():
        click.echo("Accounts exist already; nothing to do.")
        return EXIT_OK
    role: Role = "admin" if admin else "user"
    password = secrets.token_urlsafe(12) if generate else _password(password_stdin)
    docent.add_user(name, password, role=role, groups=groups)
    click.echo(f"Added {role} `{name}`.")
    if generate:
        # Shown this once only: the accounts file keeps nothing but its hash.
        click.echo(f"Password: {password}")
        click.echo(f"Sign in with it, then choose your own: `docent users passwd {name}`")
    return EXIT_OK


@users.command("list")
@json_option
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> int:
    """List the accounts with their roles and groups."""
    show(docent_of(ctx).accounts.users(), as_json, _users_table)
    return EXIT_OK


def _users_table(accounts: list[User]) -> str:
    rows = [
        [u.name, u.role, ", ".join(u.groups), u.source + (" (disabled)" if u.disabled else "")]
        for u in accounts
    ]
    return render.table(["user", "role", "groups", "from"], rows) if rows else "No accounts."


@users.command("edit")
@click.argument("name")
@click.option("--admin/--user", "admin", default=None, help="Change the role.")
@click.option("--group", "groups", multiple=True, help="Set the groups (repeat for several).")
@click.option("--no-groups", is_flag=True, help="Remove the user from every group.")
@click.pass_context
def users_edit(
    ctx: click.Context, name: str, admin: bool | None, groups: tuple[str, ...], no_groups: bool
) -> int:
    """Change the role or groups of NAME (their open sessions end)."""
    docent = docent_of(ctx)
    role: Role | None = None if admin is None else "admin" if admin else "user"
    given = () if no_groups else groups or None
    user = docent.edit_user(name, role=role, groups=given)
    click.echo(f"`{name}`: {user.role}, groups: {', '.join(user.groups) or 'none'}.")
    return EXIT_OK


@users.command("passwd")
@click.argument("name")
@_stdin_option
@click.pass_context
def users_passwd(ctx: click.Context, name: str, password_stdin: bool) -> int:
    """Set a new password for NAME (their open sessions end)."""
    docent = docent_for_account(ctx, name)
    docent.set_password(name, _password(password_stdin))
    click.echo(f"Changed the password of `{name}`.")
    return EXIT_OK


@users.command("rm")
@click.argument("name")
@yes_option
@click.pass_context
def users_rm(ctx: click.Context, name: str, yes: bool) -> int:
    """Remove the account NAME and its grants (a later account of that name starts with none)."""
    docent = docent_for_account(ctx, name)
    if not yes:
        click.confirm(f"Remove the account `{name}` and its grants?", abort=True)
    gone = docent.remove_user(name)
    click.echo(f"Removed `{name}` and {len(gone)} grant(s).")
    return EXIT_OK


_label_option = click.option(
    "--label", help="An access label of the collection; default the collection's own label."
)


@click.command()
@click.argument("principal", metavar="USER|@GROUP")
@click.argument("collection")
@_label_option
@click.option("--write", is_flag=True, help="Also let them add documents (default: read only).")
@click.pass_context
def grant(
    ctx: click.Context, principal: str, collection: str, label: str | None, write: bool
) -> int:
    """Let a user or @group read COLLECTION (or only its documents labelled --label).

    Granting a label held already replaces that grant: without --write it becomes read-only.
    """
    given = docent_of(ctx).grant(principal, collection, label, write=write)
    what = "read and add to" if given.write else "read"
    click.echo(
        f"Granted `{given.principal}` to {what} label `{given.label}` of `{given.collection}`."
    )
    return EXIT_OK


@click.command()
@click.argument("principal", metavar="USER|@GROUP")
@click.argument("collection")
@_label_option
@click.pass_context
def revoke(ctx: click.Context, principal: str, collection: str, label: str | None) -> int:
    """Withdraw a grant (without --label: every label of COLLECTION)."""
    gone = docent_of(ctx).revoke(principal, collection, label)
    labels = ", ".join(g.label for g in gone)
    click.echo(f"Revoked from `{principal}`: {labels} of `{collection}`.")
    return EXIT_OK


@click.command()
@json_option
@click.pass_context
def grants(ctx: click.Context, as_json: bool) -> int:
    """List who may read (and who may add to) which labels of which collection."""
    show(docent_of(ctx).grants.all(), as_json, _grants_table)
    return EXIT_OK


def _grants_table(held: list[Grant]) -> str:
    may = {False: "read", True: "read, add"}
    rows = [[g.principal, g.collection, g.label, may[g.write]] for g in held]
    headers = ["who", "collection", "label", "may"]
    if any(g.origin for g in held):  # a site with shares sees where each grant comes from
        rows = [[*row, g.origin or "by hand"] for row, g in zip(rows, held, strict=True)]
        headers.append("from")
    return render.table(headers, rows) if rows else "No grants."


@click.group()
def audit() -> None:
    """Check and export the audit log."""


@audit.command("verify")
@click.option(
    "--checkpoint",
    metavar="SEQ:HASH",
    help="What `docent audit checkpoint` printed earlier: fail if that record is gone or "
    "differs (a cut tail).",
)
@click.pass_context
def audit_verify(ctx: click.Context, checkpoint: str | None) -> int:
    """Check every record's keyed hash and its link to the one before; exit 1 if one fails."""
    log = docent_of(ctx).audit
    result = log.verify(checkpoint)
    if result.torn_tail:
        click.echo(
            "The last record is incomplete (a writer was stopped or the file was cut); "
            "the next write completes a record that lost only its line end, and records "
            "the repair."
        )
    if result.unkeyed:
        click.echo(
            f"The first {result.unkeyed} records were written before the log had a key "
            "(chained with sha256 only); every later record is keyed."
        )
    if not result.ok:
        click.echo(f"{log.location}: line {result.bad_line}: {result.problem}.", err=True)
        return EXIT_FATAL
    held = f"; checkpoint {checkpoint.strip()} held" if checkpoint else ""
    click.echo(
        f"{log.location}: {result.records} records intact{held}; last hash {result.last_hash}."
    )
    return EXIT_OK


@audit.command("checkpoint")
@click.pass_context
def audit_checkpoint(ctx: click.Context) -> int:
    """Print SEQ:HASH of the last record; keep it elsewhere and pass it to `verify --checkpoint`."""
    click.echo(docent_of(ctx).audit.checkpoint())
    return EXIT_OK


@audit.command("export")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    help="Only records from this UTC date or time on.",
)
@click.pass_context
def audit_export(ctx: click.Context, since: datetime | None) -> int:
    """Print the records as JSON lines (for the site's SIEM)."""
    start = since.replace(tzinfo=UTC) if since else None
    for record in docent_of(ctx).audit.export(start):
        click.echo(canonical(record).decode())
    return EXIT_OK


@click.group()
def directory() -> None:
    """Sign-in and groups from the site's LDAP / Active Directory (`ldap_*` settings)."""


@directory.command("sync")
@json_option
@click.pass_context
def directory_sync(ctx: click.Context, as_json: bool) -> int:
    """Bring every directory person's account and groups up to date (schedule it, e.g. hourly).

    Accounts of people the directory no longer has enabled are disabled: their sessions
    end and their API tokens are revoked. Local accounts are left as they are.
    """
    outcome = docent_of(ctx).sync_directory()
    if as_json:
        emit_json(outcome.to_dict())
    else:
        click.echo(_sync_text(outcome))
    return EXIT_OK


def _sync_text(outcome: DirectorySync) -> str:
    changes = outcome.changes
    lines = [
        f"{outcome.people} people and {outcome.groups} groups in the directory "
        f"({outcome.seconds:.1f} s)."
    ]
    for what, names in (
        ("added", changes.added),
        ("groups changed", changes.changed),
        ("enabled again", changes.enabled),
        ("taken over by another entry (grants and tokens dropped)", changes.replaced),
        ("disabled (sessions ended, tokens revoked)", changes.disabled),
        ("kept as local accounts (a local account has the name)", changes.local_kept),
    ):
        if names:
            lines.append(f"{what.capitalize()}: {', '.join(names)}.")
    return "\n".join(lines)


COMMANDS = (users, grant, revoke, grants, directory, audit)
