"""Uploaded files: where they are kept, which are refused, and their copies on removal.

One rule for every face that accepts uploads (the Library page, the HTTP API): the
supported types only, at most ``upload_max_mb`` each and the daily caps per user, under a
safe name in ``<data_dir>/uploads/<collection>``. An upload is written whole under a
hidden name first; it takes its place for the ingest, and stays only if the ingest
accepted it: a refused or failed upload never replaces the earlier file of that name.

An upload never stands in for a document that came from elsewhere (a shared folder): one
named like such a document is kept under a marked name of its own ("handbook-4be1c9.pdf"),
so citations, originals and deletes name one document each; and one with the bytes of a
document already in the collection is refused, so its uploader cannot take that document
over (an ingest would move a twin whose file it does not see into the uploads folder,
under the uploader's labels).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from app.upload_limits import UploadLimits
from ingest.report import FileOutcome, IngestReport, Outcomes
from rag.types import DocumentRecord

_MB = 1024 * 1024
# Letters and digits of any script stay (after NFC), with "._ -"; the rest is replaced.
_UNSAFE_NAME = re.compile(r"[^\w. -]+")
MAX_NAME = 120
_INDEXED = "which is already indexed"


class UploadedFile(Protocol):
    """What an upload offers: Streamlit's ``UploadedFile`` has it, so has ``Upload``."""

    @property
    def name(self) -> str:
        """The file name the client gave."""

    @property
    def size(self) -> int:
        """Its size in bytes."""

    def getvalue(self) -> bytes:
        """Its content."""


class Upload:
    """An upload received whole in memory (the HTTP API's multipart parts)."""

    def __init__(self, name: str, data: bytes) -> None:
        self._name = name
        self._data = data

    @property
    def name(self) -> str:
        """The file name the client gave."""
        return self._name

    @property
    def size(self) -> int:
        """Its size in bytes."""
        return len(self._data)

    def getvalue(self) -> bytes:
        """Its content."""
        return self._data


@dataclass(frozen=True)
class Indexed:
    """What a collection holds that uploads into it must not stand in for.

    Attributes:
        elsewhere: Source paths of its documents from outside the uploads folder.
        contents: Each document's content (sha256) and its source path.
    """

    elsewhere: frozenset[str] = frozenset()
    contents: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[DocumentRecord], folder: Path) -> Indexed:
        """What ``records`` hold, with ``folder`` the collection's uploads folder."""
        uploads = folder.resolve()
        elsewhere: set[str] = set()
        contents: dict[str, str] = {}
        for record in records:
            if Path(record.root).resolve() != uploads:
                elsewhere.add(record.source)
            if record.doc_id:
                contents.setdefault(record.doc_id, record.source)
        return cls(frozenset(elsewhere), contents)


def upload_folder(data_dir: Path, collection: str) -> Path:
    """The folder that keeps the uploads of ``collection`` (the name must be valid)."""
    return data_dir / "uploads" / collection


@dataclass
class Staged:
    """An upload written whole under a hidden name beside the place it will take.

    Attributes:
        target: Where it lives once the ingest accepted it.
        partial: The hidden name it was written under (the ingest never reads hidden files).
        previous: The earlier upload of that name, set aside while the ingest runs.
    """

    target: Path
    partial: Path
    previous: Path | None = None


@dataclass
class Placement:
    """The uploads of one ingest run, between writing and the ingest's verdict."""

    staged: list[Staged] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        """The places the uploads take for the ingest."""
        return [upload.target for upload in self.staged]

    def place(self) -> list[Path]:
        """Put the uploads in place for the ingest, setting earlier ones of the same name aside.

        The ingest knows a file by its path, so it must read the upload where it will stay;
        ``settle`` then keeps it or puts the earlier file back.
        """
        for upload in self.staged:
            if upload.target.exists():
                upload.previous = upload.partial.with_suffix(".previous")
                upload.target.replace(upload.previous)
            upload.partial.replace(upload.target)
        return self.paths

    def settle(self, report: IngestReport | None) -> None:
        """Keep each upload the ingest accepted; undo the others (all, when it raised)."""
        outcomes = {Path(o.path).resolve(): o for o in (report.files if report else [])}
        kept_earlier: set[Path] = set()
        for upload in self.staged:
            upload.partial.unlink(missing_ok=True)
            outcome = outcomes.get(upload.target)
            if outcome and outcome.status in ("added", "updated", "unchanged"):
                if upload.previous:
                    upload.previous.unlink(missing_ok=True)
                continue
            upload.target.unlink(missing_ok=True)
            if upload.previous:
                upload.previous.replace(upload.target)
                kept_earlier.add(upload.target)
        if report and kept_earlier:
            # Outcomes past the first thousand are not objects in memory: write anew.
            report.files = Outcomes(_kept_earlier(o, kept_earlier) for o in report.files)


