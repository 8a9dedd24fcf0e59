"""Conversations that last: saved per person on the server, listed, reopened, exported.

Each person's conversations are kept in one SQLite file in the data folder
(``<data_dir>/conversations.sqlite3``), created readable and writable by the service's
account only (0600), as the accounts and sessions files are; with ``state_url`` set, in
the state database's tables, so every replica lists and reopens the same ones
(``app.conversation_db``). A conversation holds its
turns: the question, how it ended and the whole checked answer as its record
(``app.answer_record``: units, citations, the passages' text), so a reopened conversation
shows what was shown and a follow-up builds on it.

Two settings govern it: ``conversations_saved`` (the administrator's switch: off, nothing
is saved and none is listed) and ``conversation_retention_days`` (a conversation untouched
for that long is deleted, checked whenever the list is read). Creating, renaming,
deleting and the deletions by retention are written to the audit log; the questions and
answers themselves are audited by ``Docent.stream_answer`` as before.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.auth.audit import AuditTrail, actor
from app.conversation_db import ConversationDb, Rows, SqliteConversations
from ingest.report import shown
from models.errors import DocentError

if TYPE_CHECKING:
    from app.auth.accounts import User
    from rag.answer import Answer

TITLE_MOST = 120
# Listing deletes what is past the retention period, at most this often per process.
PURGE_EVERY_SECONDS = 600.0


class ConversationError(DocentError):
    """A conversation that does not exist, is not the person's, or cannot be saved."""


@dataclass(frozen=True)
class ConversationConfig:
    """Where and whether conversations are kept.

    Attributes:
        path: The SQLite file.
        saved: The administrator's switch; off, nothing is saved or listed.
        retention_days: Days after its last change that a conversation is deleted.
    """

    path: Path
    saved: bool = True
    retention_days: int = 90


@dataclass
class SavedTurn:
    """One question of a saved conversation and what became of it.

    Attributes:
        question: As asked.
        state: ``done``, ``stopped``, ``failed`` or ``waiting`` (not answered yet).
        answer: The finished answer, if any.
        partial: The text written before it was stopped.
        error: Why it failed, as the reader was told.
    """

    question: str
    state: str = "waiting"
    answer: Answer | None = None
    partial: str = ""
    error: str = ""


@dataclass(frozen=True)
class ConversationSummary:
    """A saved conversation as the list shows it."""

    id: str
    title: str
    collection: str
    created_at: datetime
    updated_at: datetime
    turns: int


@dataclass
class SavedConversation:
    """A saved conversation with its turns, oldest first."""

    summary: ConversationSummary
    turns: list[SavedTurn] = field(default_factory=list)


