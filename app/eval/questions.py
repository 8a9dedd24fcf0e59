"""A collection's question set: what a site expects Docent to answer, and from where.

Kept in the data folder, one JSON line per question, in
``<data_dir>/eval/<collection>/questions.jsonl``. Each question names the document (and,
optionally, its pages or a quote of the expected answer) that answers it, or is marked
unanswerable ("not in the documents"). Drafted questions (``docent eval questions draft``)
and questions from readers' feedback carry their origin, so a report can tell them apart
from those a person wrote.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from models.errors import DocentError

Origin = Literal["added", "imported", "drafted", "feedback"]
_TRUE = {"1", "true", "yes", "y", "x"}


class QuestionSetError(DocentError):
    """A question set or an import file is wrong."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question of a set.

    Attributes:
        question: As a reader would ask it.
        source: The answering document's source path (as ``docent docs list`` shows it).
        pages: The answering pages (1-based; empty: any page of the source).
        expected_quote: Words of the expected answer, as the document has them (empty:
            any passage of the source and pages answers).
        unanswerable: The documents do not answer it: Docent should say so.
        origin: How it came into the set.
        note: Where it came from (a drafting rule, a feedback id), for the reviewer.
        id: Stable short id (from the question's text).
        own_words: Asked as a person would put it, not in the document's words (no heading
            words): reported apart, as the answers issue of a site's own wording.
        removed: An in-domain unanswerable: asked against a copy of the collection without
            its ``section`` of its ``source`` (``app.eval.removed``), where the right answer
            is "not found".
        section: The heading of the section a ``removed`` question's answer stands under.
    """

    question: str
    source: str = ""
    pages: tuple[int, ...] = ()
    expected_quote: str = ""
    unanswerable: bool = False
    origin: Origin = "added"
    note: str = ""
    id: str = field(default="")
    own_words: bool = False
    removed: bool = False
    section: str = ""

    def __post_init__(self) -> None:
        if not self.question.strip():
            raise QuestionSetError("A question needs its text.")
        if self.removed and (self.unanswerable or not self.source or not self.section):
            raise QuestionSetError(
                f"Question `{self.question}` is asked without its section, but names none.",
                hint="give the source and the section's heading; not also unanswerable",
            )
        if not self.unanswerable and not self.source:
            raise QuestionSetError(
                f"Question `{self.question}` names no source.",
                hint="give the answering document (source) or mark it unanswerable",
            )
        if not self.id:
            # The same words asked without their section are another question of the set.
            text = " ".join(self.question.lower().split()) + ("\x00removed" if self.removed else "")
            digest = hashlib.sha256(text.encode()).hexdigest()
            object.__setattr__(self, "id", digest[:8])

    @property
    def drafted(self) -> bool:
        """Whether a person still has to review it (drafted from the documents)."""
        return self.origin == "drafted"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self) | {"pages": list(self.pages)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: Origin | None = None) -> EvalQuestion:
        """Read the JSON form (or an imported row); ``origin`` overrides the stored one."""
        unanswerable, own_words, removed = (
            _flag(data.get(key)) for key in ("unanswerable", "own_words", "removed")
        )
        return cls(
            question=str(data.get("question") or "").strip(),
            source=str(data.get("source") or "").strip(),
            pages=parse_pages(data.get("pages")),
            expected_quote=" ".join(str(data.get("expected_quote") or "").split()),
            unanswerable=unanswerable,
            origin=origin or data.get("origin") or "added",
            note=str(data.get("note") or ""),
            id=str(data.get("id") or "") if origin is None else "",
            own_words=own_words,
            removed=removed,
            section=" ".join(str(data.get("section") or "").split()),
        )


def _flag(value: Any) -> bool:
    """A yes/no column: a JSON boolean, or text such as ``yes``, ``1`` or ``x``."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def parse_pages(value: Any) -> tuple[int, ...]:
    """Pages from a list, a number, or text such as ``3``, ``3-5`` or ``3,7``."""
    if value is None or value == "":
        return ()
    if isinstance(value, int):
        return (value,)
    if isinstance(value, list):
        return tuple(sorted({int(page) for page in value}))
    pages: set[int] = set()
    for part in str(value).replace(";", ",").split(","):
        first, _, last = part.strip().partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise QuestionSetError(f"`{value}` is not a page list.", hint="use e.g. 3, 3-5 or 3,7")
        pages.update(range(int(first), int(last or first) + 1))
    return tuple(sorted(pages))


def read_rows(path: Path) -> list[EvalQuestion]:
    """Questions from a CSV file (with a header row) or a JSON-lines file.

    Columns/keys: ``question, source, pages, expected_quote, unanswerable``, and optionally
    ``own_words`` (asked in a person's own words) and ``removed, section`` (asked without
    that section: an in-domain unanswerable).

    Raises:
        QuestionSetError: A row is malformed (its line is named).
    """
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        rows = [
            (n, json.loads(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()
        ]
    else:
        rows = [(n, row) for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2)]
    questions = []
    for number, row in rows:
        try:
            questions.append(EvalQuestion.from_dict(row, origin="imported"))
        except (QuestionSetError, ValueError, AttributeError) as error:
            raise QuestionSetError(f"{path}, line {number}: {error}") from None
    return questions


class QuestionSet:
    """The questions of one collection, in their file.

    Args:
        folder: ``<data_dir>/eval/<collection>``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "questions.jsonl"

    def questions(self) -> list[EvalQuestion]:
        """Every question, in the order they were added."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [EvalQuestion.from_dict(json.loads(line)) for line in lines if line.strip()]

    def fingerprint(self) -> str:
        """A short hash of the set's content (a run compares only with runs of the same)."""
        content = json.dumps([q.to_dict() for q in self.questions()], sort_keys=True)
        return hashlib.sha256(content.encode()).hexdigest()[:12]

    def add(self, new: Iterable[EvalQuestion]) -> tuple[list[EvalQuestion], int]:
        """Add questions; one with the text of a question already there replaces it.

        Returns:
            The questions added, and how many replaced an existing one.
        """
        kept = {q.id: q for q in self.questions()}
        added = list({q.id: q for q in new}.values())
        replaced = sum(1 for q in added if q.id in kept)
        kept.update({q.id: q for q in added})
        self._save(kept.values())
        return added, replaced

    def remove(self, ids: Sequence[str]) -> list[EvalQuestion]:
        """Remove questions by id (or a unique prefix of one); return those removed.

        Raises:
            QuestionSetError: An id matches no question, or several.
        """
        questions = self.questions()
        gone: list[EvalQuestion] = []
        for wanted in ids:
            matches = [q for q in questions if q.id.startswith(wanted)]
            if len(matches) != 1:
                what = "no question" if not matches else f"{len(matches)} questions"
                raise QuestionSetError(
                    f"`{wanted}` matches {what}.", hint="see `docent eval questions list`"
                )
            gone.append(matches[0])
        self._save(q for q in questions if q not in gone)
        return gone

    def reviewed(self, ids: Sequence[str]) -> list[EvalQuestion]:
        """Mark drafted questions as reviewed (their origin becomes ``added``)."""
        chosen = {q.id for q in self.questions() if any(q.id.startswith(i) for i in ids)}
        updated = [replace(q, origin="added") if q.id in chosen else q for q in self.questions()]
        self._save(updated)
        return [q for q in updated if q.id in chosen]

    def _save(self, questions: Iterable[EvalQuestion]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        lines = [json.dumps(q.to_dict(), ensure_ascii=False) for q in questions]
        temporary.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        temporary.replace(self.path)