def _kept_earlier(outcome: FileOutcome, targets: set[Path]) -> FileOutcome:
    if Path(outcome.path).resolve() in targets:
        outcome.notes.append("the earlier file of this name was kept")
    return outcome


def stage_uploads(
    folder: Path,
    files: Sequence[UploadedFile],
    limits: UploadLimits,
    user: str,
    indexed: Indexed | None = None,
) -> Placement:
    """Write uploads into ``folder`` under hidden temporary names; refuse the unfit ones.

    Args:
        folder: The collection's uploads folder.
        files: The uploads.
        limits: The size limit and the daily caps.
        user: Who uploads (for the caps).
        indexed: What the collection holds: an upload named like a document from
            elsewhere is kept under a marked name; one with a document's bytes is refused.

    Raises:
        UploadLimitError: ``user`` would pass a daily cap with these files.
    """
    from ingest.loaders import supported

    placement, fit = Placement(), []
    indexed = indexed or Indexed()
    for upload in files:
        try:
            target = upload_target(folder, upload.name, taken=indexed.elsewhere)
        except ValueError:
            placement.refused.append((upload.name, "the file name has no usable characters"))
            continue
        if not supported(target):
            reason = f"unsupported file type {target.suffix or '(none)'}"
            placement.refused.append((upload.name, reason))
        elif upload.size > limits.file_mb * _MB:
            reason = f"larger than the upload limit of {limits.file_mb} MB"
            placement.refused.append((upload.name, reason))
        else:
            fit.append((upload, target))
    # A twin counts toward the caps, as it did when the ingest itself skipped it.
    limits.reserve(user, len(fit), sum(upload.size for upload, _ in fit))
    for upload, target in fit:
        twin = indexed.contents.get(hashlib.sha256(upload.getvalue()).hexdigest())
        if twin is not None and twin != target.name:
            # Said as the ingest says it; the name is hidden from who may not read it.
            placement.refused.append((upload.name, f"same content as {twin}, {_INDEXED}"))
            continue
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        partial.write_bytes(upload.getvalue())
        placement.staged.append(Staged(target, partial))
    return placement


def forget_uploads(folder: Path, removed: Iterable[DocumentRecord]) -> None:
    """Delete our own copies of removed documents; files on shares are not ours."""
    uploads = folder.resolve()
    for record in removed:
        path = (Path(record.root) / record.source).resolve()
        if path.parent == uploads:
            path.unlink(missing_ok=True)


def safe_file_name(name: str) -> str:
    """A file name that is safe to write in a folder of ours, or "" if nothing is left.

    Only the last path component is kept (``../../etc/passwd`` becomes ``passwd``), both
    separators count, and characters outside letters, digits, ``._ -`` are replaced.
    """
    base = _base(name)
    cleaned = _UNSAFE_NAME.sub("_", base).strip(" .")
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and len(cleaned) > MAX_NAME:
        cleaned = stem[: MAX_NAME - len(suffix) - 1] + "." + suffix
    return cleaned[:MAX_NAME]


def _base(name: str) -> str:
    """The last path component of a name (both separators count), in NFC."""
    return unicodedata.normalize("NFC", re.split(r"[\\/]", name.replace("\0", ""))[-1])


def upload_target(folder: Path, name: str, taken: frozenset[str] = frozenset()) -> Path:
    """Where an uploaded file is written: ``folder/<safe name>``, never outside ``folder``.

    A name that had to be changed to be safe ("a&b.md", "a#b.md") gets a short mark of
    the name as it was ("a_b-1f0c2e.md"), so two uploads of different names never take
    each other's place; so does a name in ``taken`` (a document from elsewhere: a shared
    folder's "handbook.pdf" stays the only document of that name). The same name always
    lands in the same place (it replaces the earlier upload of that name).

    Raises:
        ValueError: The name has nothing usable left.
    """
    safe = safe_file_name(name)
    if not safe:
        raise ValueError(f"unusable file name {name!r}")
    if safe != _base(name) or safe in taken:
        mark = hashlib.sha256(_base(name).encode()).hexdigest()[:6]
        stem, dot, suffix = safe.rpartition(".")
        safe = f"{stem}-{mark}.{suffix}" if dot and stem else f"{safe}-{mark}"
    target = (folder / safe).resolve()
    if target.parent != folder.resolve():
        raise ValueError(f"unusable file name {name!r}")
    return target
