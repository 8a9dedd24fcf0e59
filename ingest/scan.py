"""Finding the files of an ingest run."""

from __future__ import annotations

import os
import stat as statmode
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.source import Readable, SourceFile
from models.errors import DocentError
from models.weights import sha256_file


class Folders:
    """Local folders and files as an ingest's source (``ingest.source.Source``).

    Files are read in place: the parser reads the file itself, and a file written to
    while it was read is read again at the next run (``changed``).

    Args:
        paths: Folders (ingest roots) and files.

    Raises:
        DocentError: A path does not exist.
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        scan(paths)  # every path must exist before anything is opened
        self.paths = list(paths)

    def files(self) -> Iterator[SourceFile]:
        """Every file under the paths (see ``scan``)."""
        return scan(self.paths)

    def roots(self) -> set[str]:
        """The folders among the paths."""
        return roots(self.paths)

    def read(self, file: SourceFile) -> Readable:
        """The file in place and its sha256."""
        path = Path(file.path)
        return Readable(sha256_file(path), path)

    def exists(self, root: str, source: str) -> bool:
        """Whether a registry row's file is on disk."""
        return (Path(root) / source).exists()

    def changed(self, file: SourceFile) -> bool:
        """Whether the file was written to since it was found (so maybe since it was hashed):
        its size, mtime or ctime moved. The ctime moves with any write, also one that puts
        the old mtime back, and no one can set it."""
        try:
            now = Path(file.path).stat()
        except OSError:
            return True
        if (now.st_size, now.st_mtime_ns) != (file.size, file.mtime_ns):
            return True
        return bool(file.ctime_ns) and now.st_ctime_ns != file.ctime_ns

    def close(self) -> None:
        """Nothing is held."""


def scan(paths: Sequence[Path]) -> Iterator[SourceFile]:
    """Every file under the given paths, skipping hidden files and folders, one at a time.

    A folder is an ingest root; a single file's root is its folder. Symbolic links, to
    files or to folders, are listed (and later skipped with the reason), never followed:
    a link can lead outside the share that was meant to be indexed, or round in a loop.
    Named pipes, sockets and devices are listed with their kind in ``special`` (and
    skipped with it): reading one could block the run or never end.

    The files are found as they are asked for (a folder's listing at a time), so a share
    of 100k files is never held in memory; every path is checked before the first file.

    Raises:
        DocentError: A path does not exist.
    """
    for given in paths:
        if not given.exists():
            raise DocentError(f"{given} does not exist.", hint="check the path and try again")
    return _found(list(paths))


def _found(paths: list[Path]) -> Iterator[SourceFile]:
    # Paths as text while walking: a share's 100k files would otherwise pay pathlib's
    # parsing three times each (join, relative_to, the Path itself).
    for given in paths:
        resolved = given.resolve()
        root = str(resolved if resolved.is_dir() else resolved.parent)
        prefix = os.path.join(root, "")
        for name in _walk(str(resolved)):
            stat = os.lstat(name)
            link = statmode.S_ISLNK(stat.st_mode)
            kind = "" if link else _special_kind(stat.st_mode)
            source = name[len(prefix) :]
            yield SourceFile(
                root,
                name,
                source,
                stat.st_size,
                stat.st_mtime_ns,
                link,
                kind,
                stat.st_ctime_ns,
            )


def roots(paths: Sequence[Path]) -> set[str]:
    """The ingest roots among the paths (their folders), as registry rows name them."""
    return {str(p.resolve()) for p in paths if p.is_dir()}


def _special_kind(mode: int) -> str:
    """What a file that is neither regular nor a folder is ("" for a regular file)."""
    kinds = (
        (statmode.S_ISFIFO, "named pipe (FIFO)"),
        (statmode.S_ISSOCK, "socket"),
        (statmode.S_ISCHR, "character device"),
        (statmode.S_ISBLK, "block device"),
    )
    return next((name for test, name in kinds if test(mode)), "")


def _walk(path: str) -> Iterator[str]:
    if not os.path.isdir(path):
        yield path
        return
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # A link to a folder (a loop back up the share, or a way out of it) is not walked:
        # listed like a linked file, so the report says it was skipped and why.
        linked = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        yield from (os.path.join(folder, d) for d in linked)
        dirs[:] = [d for d in dirs if d not in linked]
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(folder, name)