class Conversations:
    """The saved conversations of one installation, each readable by its owner only.

    Args:
        config: Where and whether they are kept.
        audit: The audit log that records their changes.
        db: Where they are kept; default the SQLite file at ``config.path``.
    """

    def __init__(
        self, config: ConversationConfig, audit: AuditTrail, db: ConversationDb | None = None
    ) -> None:
        self.config = config
        self.audit = audit
        self.db = db or SqliteConversations(config.path)
        self._purged_at: float | None = None

    @property
    def saved(self) -> bool:
        """Whether conversations are saved (the administrator's switch)."""
        return self.config.saved

    def save(
        self,
        collection: str,
        turns: Sequence[SavedTurn],
        conversation: str | None = None,
        *,
        user: User | None = None,
    ) -> str | None:
        """Save a conversation's turns; return its id (None when saving is off).

        Args:
            collection: The collection it asks.
            turns: All its turns, oldest first (they replace what was saved).
            conversation: Its id; None saves a new one, titled by its first question.
            user: Its owner.

        Raises:
            ConversationError: ``conversation`` is not one of ``user``'s.
        """
        if not self.saved or not turns:
            return None
        now = _now()
        owner = actor(user)
        with self.db.writing() as db:
            if conversation is None:
                conversation = secrets.token_urlsafe(12)
                title = _title(turns[0].question)
                db.run(
                    "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, 0)",
                    (conversation, owner, collection, title, now, now),
                )
                created = True
            else:
                self._owned(db, conversation, owner, lock=True)
                created = False
            db.run("DELETE FROM turns WHERE conversation = ?", (conversation,))
            db.many(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?)",
                [_turn_row(conversation, n, turn) for n, turn in enumerate(turns)],
            )
            db.run(
                "UPDATE conversations SET updated_at = ?, turns = ? WHERE id = ?",
                (now, len(turns), conversation),
            )
        if created:
            fields = {"conversation": conversation, "collection": collection}
            self.audit.append("conversation_save", owner, **fields)
        return conversation

    def list(
        self, *, user: User | None = None, search: str = "", limit: int | None = None
    ) -> list[ConversationSummary]:
        """``user``'s saved conversations, latest change first (none when saving is off).

        Conversations past the retention period are deleted first.

        Args:
            user: Whose.
            search: Only those whose title holds this text (any case).
            limit: At most this many.
        """
        if not self.saved:
            return []
        now = time.monotonic()
        if self._purged_at is None or now - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = now
            self.purge()
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.db.reading() as db:
            rows = db.all(
                "SELECT id, title, collection, created_at, updated_at, turns FROM conversations"
                " WHERE owner = ? AND lower(title) LIKE lower(?) ESCAPE '\\'"
                " ORDER BY updated_at DESC LIMIT ?",
                (actor(user), pattern, self.db.no_limit if limit is None else limit),
            )
        return [_summary(row) for row in rows]

    def count(self, *, user: User | None = None) -> int:
        """How many conversations ``user`` has saved."""
        if not self.saved:
            return 0
        with self.db.reading() as db:
            found = db.one("SELECT count(*) FROM conversations WHERE owner = ?", (actor(user),))
        return int(found[0]) if found else 0

    def open(self, conversation: str, *, user: User | None = None) -> SavedConversation:
        """A saved conversation of ``user``'s with its turns.

        Raises:
            ConversationError: It does not exist (or no longer), or is someone else's.
        """
        with self.db.reading() as db:
            summary = self._owned(db, conversation, actor(user))
            rows = db.all(
                "SELECT question, state, answer, partial, error FROM turns"
                " WHERE conversation = ? ORDER BY position",
                (conversation,),
            )
        from app.answer_record import answer_from_json  # the answer types load LangChain

        turns = [
            SavedTurn(q, state, answer_from_json(answer) if answer else None, partial, error)
            for q, state, answer, partial, error in rows
        ]
        return SavedConversation(summary, turns)

    def rename(self, conversation: str, title: str, *, user: User | None = None) -> str:
        """Give a conversation a new title; return it as kept (one line, trimmed).

        Raises:
            ConversationError: The title is empty, or the conversation is not ``user``'s.
        """
        kept = _title(title)
        if not kept:
            raise ConversationError("A conversation needs a title.", hint="type a title")
        with self.db.writing() as db:
            self._owned(db, conversation, actor(user), lock=True)
            db.run("UPDATE conversations SET title = ? WHERE id = ?", (kept, conversation))
        self.audit.append("conversation_rename", actor(user), conversation=conversation)
        return kept

    def delete(self, conversation: str, *, user: User | None = None) -> None:
        """Delete a conversation of ``user``'s with all its turns.

        Raises:
            ConversationError: It is not ``user``'s (or is gone already).
        """
        with self.db.writing() as db:
            self._owned(db, conversation, actor(user), lock=True)
            db.run("DELETE FROM conversations WHERE id = ?", (conversation,))
        self.audit.append("conversation_delete", actor(user), conversation=conversation)

    def purge(self, now: datetime | None = None) -> int:
        """Delete every conversation untouched for the retention period; return how many."""
        if not self.db.holds_any():
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.config.retention_days)
        with self.db.writing() as db:
            removed = db.run(
                "DELETE FROM conversations WHERE updated_at < ?",
                (cutoff.isoformat(timespec="microseconds"),),
            )
        if removed:
            days = self.config.retention_days
            self.audit.append("conversation_retention", "docent", deleted=removed, days=days)
        return int(removed)

    def export_markdown(self, conversation: str, *, user: User | None = None) -> str:
        """A conversation as Markdown: each question, its answer and the answer's sources."""
        saved = self.open(conversation, user=user)
        head = saved.summary
        lines = [
            f"# {head.title}",
            "",
            f"Collection: {head.collection} · started {_shown(head.created_at)}"
            f" · last changed {_shown(head.updated_at)}",
        ]
        for turn in saved.turns:
            lines += ["", f"## {' '.join(turn.question.split())}", ""]
            if turn.answer is not None:
                lines.append(answer_markdown(turn.answer))
            elif turn.state == "failed":
                lines.append(f"(No answer: {turn.error})")
            else:
                lines.append((turn.partial + "\n\n" if turn.partial else "") + "(Stopped.)")
        return "\n".join(lines) + "\n"

    def _owned(
        self, db: Rows, conversation: str, owner: str, *, lock: bool = False
    ) -> ConversationSummary:
        row = db.one(
            "SELECT id, title, collection, created_at, updated_at, turns FROM conversations"
            " WHERE id = ? AND owner = ?" + (self.db.row_lock if lock else ""),
            (conversation, owner),
        )
        if row is None:  # the same words whether it is gone or someone else's
            raise ConversationError(
                "This conversation is no longer saved.",
                hint="it was deleted, or removed after the retention period",
            )
        return _summary(row)


def answer_markdown(answer: Answer) -> str:
    """An answer as Markdown with its citations listed under it ("[1] Title, p. 5: ...").

    What the copy button copies and the export writes for each answer. The text keeps
    its lines: an answer unit's list, steps, code or table rows are Markdown structure.
    """
    text = "\n".join(line.rstrip() for line in answer.text.strip().splitlines())
    if not answer.citations:
        return text
    sources = [
        f"[{c.number}] {where(c.title, c.source, c.page, c.cells)}: "
        f"\u201c{' '.join(c.quote.split())}\u201d"
        for c in answer.citations
    ]
    return text + "\n\n" + "\n".join(f"- {line}" for line in sources)


def _turn_row(conversation: str, position: int, turn: SavedTurn) -> tuple[object, ...]:
    from app.answer_record import answer_to_json

    answer = answer_to_json(turn.answer) if turn.answer is not None else None
    return (conversation, position, turn.question, turn.state, answer, turn.partial, turn.error)


def _summary(row: tuple[Any, ...]) -> ConversationSummary:
    id_, title, collection, created, updated, turns = row
    parse = datetime.fromisoformat
    return ConversationSummary(id_, title, collection, parse(created), parse(updated), int(turns))


def _title(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= TITLE_MOST else one_line[: TITLE_MOST - 1] + "…"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def where(title: str, source: str, page: int, cells: str = "") -> str:
    """A document reference: title, file and page, or a spreadsheet's cells for its page
    ("Rota!A12:D12")."""
    name = shown(title or source)
    text = f"{name} ({shown(source)})" if title and title != source else name
    if cells:
        return f"{text}, {shown(cells)}"
    return f"{text}, p. {page}" if page else text
