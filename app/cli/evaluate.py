"""The `docent eval` commands: question sets, runs, comparisons and readers' feedback."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from app.api import Docent
from app.cli.common import EXIT_OK, collection_option, docent_of, emit_json, json_option

if TYPE_CHECKING:
    from app.eval import Evaluation, RunResult
    from app.eval.questions import EvalQuestion

# Short names for the settings a comparison usually varies.
_ALIASES = {"model": "chat_model", "backend": "chat_backend", "k": "answer_k"}


def _evaluation(ctx: click.Context, **overrides: Any) -> tuple[Evaluation, str]:
    from app.eval import Evaluation

    docent = docent_of(ctx, **overrides)
    return Evaluation(docent), ctx.params.get("collection") or docent.settings.collection


def _row(question: EvalQuestion) -> str:
    if question.unanswerable:
        where = "not in the documents"
    elif question.removed:
        where = f"asked without `{question.section}` of {question.source}"
    else:
        pages = ",".join(map(str, question.pages))
        where = question.source + (f" p. {pages}" if pages else "")
    mark = " [own words]" if question.own_words else ""
    mark += " [drafted: review]" if question.drafted else ""
    return f"{question.id}  {question.question}  ->  {where}{mark}"


@click.group("eval")
def eval_group() -> None:
    """Measure answer quality on a collection's own documents."""


@eval_group.group("questions")
def questions() -> None:
    """The question set of a collection."""


@questions.command("add")
@click.argument("question")
@collection_option
@click.option("--source", default="", help="The answering document (source path).")
@click.option("--pages", default="", help="The answering pages, e.g. 3, 3-5 or 3,7.")
@click.option("--quote", default="", help="Words of the expected answer, as the document has them.")
@click.option("--unanswerable", is_flag=True, help="The documents do not answer it.")
@click.option(
    "--own-words", is_flag=True, help="Asked as a person would put it, not in the document's words."
)
@click.option(
    "--without-section",
    "section",
    default="",
    help="Ask it against a copy of the collection without this section (its heading) of "
    "--source: an in-domain unanswerable.",
)
@click.pass_context
def questions_add(
    ctx: click.Context,
    question: str,
    collection: str | None,
    source: str,
    pages: str,
    quote: str,
    unanswerable: bool,
    own_words: bool,
    section: str,
) -> int:
    """Add one question to the set."""
    from app.eval.questions import EvalQuestion, parse_pages

    evaluation, name = _evaluation(ctx)
    added = EvalQuestion(
        question,
        source,
        parse_pages(pages),
        " ".join(quote.split()),
        unanswerable,
        own_words=own_words,
        removed=bool(section),
        section=" ".join(section.split()),
    )
    _, replaced = evaluation.questions(name).add([added])
    click.echo(("Replaced " if replaced else "Added ") + _row(added))
    return EXIT_OK


@questions.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@collection_option
@click.pass_context
def questions_import(ctx: click.Context, path: Path, collection: str | None) -> int:
    """Import questions from CSV (header row) or JSON lines.

    Columns: question, source, pages, expected_quote, unanswerable; optionally own_words,
    and removed with section (asked without that section).
    """
    from app.eval.questions import read_rows

    evaluation, name = _evaluation(ctx)
    added, replaced = evaluation.questions(name).add(read_rows(path))
    click.echo(f"Imported {len(added)} question(s) into `{name}` ({replaced} replaced).")
    return EXIT_OK


@questions.command("list")
@collection_option
@json_option
@click.pass_context
def questions_list(ctx: click.Context, collection: str | None, as_json: bool) -> int:
    """List the questions of the set."""
    evaluation, name = _evaluation(ctx)
    found = evaluation.questions(name).questions()
    if as_json:
        emit_json([q.to_dict() for q in found])
    else:
        click.echo("\n".join(map(_row, found)) or f"No questions for `{name}` yet.")
    return EXIT_OK


@questions.command("rm")
@click.argument("ids", nargs=-1, required=True)
@collection_option
@click.pass_context
def questions_rm(ctx: click.Context, ids: tuple[str, ...], collection: str | None) -> int:
    """Remove questions by id (as `list` shows them)."""
    evaluation, name = _evaluation(ctx)
    gone = evaluation.questions(name).remove(ids)
    click.echo(f"Removed {len(gone)} question(s) from `{name}`.")
    return EXIT_OK


@questions.command("review")
@click.argument("ids", nargs=-1, required=True)
@collection_option
@click.pass_context
def questions_review(ctx: click.Context, ids: tuple[str, ...], collection: str | None) -> int:
    """Mark drafted questions as reviewed."""
    evaluation, name = _evaluation(ctx)
    done = evaluation.questions(name).reviewed(ids)
    click.echo(f"Marked {len(done)} question(s) as reviewed.")
    return EXIT_OK


