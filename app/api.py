"""Docent's Python API: the operations of the CLI, typed, for integrators and the UI.

One ``Docent`` per process: it owns the embedder and the index client, which are costly
to create, and hands them to the rooms below.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.administration import Administration
from app.auth import access
from app.auth.accounts import User
from app.auth.audit import actor, answer_fields, ingest_fields, summary_fields
from app.sources import open_share
from app.status import ModelsReport, Status, StatusReports
from app.uploads import Indexed, Placement, UploadedFile, stage_uploads
from ingest.acl import PrincipalMap
from ingest.pipeline import Ingestor, Progress
from ingest.report import FileOutcome, IngestReport, Outcomes
from ingest.smb import SmbShare
from models.errors import DocentError

if TYPE_CHECKING:
    from app.eval.feedback import Feedback
    from rag.answer import Answer
    from rag.condense import Turn
    from rag.retrieve import Filters
    from rag.summarize import ProgressCallback, Summary
    from rag.types import Length

__all__ = ["Docent", "IndexWriteError", "ModelsReport", "Status"]

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


class Docent(StatusReports, Administration):
    """The entry point to Docent's operations.

    Args:
        settings: The settings, loaded once by the caller.
        embedder: An embedder to share (tests, several ``Docent`` in one process);
            default one built from the settings.
        gate: Accounts, sessions and audit log to share (the UI builds them first, for
            the sign-in page); default ones for the settings.

    Its operations are grouped by purpose: collections and documents
    (``app.documents``), reports on the installation (``app.status``, over those),
    administration (``app.administration``); asking, summarizing and ingesting are here.
    """

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
        from app.eval.feedback import Feedback

        self._allowed(collection, user)
        given = Feedback.of(
            answer, collection, actor(user), helpful=helpful, note=note, source=source, page=page
        )
        self.feedback_store.append(given)
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
        self._require_admin(user, "read readers' feedback")
        return self.feedback_store.entries(collection)

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
        """Summarize a whole document ``user`` may read, along its outline (``rag.summarize``)."""
        from rag.summarize import Summarizer

        allowed = self._allowed(collection, user)
        started = time.perf_counter()
        config = self.settings.summary_config()
        summary = Summarizer(self.chat, self.embedder, config).summarize(
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

    def ingest(
        self,
        paths: Sequence[Path | str],
        collection: str,
        *,
        labels: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        progress: Progress | None = None,
        user: User | None = None,
    ) -> IngestReport:
        """Sync files and folders, or an SMB share (``smb://server/share/folder``), into a
        collection (see ``Ingestor.ingest``).

        Documents get ``labels``, or else the collection's name as their label; with
        ``smb_principals`` set, a share's documents get the labels of the principals its
        permissions let read them, and each principal is granted its label (a grant from
        the share). A user who is not an administrator may only add documents with labels
        granted to them, and may not prune.

        Raises:
            AccessError: ``user`` is not granted every label, or prunes.
            DocentError: A share cannot be opened, or ``labels`` are given for a share
                whose permissions label its documents.
        """
        chosen = self._require_adding(collection, labels, prune, user, "ingest")
        share = open_share(paths, self.settings)
        if share is not None and share.principals is not None and labels:
            share.close()
            raise DocentError(
                "A share's documents are labelled by its permissions (smb_principals).",
                hint="leave out --label, or empty smb_principals to label the share by hand",
            )
        ingestor = Ingestor(self.index, self.settings.ingest_config())
        try:
            source: Sequence[Path] | SmbShare = share or [Path(p) for p in paths]
            report = ingestor.ingest(
                source, collection, labels=chosen, prune=prune, dry_run=dry_run, progress=progress
            )
        except Exception as error:
            if not _store_failure(error):
                raise
            raise self._write_failed(error) from error
        if not dry_run:
            self.audit.append("ingest", actor(user), **ingest_fields(report, chosen))
            if share is not None and share.principals is not None:
                self._grant_share(collection, share.address.root, share.principals)
        return report

    def _grant_share(self, collection: str, root: str, principals: PrincipalMap) -> None:
        """Grant each mapped principal its label in ``collection``, as coming from ``root``."""
        held = {grant.key for grant in self.grants.all()}
        for principal, label in principals.labels().items():
            if (principal, collection, label) not in held:
                self.grants.grant(principal, collection, label, origin=root)
                self.audit.append(
                    "grant", actor(None), principal=principal, collection=collection,
                    label=label, origin=root,
                )  # fmt: skip

    def save_uploads(
        self, collection: str, files: Sequence[UploadedFile], *, user: User | None = None
    ) -> Placement:
        """Write uploads into Docent's own uploads folder of ``collection``, to ingest.

        The grant is checked before anything is written: an upload the ingest would
        refuse must not replace another collection's original on the way. Files of an
        unsupported type or over the size limit, or with the bytes of a document already
        in the collection, are not written (``Placement.refused``); one named like a
        document from elsewhere (a shared folder) is kept under a marked name of its own.

        Raises:
            AccessError: ``user`` may not add documents to ``collection``.
            UploadLimitError: ``user`` would pass a daily cap with these files.
        """
        self.check_upload(collection, user=user)
        limits = self.settings.upload_limits()
        folder = self._uploads(collection)
        held = self._indexed(collection, folder)
        placement = stage_uploads(folder, files, limits, actor(user), held)
        if placement.refused and held.contents and self._allowed(collection, user) is not None:
            readable = {r.source for r in self.documents(collection, user=user)}
            placement.refused = [(n, _unnamed_reason(r, readable)) for n, r in placement.refused]
        return placement

    def _indexed(self, collection: str, folder: Path) -> Indexed:
        """What uploads into ``collection`` must not stand in for (nothing in a new one)."""
        try:
            return Indexed.of(self.index.collection(collection).records(), folder)
        except DocentError:
            return Indexed()

    def ingest_uploads(
        self,
        placement: Placement,
        collection: str,
        *,
        progress: Progress | None = None,
        user: User | None = None,
    ) -> IngestReport:
        """Ingest saved uploads; each stays only if the ingest accepted it (see ``ingest``).

        The refused uploads are in the report as skipped, with why. When the ingest
        raises, every upload is undone and an earlier file of its name put back.
        """
        report = None
        try:
            report = self.ingest(placement.place(), collection, progress=progress, user=user)
        finally:
            placement.settle(report)
        report.files += [FileOutcome(n, n, "skipped", why) for n, why in placement.refused]
        if self._allowed(collection, user) is not None:
            readable = {r.source for r in self.documents(collection, user=user)}
            report.files = Outcomes(_unnamed(o, readable) for o in report.files)
        return report

    def recover(self, collection: str, *, user: User | None = None) -> int:
        """Take out what a stopped ingest left half-written, as the next ingest would.

        Returns the documents repaired (audited); 0 when another process holds the
        index's writer lock: that writer repairs the collection itself when it starts.
        """
        from ingest.pipeline import recover

        with contextlib.suppress(DocentError), self.index.writer_lock():
            repaired = recover(self.index.collection(collection))
            self.audit.append("recover", actor(user), collection=collection, repaired=repaired)
            return repaired
        return 0

    def _write_failed(self, error: Exception) -> DocentError:
        # A full disk, a file-size limit or a Chroma server gone mid-write all end here;
        # the journal makes the same command safe to repeat once the cause is fixed.
        # A damaged database is not fixed by repeating: it is said as such.
        from rag.store import index_damaged, is_damage

        where = self.index.location
        if is_damage(error):
            return index_damaged(" ".join(str(error).split())[-200:], where)
        return IndexWriteError(
            f"Writing to the index at {where} failed: {error or type(error).__name__}",
            hint="free space on the disk that holds the index and check that the Chroma "
            "server is up (server mode), then run the same command again: it finishes "
            "what this run started",
        )


def _unnamed(outcome: FileOutcome, readable: set[str]) -> FileOutcome:
    """An upload's outcome without the name of a document its uploader may not read.

    An upload of the exact bytes of such a document is told that its content is already
    indexed (the uploader holds those bytes), never under which name.
    """
    return replace(outcome, reason=_unnamed_reason(outcome.reason, readable))


def _unnamed_reason(reason: str, readable: set[str]) -> str:
    """An upload's reason without the name of a document its uploader may not read."""
    for lead, tail in (("same content as ", ", which is already indexed"), ("moved from ", ";")):
        if reason.startswith(lead) and tail in reason:
            named = reason[len(lead) : reason.index(tail)]
            if named not in readable:
                return reason.replace(named, "a document of this collection you may not read", 1)
    return reason
