"""The `docent` command: parses arguments, calls the API, turns errors into messages.

Exit codes: 0 when all went well, 1 on a usage or fatal error, 2 when some files failed.
"""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import admin, answers, evaluate, render, scheduler, serve
from app.cli.common import (
    EXIT_FATAL,
    EXIT_OK,
    collection_option,
    docent_of,
    emit_json_text,
    json_option,
    show,
    yes_option,
)
from app.cli.progress import TerminalProgress
from app.doctor import report, run_checks
from app.settings import Settings
from app.sources import is_share
from app.ui.launch import serve as serve_ui
from app.ui.launch import streamlit_command
from models.errors import DocentError
from rag.arenas import cap_arenas


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Settings file (TOML); default DOCENT_CONFIG or ./docent.toml.",
)
@click.version_option(package_name="docent")
def cli(config: str | None) -> None:
    """Docent: ask questions of your own documents, on your own hardware."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@collection_option
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Access label for these documents (repeatable); default the collection's name.",
)
@click.option("--prune", is_flag=True, help="Remove documents whose files are gone.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[str, ...],
    collection: str | None,
    labels: tuple[str, ...],
    prune: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Index files and folders into a collection (incremental: unchanged files are skipped).

    A path may be an SMB share, smb://server/share/folder: its account comes from
    smb_credentials_file or DOCENT_SMB_USERNAME and DOCENT_SMB_PASSWORD, never from the
    command line.
    """
    docent = docent_of(ctx)
    name = collection or docent.settings.collection
    locations = [p if is_share(p) else Path(p) for p in paths]
    with TerminalProgress() as progress:
        report = docent.ingest(
            locations, name, labels=labels, prune=prune, dry_run=dry_run, progress=progress
        )
    if as_json:
        emit_json_text(report.iter_json())
    else:
        click.echo(render.ingest_report(report))
    return report.exit_code


@cli.group()
def collections() -> None:
    """List, create and delete collections."""


@collections.command("list")
@json_option
@click.pass_context
def collections_list(ctx: click.Context, as_json: bool) -> int:
    """List collections with their document and chunk counts."""
    show(docent_of(ctx).collections(), as_json, render.collections)
    return EXIT_OK


@collections.command("create")
@click.argument("name")
@click.pass_context
def collections_create(ctx: click.Context, name: str) -> int:
    """Create an empty collection."""
    docent_of(ctx).create_collection(name)
    click.echo(f"Created collection `{name}`.")
    return EXIT_OK


@collections.command("delete")
@click.argument("name")
@yes_option
@click.pass_context
def collections_delete(ctx: click.Context, name: str, yes: bool) -> int:
    """Delete a collection and all its documents from the index."""
    if not yes:
        click.confirm(f"Delete collection `{name}` and all its documents?", abort=True)
    docent_of(ctx).delete_collection(name)
    click.echo(f"Deleted collection `{name}`.")
    return EXIT_OK


@cli.group()
def docs() -> None:
    """List and remove documents."""


@docs.command("list")
@collection_option
@json_option
@click.pass_context
def docs_list(ctx: click.Context, collection: str | None, as_json: bool) -> int:
    """List the documents of a collection."""
    docent = docent_of(ctx)
    show(docent.documents(collection or docent.settings.collection), as_json, render.documents)
    return EXIT_OK


@docs.command("rm")
@click.argument("source")
@collection_option
@click.pass_context
def docs_rm(ctx: click.Context, source: str, collection: str | None) -> int:
    """Remove a document (by its source path, as `docs list` shows it) from a collection."""
    docent = docent_of(ctx)
    name = collection or docent.settings.collection
    removed = docent.remove_document(name, source)
    click.echo(f"Removed {len(removed)} document(s) `{source}` from `{name}`.")
    return EXIT_OK


@cli.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> int:
    """Show the index location, collections, document and chunk counts, and the embedder."""
    show(docent_of(ctx).status(), as_json, render.status)
    return EXIT_OK


@cli.command()
@json_option
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> int:
    """Check the index, embedder weights, chat model and disk space; print each fix."""
    config = ctx.find_root().params.get("config")
    checks = run_checks(Settings.load(Path(config) if config else None))
    show(checks, as_json, report)
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FATAL


@cli.command()
@click.option("--port", type=int, help="Port to listen on; default the `ui_port` setting.")
@click.pass_context
def ui(ctx: click.Context, port: int | None) -> int:
    """Serve the browser UI (Ask, Summarize, Library, Status) on the `ui_host` address."""
    config = ctx.find_root().params.get("config")
    settings = Settings.load(Path(config) if config else None)
    chosen = port or settings.ui_port
    click.echo(f"Docent UI: http://{settings.ui_host}:{chosen} (Ctrl+C stops it)")
    return serve_ui(streamlit_command(settings.ui_host, chosen, settings.upload_max_mb), config)


for _command in (
    answers.COMMANDS + admin.COMMANDS + serve.COMMANDS + evaluate.COMMANDS + scheduler.COMMANDS
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point)."""
    cap_arenas()  # before any thread starts (the embedder's load, Chroma's, onnxruntime's)
    try:
        result = cli.main(args=argv, prog_name="docent", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FATAL
    except click.ClickException as error:
        error.show()
        return EXIT_FATAL
    except DocentError as error:
        click.echo(f"Error: {error.message}", err=True)
        if error.hint:
            click.echo(f"Fix: {error.hint}", err=True)
        return EXIT_FATAL
    except KeyboardInterrupt:
        click.echo("Interrupted; run the same command again to resume.", err=True)
        return EXIT_FATAL
    except BaseException as error:  # Chroma's embedded store panics (a BaseException)
        from rag.store import index_damaged, is_damage

        if isinstance(error, SystemExit) or not is_damage(error):
            raise
        told = index_damaged(str(error).split("\n")[0][-200:])
        click.echo(f"Error: {told.message}", err=True)
        click.echo(f"Fix: {told.hint}", err=True)
        return EXIT_FATAL
    return result if isinstance(result, int) else EXIT_OK
