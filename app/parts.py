"""What one ``Docent`` owns, and the access checks its operations share.

The embedder and the index client are costly to create: a ``Docent`` makes them once and
hands them to the rooms below. Every operation asks here whether its user may do it,
and a refusal is audited here, once for every face.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.auth import access
from app.auth.access import Grants
from app.auth.accounts import Accounts, User
from app.auth.audit import AuditTrail, actor
from app.auth.gate import Gate
from app.settings import Settings
from app.uploads import upload_folder
from models.embedder import Embedder
from rag.store import Index, validate_collection_name

if TYPE_CHECKING:
    # Imported where used: an ingest needs neither LangChain nor the chat models.
    from app.conversations import Conversations
    from app.eval.feedback import FeedbackStore
    from models.chat import ChatBackend
    from rag.answer import AnswerChain


class DocentParts:
    """The settings, embedder, index, chat backend, accounts, grants and audit log.

    Built as ``app.api.Docent``, whose docstring says what its arguments are.
    """

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, gate: Gate | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedder_config())
        self.gate = gate or Gate(settings)

    @cached_property
    def index(self) -> Index:
        """The index client."""
        return Index(self.settings.index_config(), self.embedder)

    @cached_property
    def chat(self) -> ChatBackend:
        """The chat backend (its model loads or is checked on first use)."""
        from models.chat import chat_backend

        return chat_backend(self.settings.chat_config())

    @property
    def accounts(self) -> Accounts:
        """The local accounts."""
        return self.gate.accounts

    @cached_property
    def grants(self) -> Grants:
        """Who may read which labels of which collection."""
        return Grants(self.gate.state.document("grants"))

    @property
    def audit(self) -> AuditTrail:
        """The audit log."""
        return self.gate.audit

    @cached_property
    def conversations(self) -> Conversations:
        """The saved conversations of every user (each sees only their own)."""
        from app.conversations import ConversationConfig, Conversations

        settings = self.settings
        config = ConversationConfig(
            settings.data_dir / "conversations.sqlite3",
            settings.conversations_saved,
            settings.conversation_retention_days,
        )
        if not settings.state_url:
            return Conversations(config, self.audit)
        from app.auth.state_postgres import PostgresState
        from app.records_postgres import PostgresConversations

        database = PostgresConversations(PostgresState.shared(settings.state_url))
        return Conversations(config, self.audit, database)

    @cached_property
    def feedback_store(self) -> FeedbackStore:
        """Readers' feedback: ``<data_dir>/eval/feedback.jsonl``, or ``state_url``'s database."""
        from app.eval.feedback import FeedbackLog

        if not self.settings.state_url:
            return FeedbackLog(self.settings.data_dir / "eval" / "feedback.jsonl")
        from app.auth.state_postgres import PostgresState
        from app.records_postgres import PostgresFeedback

        return PostgresFeedback(PostgresState.shared(self.settings.state_url))

    @cached_property
    def answers(self) -> AnswerChain:
        """The answer chain over this index and chat backend."""
        from rag.answer import AnswerChain
        from rag.retrieve import Retriever

        return AnswerChain(Retriever(self.index), self.chat, self.settings.answer_config())

    def _uploads(self, collection: str) -> Path:
        """Docent's own folder of the files uploaded to ``collection`` (a valid name)."""
        return upload_folder(self.settings.data_dir, collection)

    def _allowed(self, collection: str, user: User | None) -> tuple[str, ...] | None:
        """The labels ``user`` may read in ``collection`` (None: all).

        Raises:
            CollectionError: The collection does not exist, or ``user`` holds no grant
                in it (the same message, so its existence is not revealed).
        """
        validate_collection_name(collection)
        granted = self.grants.collections(user)
        if granted is not None and collection not in granted:
            # Before the index is opened: a missing and an ungranted collection must give
            # the same words, status and hint, or the difference tells that one exists.
            self.audit.append("denied", actor(user), action="read", collection=collection)
            raise access.unknown_collection(collection)
        self.index.collection(collection)
        return self.grants.allowed(user, collection)

    def _require_adding(
        self,
        collection: str,
        labels: Sequence[str],
        prune: bool,
        user: User | None,
        action: str,
    ) -> tuple[str, ...]:
        """The labels documents get; raises AccessError (audited) when ``user`` may not."""
        validate_collection_name(collection)
        chosen = access.default_labels(collection, labels)
        allowed = self.grants.allowed(user, collection, write=True)
        if allowed is not None and (prune or not set(chosen) <= set(allowed)):
            self.audit.append("denied", actor(user), action=action, collection=collection)
            raise access.AccessError(
                f"You may not add documents labelled {', '.join(chosen)} to `{collection}`"
                + (" or prune it." if prune else "."),
                hint="ask an administrator for a grant (`docent grant`)",
            )
        return chosen

    def may_add(self, collection: str, *, user: User | None = None) -> bool:
        """Whether ``user`` may add documents to ``collection`` (asked, not audited)."""
        allowed = self.grants.allowed(user, collection, write=True)
        return allowed is None or collection in allowed

    def readers(self, collection: str) -> list[str]:
        """Who besides the administrators reads what is added to ``collection`` unlabelled."""
        return self.grants.readers(collection, access.default_labels(collection, ()))

    def _require_admin(self, user: User | None, action: str) -> None:
        """Raise ``AccessError`` (and record the refusal) unless ``user`` is an administrator."""
        try:
            access.require_admin(user, action)
        except access.AccessError:
            self.audit.append("denied", actor(user), action=action)
            raise
