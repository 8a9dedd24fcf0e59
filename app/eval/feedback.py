"""Readers' feedback on answers: helpful or not, a note, and where the answer really is.

Stored in ``<data_dir>/eval/feedback.jsonl`` (owner-only), one JSON line per feedback,
appended under an exclusive lock so the UI's processes write in turn; with ``state_url``
set, as rows of the state database's ``feedback`` table, so an administrator on any
replica reads what was given on every one (``app.records_postgres``). Each record keeps
the question, the answer's text and status, its cited sources and pages, the reader and
what they said. Only administrators read it (``Docent.feedback``); giving feedback is
recorded in the audit log. ``docent eval questions import-feedback`` turns feedback that
names where the answer is (a page, or a helpful answer's citations) into questions.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.eval.questions import EvalQuestion

if TYPE_CHECKING:
    from rag.answer import Answer


@dataclass(frozen=True)
class Feedback:
    """One reader's feedback on one answer.

    Attributes:
        id: Random short id.
        time: ISO-8601 UTC time it was given.
        user: Who gave it (as the audit log names them).
        collection: Where the question was asked.
        question: As asked.
        answer: The answer's text.
        status: The answer's status.
        sources: ``{"source", "page", "quote"}`` of each citation.
        helpful: The reader's verdict.
        note: What the reader wrote (may be empty).
        source: Where the reader says the answer is ("" when not said).
        page: The page the reader names (0 when not said).
    """

    id: str
    time: str
    user: str
    collection: str
    question: str
    answer: str
    status: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    helpful: bool = False
    note: str = ""
    source: str = ""
    page: int = 0

    @classmethod
    def of(
        cls,
        answer: Answer,
        collection: str,
        user: str,
        *,
        helpful: bool,
        note: str = "",
        source: str = "",
        page: int = 0,
    ) -> Feedback:
        """Feedback on ``answer``, stamped now."""
        cited = [{"source": c.source, "page": c.page, "quote": c.quote} for c in answer.citations]
        return cls(
            id=uuid.uuid4().hex[:10],
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            user=user,
            collection=collection,
            question=answer.question,
            answer=answer.text,
            status=answer.status,
            sources=cited,
            helpful=helpful,
            note=note.strip()[:2000],
            source=source,
            page=max(0, page),
        )

    def as_question(self) -> EvalQuestion | None:
        """The question this feedback teaches, or None when it does not say where.

        A page the reader names wins (with the reader's source, or the cited one when
        there is a single cited source); otherwise a helpful answer's citations say it.
        """
        cited = sorted({str(s["source"]) for s in self.sources})
        if self.page:
            source = self.source or (cited[0] if len(cited) == 1 else "")
            if source:
                return self._question(source, (self.page,), "")
        if self.helpful and cited:
            first = self.sources[0]
            pages = tuple(
                sorted(
                    {
                        int(s["page"])
                        for s in self.sources
                        if s["source"] == first["source"] and s["page"]
                    }
                )
            )
            return self._question(str(first["source"]), pages, str(first["quote"]))
        return None

    def _question(self, source: str, pages: tuple[int, ...], quote: str) -> EvalQuestion:
        return EvalQuestion(
            question=self.question,
            source=source,
            pages=pages,
            expected_quote=quote,
            origin="feedback",
            note=f"feedback {self.id} from {self.user}" + (f": {self.note}" if self.note else ""),
        )


class FeedbackStore(Protocol):
    """Where feedback is kept: ``FeedbackLog`` (a file) or ``PostgresFeedback``."""

    def append(self, feedback: Feedback) -> None:
        """Store one feedback."""
        ...

    def entries(self, collection: str | None = None) -> list[Feedback]:
        """Every feedback (of one collection), oldest first."""
        ...


class FeedbackLog:
    """The feedback file.

    Args:
        path: ``<data_dir>/eval/feedback.jsonl``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, feedback: Feedback) -> None:
        """Store one feedback (fsynced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(asdict(feedback), ensure_ascii=False) + "\n").encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def entries(self, collection: str | None = None) -> list[Feedback]:
        """Every feedback (of one collection), oldest first; a torn last line is skipped."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                feedback = Feedback(**json.loads(line))
            except (ValueError, TypeError):
                continue
            if collection is None or feedback.collection == collection:
                found.append(feedback)
        return found