@questions.command("draft")
@collection_option
@click.option("--count", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option(
    "--without-section",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="Also draft this many in-domain unanswerables: questions of a section, asked "
    "against a copy of the collection without that section.",
)
@click.pass_context
def questions_draft(
    ctx: click.Context, collection: str | None, count: int, without_section: int
) -> int:
    """Draft questions from the documents (no model), to review before use."""
    evaluation, name = _evaluation(ctx)
    drafted = evaluation.draft(name, count)
    if without_section:
        drafted += evaluation.draft_removed(name, without_section)
    for question in drafted:
        click.echo(f"{_row(question)}  ({question.note})")
    click.echo(
        f"Drafted {len(drafted)} question(s); review them with `docent eval questions list`."
    )
    return EXIT_OK


@questions.command("import-feedback")
@collection_option
@click.option("--id", "ids", multiple=True, help="Only this feedback (repeatable).")
@click.pass_context
def questions_import_feedback(
    ctx: click.Context, collection: str | None, ids: tuple[str, ...]
) -> int:
    """Turn readers' feedback that says where the answer is into questions."""
    evaluation, name = _evaluation(ctx)
    taught = evaluation.import_feedback(name, ids)
    for question in taught:
        click.echo(f"Added {_row(question)}")
    click.echo(f"{len(taught)} question(s) from feedback.")
    return EXIT_OK


def _run(evaluation: Evaluation, name: str, label: str, quiet: bool) -> RunResult:
    total = len(evaluation.questions(name).questions())
    with click.progressbar(
        length=total, label=f"Asking {label or name}", file=sys.stderr, hidden=quiet
    ) as bar:
        return evaluation.run(name, label=label, on_question=lambda _: bar.update(1))


@eval_group.command("run")
@collection_option
@click.option("--model", help="Chat model to use (default the `chat_model` setting).")
@click.option("--label", default="", help="A name for this run (e.g. the model's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def run(
    ctx: click.Context, collection: str | None, model: str | None, label: str, as_json: bool
) -> int:
    """Ask every question of the set as a reader would; report and compare with the last run."""
    from app.eval.report import markdown

    evaluation, name = _evaluation(ctx, chat_model=model)
    result = _run(evaluation, name, label, as_json)
    if as_json:
        emit_json(result.report)
    else:
        click.echo(markdown(result.report))
        click.echo(f"Report: {result.page}")
    return EXIT_OK


def _overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Settings named ``KEY=VALUE``, each checked against its field's type."""
    from pydantic import TypeAdapter, ValidationError

    from app.settings import Settings

    found: dict[str, Any] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        name = _ALIASES.get(key, key)
        field = Settings.model_fields.get(name)
        if not equals or field is None or field.annotation is None:
            raise click.BadParameter(f"`{pair}` is not SETTING=VALUE (a setting of the README)")
        try:
            found[name] = TypeAdapter(field.annotation).validate_python(value)
        except ValidationError as error:
            raise click.BadParameter(f"`{pair}`: {error.errors()[0]['msg']}") from None
    return found


@eval_group.command("compare")
@collection_option
@click.option("--a", "side_a", multiple=True, help="A setting of side A, KEY=VALUE (repeatable).")
@click.option("--b", "side_b", multiple=True, help="A setting of side B, KEY=VALUE (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print both reports as JSON.")
@click.pass_context
def compare(
    ctx: click.Context,
    collection: str | None,
    side_a: tuple[str, ...],
    side_b: tuple[str, ...],
    as_json: bool,
) -> int:
    """Run the set with two settings side by side (--a model=X --b model=Y)."""
    from app.eval import Evaluation
    from app.eval.report import side_by_side

    base, name = _evaluation(ctx)
    results = []
    for label, pairs in (("A", side_a), ("B", side_b)):
        settings = base.docent.settings.model_copy(update=_overrides(pairs))
        side = Docent(settings, base.docent.embedder, base.docent.gate)
        results.append(_run(Evaluation(side), name, label, as_json))
    if as_json:
        emit_json([r.report for r in results])
    else:
        click.echo(side_by_side([r.report for r in results]))
        click.echo("\n".join(f"Report {r.report['label']}: {r.page}" for r in results))
    return EXIT_OK


@eval_group.command("feedback")
@collection_option
@json_option
@click.pass_context
def feedback(ctx: click.Context, collection: str | None, as_json: bool) -> int:
    """List readers' feedback on answers (of one collection, or all)."""
    entries = docent_of(ctx).feedback(collection)
    if as_json:
        emit_json([asdict(f) for f in entries])
        return EXIT_OK
    for f in entries:
        verdict = "helpful" if f.helpful else "not helpful"
        where = f" (answer on {f.source or 'page'} {f.page})" if f.page else ""
        note = f": {f.note}" if f.note else ""
        click.echo(f"{f.id} {f.time} {f.user} [{f.collection}] {verdict}{where} {f.question}{note}")
    return EXIT_OK


COMMANDS = (eval_group,)
