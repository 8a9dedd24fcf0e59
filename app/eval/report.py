"""An eval run's report folder: JSON, Markdown, two plots and an HTML page to open.

``<data_dir>/eval/<collection>/runs/<UTC time>[-<label>]/`` holds ``report.json`` (every
figure and every question), ``report.md``, ``latency.png`` (histogram of answer times),
``outcomes.png`` (one bar per question, coloured by its outcome, as long as its answer
took) and ``index.html``, which shows all of it with no network access (the plots are
files beside it). Plots are drawn with matplotlib's non-interactive Agg backend.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.eval.run import HEADLINE, headline

COLOURS = {
    "holds expected": "#2e7d32",
    "cites elsewhere": "#f9a825",
    "unverified": "#ef6c00",
    "wrong refusal": "#c62828",
    "no gold in index": "#9e9e9e",
    "refused": "#1565c0",
    "answered": "#6a1b9a",
    "answer elsewhere": "#bdbdbd",
    "section not found": "#bdbdbd",
}
LOWER_IS_BETTER = {"unverified", "wrong_refusals", "own_words_wrong_refusals", "p50_s", "p95_s"}


def runs(folder: Path) -> list[Path]:
    """The run folders of a collection, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / "report.json").is_file())


def load(run: Path) -> dict[str, Any]:
    """A run's report."""
    data: dict[str, Any] = json.loads((run / "report.json").read_text(encoding="utf-8"))
    return data


def changes(previous: dict[str, Any] | None, report: dict[str, Any]) -> list[str]:
    """Lines such as ``hit@5 0.91 -> 0.94`` for every headline figure that moved."""
    if previous is None:
        return []
    before, after = headline(previous), headline(report)
    lines = [
        f"{name} {_number(before[name])} -> {_number(after[name])}"
        for name in HEADLINE
        if before[name] != after[name]
    ]
    if previous.get("set") != report.get("set"):
        lines.append("(the question set changed since that run)")
    return lines or ["no headline figure changed"]


def side_by_side(reports: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the headline figures of several runs, one column each."""
    names = [str(r.get("label") or r["run"]) for r in reports]
    rows = [
        "| figure | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(reports),
    ]
    for key in ("model", "answer_k", "answer_gate", "answer_context_tokens"):
        rows.append(f"| {key} | " + " | ".join(str(r["settings"].get(key)) for r in reports) + " |")
    flat = [headline(r) for r in reports]
    for name in HEADLINE:
        arrow = " (lower is better)" if name in LOWER_IS_BETTER else ""
        rows.append(f"| {name}{arrow} | " + " | ".join(_number(f[name]) for f in flat) + " |")
    return "\n".join(rows)


def write(folder: Path, report: dict[str, Any]) -> Path:
    """Write the report folder's files; return the HTML page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (folder / "report.md").write_text(markdown(report), encoding="utf-8")
    _plots(folder, report["per_question"])
    page = folder / "index.html"
    page.write_text(_html(report), encoding="utf-8")
    return page


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: settings, headline figures, changes, every question."""
    figures = report["figures"]
    lines = [
        f"# Eval of `{report['collection']}`: {report['run']}",
        "",
        f"Model `{report['settings']['model']}`, {figures['questions']} questions "
        f"({figures['drafted']} drafted, not yet reviewed; {figures['no_gold']} whose "
        "answer the index does not hold).",
        "",
        side_by_side([report]),
        "",
    ]
    if report.get("changes"):
        lines += [f"Since {report['previous']}:", ""] + [f"- {c}" for c in report["changes"]]
        lines.append("")
    lines += [
        "| id | question | kind | origin | outcome | rank | latency s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["per_question"]:
        asked = row["question"]
        text = asked["question"].replace("|", "\\|")
        lines.append(
            f"| {asked['id']} | {text} | {_kind(asked)} | {asked['origin']} | {row['outcome']} "
            f"| {row['rank'] or '-'} | {row['latency_s']} |"
        )
    return "\n".join(lines) + "\n"


def _kind(question: dict[str, Any]) -> str:
    """What a question tests: its answer, in whose words; or a refusal, of what kind."""
    if question.get("removed"):
        return "without its section"
    if question.get("unanswerable"):
        return "not in the documents"
    return "own words" if question.get("own_words") else "document's words"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _plots(folder: Path, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.patches import Rectangle

    latencies = [row["latency_s"] for row in rows if row["status"]]
    figure, axes = pyplot.subplots(figsize=(6, 3.5))
    axes.hist(latencies or [0.0], bins=min(20, max(1, len(latencies))), color="#1565c0")
    axes.set_xlabel("seconds to the whole answer")
    axes.set_ylabel("questions")
    axes.set_title("Answer latency")
    figure.tight_layout()
    figure.savefig(folder / "latency.png", dpi=100)
    pyplot.close(figure)
    height = max(2.5, 0.28 * len(rows) + 1.2)
    figure, axes = pyplot.subplots(figsize=(7, height))
    labels = [row["question"]["id"] for row in rows]
    axes.barh(
        labels,
        [row["latency_s"] or 0.05 for row in rows],
        color=[COLOURS.get(row["outcome"], "#000000") for row in rows],
    )
    axes.invert_yaxis()
    axes.set_xlabel("seconds (bar colour: outcome)")
    seen = sorted({row["outcome"] for row in rows})
    handles = [Rectangle((0, 0), 1, 1, color=COLOURS.get(o, "#000000")) for o in seen]
    axes.legend(handles, seen, loc="lower right", fontsize="small")
    axes.set_title("Outcome per question")
    figure.tight_layout()
    figure.savefig(folder / "outcomes.png", dpi=100)
    pyplot.close(figure)


def _html(report: dict[str, Any]) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(html.escape(markdown(report), False))
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Eval {html.escape(report['collection'])} {html.escape(report['run'])}</title>"
        f"<style>{style}</style></head><body>{body}"
        "<h2>Plots</h2><img src='latency.png' alt='latency histogram'>"
        "<img src='outcomes.png' alt='outcome per question'></body></html>\n"
    )
