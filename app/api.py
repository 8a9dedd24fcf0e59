"""Docent's Python API: the operations of the CLI, typed, for integrators and the UI.

One ``Docent`` per process: it owns the embedder and the index client, which are costly
to create, and hands them to the rooms below.
"""

from __future__ import annotations

import errno
import platform
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from app import originals
from app.auth import access
from app.auth.access import Grant, Grants
from app.auth.accounts import Accounts, User
from app.auth.audit import AuditLog, actor, answer_fields, ingest_fields, summary_fields
from app.auth.gate import Gate
from app.settings import Settings
from ingest.pipeline import Ingestor, Progress
from ingest.report import IngestReport
from models.embedder import Embedder
from models.errors import DocentError
from models.weights import EMBEDDER_WEIGHTS_FILE, verify_weights
from rag.store import CollectionError, CollectionInfo, Index, validate_collection_name
from rag.types import DocumentRecord

if TYPE_CHECKING:
    # Imported where used: an ingest needs neither LangChain nor the chat models.
    from app.conversations import Conversations
    from app.eval.feedback import Feedback
    from models.catalog import CatalogEntry
    from models.chat import ChatBackend
    from rag.answer import Answer, AnswerChain
    from rag.condense import Turn
    from rag.retrieve import Filters
    from rag.summarize import ProgressCallback, Summary
    from rag.types import Length

# A full disk or quota, a file-size limit, a read-only or failing disk.
_WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


def _store_failure(error: Exception) -> bool:
    """Whether an error is the index failing to be written, not a fault of the run.

    Chroma's and httpx's error classes are looked up only if those modules were imported:
    an error of theirs cannot come from a run that never loaded them.
    """
    if isinstance(error, OSError) and not isinstance(error, ConnectionError):
        return error.errno in _WRITE_FAILURES
    kinds: list[type[BaseException]] = [sqlite3.Error, ConnectionError]
    if chroma := sys.modules.get("chromadb.errors"):
        kinds.append(chroma.ChromaError)
    if httpx := sys.modules.get("httpx"):
        kinds.append(httpx.TransportError)
    return isinstance(error, tuple(kinds))


class IndexWriteError(DocentError):
    """The index could not be written: the disk is full, or its server went away."""


@dataclass(frozen=True)
class Status:
    """The state of a Docent installation, for ``docent status``."""

    index: str
    collections: list[CollectionInfo]
    embedder: str
    embedder_dir: str
    embedder_backend: str
    embedder_weights: str
    versions: dict[str, str]
    chat_runtime: dict[str, str]


@dataclass(frozen=True)
class ModelsReport:
    """The model catalog, what the configured backend offers, and a recommendation."""

    backend: dict[str, str]
    problem: str
    catalog: list[CatalogEntry]
    ram_bytes: int
    recommended: CatalogEntry


