"""Where an ingest's files come from: the one interface local folders and SMB shares share.

The pipeline (``ingest.pipeline``) asks a source for its files (with their size and
mtime, the fast path of incremental sync), for a file's bytes as a local path the
isolated parser can read (with their sha256), and whether a registry row's file is still
there; the registry, the journal, relabelling, moves and pruning are the pipeline's, the
same for every source. ``ingest.scan.Folders`` reads local folders in place;
``ingest.smb.SmbShare`` copies each file it must parse into a private spool, one file at
a time, so no copy of the share is ever made.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models.errors import DocentError


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under an ingest root.

    Attributes:
        root: The ingest root, as registry rows name it (a folder, or an ``smb://`` address).
        path: Where the file is, as a person would find it (reports show it).
        source: Its path relative to the root, with ``/`` separators.
        size: Bytes.
        mtime_ns: Last write time.
        link: A symbolic link (listed, never followed).
        special: What it is when neither a regular file nor a folder ("" otherwise).
        ctime_ns: Changes with any write, even one that restores the mtime (0: not known).
        labels: The access labels its source's permissions give it (sorted; () when no
            mapped principal may read it); None when the run's labels apply.
    """

    root: str
    path: str
    source: str
    size: int
    mtime_ns: int
    link: bool = False
    special: str = ""
    ctime_ns: int = 0
    labels: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """The registry key: the file's identity within a collection."""
        return hashlib.sha256(f"{self.root}\0{self.source}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Readable:
    """A file's bytes where the parser can read them, and their sha256.

    Attributes:
        doc_id: sha256 of the bytes.
        path: A local file holding them (the file itself, or a spooled copy).
        spooled: ``path`` is a private copy, removed by ``discard``.
    """

    doc_id: str
    path: Path
    spooled: bool = False

    def discard(self) -> None:
        """Remove a spooled copy (nothing to do for a file read in place)."""
        if self.spooled:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class SourceUnavailable(DocentError):
    """The source went away during a run (a share stopped answering): the run stops.

    Nothing found so far is taken for gone, so no document is removed or changed by it.
    """


class Source(Protocol):
    """The files of an ingest run and their bytes (see the module docstring)."""

    def files(self) -> Iterator[SourceFile]:
        """Every file, one at a time (a second call walks again).

        Raises:
            SourceUnavailable: The source stopped answering.
        """
        ...

    def roots(self) -> set[str]:
        """The ingest roots whose registry rows name files that must be found (or are gone)."""
        ...

    def read(self, file: SourceFile) -> Readable:
        """The file's bytes for the parser, and their sha256.

        Raises:
            OSError: This file cannot be read (the run goes on).
            SourceUnavailable: The source stopped answering.
        """
        ...

    def exists(self, root: str, source: str) -> bool:
        """Whether the file of a registry row (maybe of another root) is still there."""
        ...

    def changed(self, file: SourceFile) -> bool:
        """Whether the file may have changed since ``read`` (its text must not be kept)."""
        ...

    def close(self) -> None:
        """Let go of connections and spooled copies."""
        ...
