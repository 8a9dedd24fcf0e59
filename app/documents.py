"""Collections and their documents: listing what a user may read, creating, removing.

Part of ``app.api.Docent``; each change is audited here, whichever face asked for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from app import originals
from app.auth import access
from app.auth.accounts import User
from app.auth.audit import actor
from app.parts import DocentParts
from app.uploads import forget_uploads
from models.errors import DocentError
from rag.store import CollectionError, CollectionInfo
from rag.types import DocumentRecord


class DocumentOperations(DocentParts):
    """The operations on collections and documents of ``Docent``."""

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

    def check_upload(
        self, collection: str, *, labels: Sequence[str] = (), user: User | None = None
    ) -> None:
        """Refuse an upload the ingest would refuse, before any of it is written to disk.

        Raises:
            AccessError: ``user`` may not add documents with these labels to ``collection``.
            DocentError: The collection name is not valid.
        """
        self._require_adding(collection, labels, False, user, "upload")

    def check_sync(self, collection: str, *, user: User | None = None) -> None:
        """Refuse a re-sync of the shared folder the ingest would refuse, before it starts.

        A re-sync prunes what left the folder, which only administrators may do: a
        writer's grant lets them add documents, not take out the share's.

        Raises:
            AccessError: ``user`` may not prune ``collection`` (audited).
            DocentError: The collection name is not valid.
        """
        self._require_adding(collection, (), True, user, "sync")

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

        Docent's own copy of an uploaded document goes with it; a file it was ingested
        from anywhere else (a share, the user's own folder) is never touched.

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
        forget_uploads(self._uploads(collection), records)
        doc_ids = [record.doc_id for record in records]
        self.audit.append(
            "delete_document", actor(user), collection=collection, source=source, doc_ids=doc_ids
        )
        return records

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
