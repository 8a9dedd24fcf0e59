"""CLI commands that use the chat model: ask, chat, summarize, models."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, get_args

import click

from app.api import Docent
from app.cli import render
from app.cli.common import EXIT_OK, collection_option, docent_of, emit_json, json_option, show
from app.cli.progress import SummaryProgress
from app.progress_steps import Steps
from app.provenance import as_units
from rag.retrieve import Filters
from rag.types import Length

if TYPE_CHECKING:
    # Imported where used: every `docent` command loads this module.
    from rag.answer import Answer
    from rag.condense import Turn

_PAGES = re.compile(r"^(\d+)(?:-(\d+))?$")


def _filters(sources: tuple[str, ...], pages: str | None) -> Filters:
    if not pages:
        return Filters(sources=sources)
    match = _PAGES.match(pages)
    if not match:
        raise click.BadParameter("use a page or a range, e.g. 3 or 3-7", param_hint="--pages")
    first = int(match.group(1))
    return Filters(sources=sources, page_from=first, page_to=int(match.group(2) or first))


def _answer(
    docent: Docent, name: str, question: str, history: list[Turn], filters: Filters
) -> Answer:
    """Print a checked answer to the terminal, with its sources.

    An answer of units is printed as evidence, each unit with its place (the model's
    checked lead above them). The model's words are not printed as they come: a sentence
    the checker rejects could not be taken back (``rag.answer.checked``).
    """
    from rag.answer import Answer, checked

    final: Answer | None = None
    for part in checked(docent.stream_answer(name, question, history, filters)):
        if isinstance(part, Answer):
            final = part
    assert final is not None
    if as_units(final):
        click.echo(render.quoted_answer(final))
        return final
    click.echo(final.text)
    footer = render.answer_footer(final)
    if footer:
        click.echo("\n" + footer)
    return final


@click.command()
@click.argument("question")
@collection_option
@click.option("--k", type=click.IntRange(1, 50), help="Passages to retrieve.")
@click.option("--source", "sources", multiple=True, help="Only this document (source path).")
@click.option("--pages", help="Only these pages, e.g. 3 or 3-7.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the answer record as JSON (no streaming; fields: see the end of docs/cli.md).",
)
@click.pass_context
def ask(
    ctx: click.Context,
    question: str,
    collection: str | None,
    k: int | None,
    sources: tuple[str, ...],
    pages: str | None,
    as_json: bool,
) -> int:
    """Answer QUESTION from a collection, citing the page each claim comes from."""
    docent = docent_of(ctx, answer_k=k)
    name = collection or docent.settings.collection
    filters = _filters(sources, pages)
    if as_json:
        from app.answer_record import AnswerRecord

        answer = docent.ask(name, question, filters=filters)
        emit_json(AnswerRecord.of(answer).model_dump(mode="json"))
    else:
        _answer(docent, name, question, [], filters)
    return EXIT_OK


@click.command()
@collection_option
@click.pass_context
def chat(ctx: click.Context, collection: str | None) -> int:
    """Ask questions one after another; follow-ups use the conversation. /new starts over."""
    from rag.condense import Turn

    docent = docent_of(ctx)
    name = collection or docent.settings.collection
    history: list[Turn] = []
    click.echo(f"Asking `{name}` with {docent.chat.name}. Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = click.prompt("\nyou", default="", show_default=False).strip()
        except click.Abort:  # Ctrl-D (end of input) quits, as the greeting says
            click.echo()
            return EXIT_OK
        if question in ("", "/exit", "/quit"):
            return EXIT_OK
        if question == "/new":
            history.clear()
            click.echo("New conversation.")
            continue
        answer = _answer(docent, name, question, history, Filters())
        history.append(Turn(question, answer.query, answer.text))


@click.command()
@click.argument("document")
@collection_option
@click.option("--length", type=click.Choice(get_args(Length)), default="medium", show_default=True)
@click.option("--focus", default="", help='Only what concerns this, e.g. "termination clauses".')
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def summarize(
    ctx: click.Context,
    document: str,
    collection: str | None,
    length: Length,
    focus: str,
    as_json: bool,
) -> int:
    """Summarize a whole DOCUMENT (its source path, as `docs list` shows it)."""
    docent = docent_of(ctx)
    name = collection or docent.settings.collection
    with SummaryProgress() as shown:
        progress = Steps(shown.step)
        result = docent.summarize(name, document, length=length, focus=focus, progress=progress)
    show(result, as_json, render.summary)
    return EXIT_OK


@click.command()
@json_option
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> int:
    """Show recommended small models, the configured backend's state, and what fits here."""
    show(docent_of(ctx).models(), as_json, render.models)
    return EXIT_OK


COMMANDS = (ask, chat, summarize, models)