class Docent:
    """The entry point to Docent's operations.

    Args:
        settings: The settings, loaded once by the caller.
        embedder: An embedder to share (tests, several ``Docent`` in one process);
            default one built from the settings.
        gate: Accounts, sessions and audit log to share (the UI builds them first, for
            the sign-in page); default ones for the settings.
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
        return Grants(self.settings.grants_path())

    @property
    def audit(self) -> AuditLog:
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
        return Conversations(config, self.audit)

    @cached_property
    def answers(self) -> AnswerChain:
        """The answer chain over this index and chat backend."""
        from rag.answer import AnswerChain
        from rag.retrieve import Retriever

        return AnswerChain(Retriever(self.index), self.chat, self.settings.answer_config())

    def stream_answer(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        user: User | None = None,
    ) -> Iterator[str | Answer]:
        """Answer a question: the model's text as it streams, then the checked ``Answer``.

        Only chunks ``user`` is granted are retrieved (None: the local administrator).
        """
        scoped = access.restrict(filters, self._allowed(collection, user))
        parts = self.answers.stream(collection, question, history, scoped)
        return self._audited_answer(parts, collection, question, user)

    def _audited_answer(
        self, parts: Iterator[str | Answer], collection: str, question: str, user: User | None
    ) -> Iterator[str | Answer]:
        from rag.answer import Answer

        answered = False
        try:
            for part in parts:
                if isinstance(part, Answer):
                    answered = True
                    self.audit.append("ask", actor(user), **answer_fields(collection, part))
                yield part
        finally:
            # Stopped by the reader or failed mid-answer: the question is still recorded.
            if not answered:
                fields = {"collection": collection, "question": question, "status": "stopped"}
                self.audit.append("ask", actor(user), **fields)

    def ask(
        self,
        collection: str,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        user: User | None = None,
    ) -> Answer:
        """Answer a question with verified citations (see ``stream_answer``)."""
        from rag.answer import Answer

        final = list(self.stream_answer(collection, question, history, filters, user=user))[-1]
        assert isinstance(final, Answer)
        return final

    def give_feedback(
        self,
        collection: str,
        answer: Answer,
        *,
        helpful: bool,
        note: str = "",
        source: str = "",
        page: int = 0,
        user: User | None = None,
    ) -> Feedback:
        """Store a reader's verdict on an answer, with where they say the answer is (audited).

        Raises:
            CollectionError: ``user`` holds no grant in ``collection``.
        """
        from app.eval.feedback import Feedback, FeedbackLog

        self._allowed(collection, user)
        given = Feedback.of(
            answer, collection, actor(user), helpful=helpful, note=note, source=source, page=page
        )
        FeedbackLog(self.settings.data_dir / "eval" / "feedback.jsonl").append(given)
        fields = {"collection": collection, "feedback": given.id, "helpful": helpful}
        self.audit.append("feedback", actor(user), **fields)
        return given

    def feedback(
        self, collection: str | None = None, *, user: User | None = None
    ) -> list[Feedback]:
        """Readers' feedback, oldest first (administrators only).

        Raises:
            AccessError: ``user`` is not an administrator.
        """
        from app.eval.feedback import FeedbackLog

        self._require_admin(user, "read readers' feedback")
        return FeedbackLog(self.settings.data_dir / "eval" / "feedback.jsonl").entries(collection)

    def summarize(
        self,
        collection: str,
        source: str,
        *,
        length: Length = "medium",
        focus: str = "",
        progress: ProgressCallback | None = None,
        user: User | None = None,
    ) -> Summary:
        """Summarize a whole document (map-reduce over all its chunks) ``user`` may read."""
        from rag.summarize import Summarizer

        allowed = self._allowed(collection, user)
        started = time.perf_counter()
        summary = Summarizer(self.chat, self.embedder).summarize(
            self.index.collection(collection),
            source,
            length=length,
            focus=focus,
            progress=progress,
            labels=allowed,
        )
        seconds = time.perf_counter() - started
        fields = summary_fields(collection, summary, self.chat.name, seconds)
        self.audit.append("summarize", actor(user), **fields)
        return summary

    def models(self) -> ModelsReport:
        """The catalog, the configured backend's state, and the model this machine can run."""
        from models.catalog import catalog, machine_ram, recommend

        try:
            self.chat.preflight()
            problem = ""
        except DocentError as error:
            problem = str(error)
        ram = machine_ram()
        return ModelsReport(self.chat.describe(), problem, catalog(), ram, recommend(ram))

    def ingest(
        self,
        paths: Sequence[Path],
        collection: str,
        *,
        labels: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
        user: User | None = None,
    ) -> IngestReport:
        """Sync files and folders into a collection (see ``Ingestor.ingest``).

        Documents get ``labels``, or else the collection's name as their label. A user
        who is not an administrator may only add documents with labels granted to them,
        and may not prune.

        Raises:
            AccessError: ``user`` is not granted every label, or prunes.
        """
        chosen = self._require_adding(collection, labels, prune, user, "ingest")
        ingestor = Ingestor(self.index, self.settings.ingest_config())
        try:
            report = ingestor.ingest(
                paths, collection, labels=chosen, prune=prune, dry_run=dry_run, progress=progress
            )
        except Exception as error:
            if not _store_failure(error):
                raise
            raise self._write_failed(error) from error
        if not dry_run:
            self.audit.append("ingest", actor(user), **ingest_fields(report, chosen))
        return report

    def _write_failed(self, error: Exception) -> IndexWriteError:
        # A full disk, a file-size limit or a Chroma server gone mid-write all end here;
        # the journal makes the same command safe to repeat once the cause is fixed.
        where = self.index.location
        return IndexWriteError(
            f"Writing to the index at {where} failed: {error or type(error).__name__}",
            hint="free space on the disk that holds the index and check that the Chroma "
            "server is up (server mode), then run the same command again: it finishes "
            "what this run started",
        )

    def collections(self, *, user: User | None = None) -> list[CollectionInfo]:
        """Every collection ``user`` holds a grant in, counting only what they may read."""
        granted = self.grants.collections(user)
        infos = [i for i in self.index.collections() if granted is None or i.name in granted]
        if user is None or user.is_admin:
            return infos
        return [self._visible_counts(info, user) for info in infos]

    def _visible_counts(self, info: CollectionInfo, user: User) -> CollectionInfo:
        target = self.index.collection(info.name)
        allowed = self.grants.allowed(user, info.name)
        chunks = target.count_chunks(access.restrict(None, allowed))
        documents = [r for r in access.visible(target.records(), allowed) if r.doc_id]
        return replace(info, documents=len(documents), chunks=chunks)

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

    def check_upload(
        self, collection: str, *, labels: Sequence[str] = (), user: User | None = None
    ) -> None:
        """Refuse an upload the ingest would refuse, before any of it is written to disk.

        Raises:
            AccessError: ``user`` may not add documents with these labels to ``collection``.
            DocentError: The collection name is not valid.
        """
        self._require_adding(collection, labels, False, user, "upload")

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

    def create_collection(self, name: str, *, user: User | None = None) -> None:
        """Create an empty collection (administrators only).

        Raises:
            CollectionError: It exists already or the name is invalid.
            AccessError: ``user`` is not an administrator.
        """
        self._require_admin(user, "create collections")
        with self.index.writer_lock():
            if any(info.name == name for info in self.index.collections()):
                raise CollectionError(f"Collection `{name}` already exists.")
            self.index.collection(name, create=True)

    def delete_collection(self, name: str, *, user: User | None = None) -> None:
        """Delete a collection and everything in it (administrators only)."""
        self._require_admin(user, "delete collections")
        with self.index.writer_lock():
            self.index.delete_collection(name)
        self.audit.append("delete_collection", actor(user), collection=name)

    def documents(self, collection: str, *, user: User | None = None) -> list[DocumentRecord]:
        """The documents of a collection that ``user`` may read."""
        allowed = self._allowed(collection, user)
        records = self.index.collection(collection).records()
        return [r for r in access.visible(records, allowed) if r.doc_id]

    def remove_document(
        self, collection: str, source: str, *, user: User | None = None
    ) -> list[DocumentRecord]:
        """Remove the documents whose source path is ``source``; return what was removed.

        Raises:
            DocentError: No document has that source path.
            AccessError: ``user`` is not an administrator.
        """
        self._require_admin(user, "remove documents")
        with self.index.writer_lock():
            target = self.index.collection(collection)
            records = target.find(source)
            if not records:
                raise DocentError(
                    f"No document `{source}` in collection `{collection}`.",
                    hint=f"see `docent docs list --collection {collection}`",
                )
            for record in records:
                target.remove_document(record)
        doc_ids = [record.doc_id for record in records]
        self.audit.append(
            "delete_document", actor(user), collection=collection, source=source, doc_ids=doc_ids
        )
        return records

    def grant(
        self,
        principal: str,
        collection: str,
        label: str | None = None,
        *,
        write: bool = False,
        user: User | None = None,
    ) -> Grant:
        """Grant a user or ``@group`` a label of a collection (default: the collection's).

        ``write`` lets them add documents with that label too; without it they read only.

        Raises:
            AccountError: ``principal`` names a user who does not exist.
            AccessError: ``user`` is not an administrator.
        """
        self._require_admin(user, "grant access")
        if not principal.startswith("@"):
            self.accounts.get(principal)
        given = self.grants.grant(principal, collection, label, write=write)
        self.audit.append(
            "grant",
            actor(user),
            principal=principal,
            collection=collection,
            label=given.label,
            write=given.write,
        )
        return given

    def revoke(
        self, principal: str, collection: str, label: str | None = None, *, user: User | None = None
    ) -> list[Grant]:
        """Withdraw a grant (without ``label``: every label of the collection)."""
        self._require_admin(user, "revoke access")
        gone = self.grants.revoke(principal, collection, label)
        labels = [g.label for g in gone]
        self.audit.append(
            "revoke", actor(user), principal=principal, collection=collection, labels=labels
        )
        return gone

    def status(self, *, user: User | None = None) -> Status:
        """Where the index is, what it holds (what ``user`` may read), and the embedder."""
        config = self.settings.embedder_config()
        try:
            verify_weights(self.embedder.model_dir / EMBEDDER_WEIGHTS_FILE, config.sha256)
            weights = "verified (sha256 matches)" if config.sha256 else "present (no hash pinned)"
        except DocentError as error:
            weights = f"PROBLEM: {error}"
        versions = {"python": platform.python_version()}
        for name in ("docent", "chromadb", "sentence-transformers", "torch", "langchain-core"):
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = "not installed"
        return Status(
            index=self.index.location,
            collections=self.collections(user=user),
            embedder=self.embedder.name,
            embedder_dir=str(self.embedder.model_dir),
            embedder_backend=config.backend,
            embedder_weights=weights,
            versions=versions,
            chat_runtime=self._chat_runtime(),
        )

    def _chat_runtime(self) -> dict[str, str]:
        """The embedded model's CPU and llama.cpp kernels (empty for a server backend)."""
        config = self.settings.chat_config()
        if config.backend != "llamacpp":
            return {}
        from models.llama_runtime import runtime_facts

        return runtime_facts(config.runtime_dir)

    def document_file(
        self, collection: str, source: str, *, user: User | None = None
    ) -> Path | None:
        """The file a document was ingested from, if it is still the same bytes.

        Lets a reader open the original behind a citation; None when the file has moved,
        changed (its sha256 is not the indexed document's) or was removed since it was
        ingested, or ``user`` may not read it.
        """
        for record in self.documents(collection, user=user):
            path = Path(record.root) / record.source
            if (
                record.source == source
                and path.is_file()
                and path.stat().st_size == record.size
                and originals.is_original(path, record.doc_id)
            ):
                return path
        return None
