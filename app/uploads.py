"""Uploaded files: where they are kept, which are refused, and their copies on removal.

One rule for every face that accepts uploads (the Library page, the HTTP API): the
supported types only, at most ``upload_max_mb`` each, under a safe name in
``<data_dir>/uploads/<collection>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

from app import present
from rag.types import DocumentRecord


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


def upload_folder(data_dir: Path, collection: str) -> Path:
    """The folder that keeps the uploads of ``collection`` (the name must be valid)."""
    return data_dir / "uploads" / collection


def save_uploads(
    folder: Path, files: Sequence[UploadedFile], limit_mb: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Write uploads into ``folder`` under safe names; return saved paths and refusals.

    A file replaces an earlier upload of the same name (the ingest then reports it
    updated). Each write goes to a temporary name first, so a stopped upload never
    leaves half a file where the index would read it.
    """
    from ingest.loaders import supported

    saved: list[Path] = []
    refused: list[tuple[str, str]] = []
    for upload in files:
        try:
            target = present.upload_target(folder, upload.name)
        except ValueError:
            refused.append((upload.name, "the file name has no usable characters"))
            continue
        if not supported(target):
            refused.append((upload.name, f"unsupported file type {target.suffix or '(none)'}"))
        elif upload.size > limit_mb * 1024 * 1024:
            refused.append((upload.name, f"larger than the upload limit of {limit_mb} MB"))
        else:
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            partial.write_bytes(upload.getvalue())
            partial.replace(target)
            saved.append(target)
    return saved, refused


def forget_uploads(folder: Path, removed: Iterable[DocumentRecord]) -> None:
    """Delete our own copies of removed documents; files on shares are not ours."""
    uploads = folder.resolve()
    for record in removed:
        path = (Path(record.root) / record.source).resolve()
        if path.parent == uploads:
            path.unlink(missing_ok=True)
