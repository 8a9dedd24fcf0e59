"""One writer at a time on an embedded index.

Chroma's embedded store is not built for two processes writing at once. The lock is an
``flock`` on a file in the index folder, so the kernel drops it when the holder dies
(even by SIGKILL) and a stale lock never blocks the next run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from models.errors import DocentError

LOCK_FILE = "docent-writer.lock"


class IndexLockedError(DocentError):
    """Another process is writing to the index."""


def take(path: Path) -> tuple[int | None, str]:
    """An exclusive, non-blocking ``flock`` on ``path`` (made if missing), this process's
    PID written in it: ``(descriptor, "")`` when taken, ``(None, holder's PID)`` when
    another holds it ("unknown" when it wrote none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        return None, holder
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd, ""


def give_back(fd: int) -> None:
    """Release a lock ``take`` gave: its PID wiped, the lock dropped, the file closed."""
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


class WriterLock:
    """An exclusive, non-blocking writer lock on an index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``IndexLockedError`` naming the holder's PID."""
        fd, holder = take(self.path)
        if fd is None:
            if holder == str(os.getpid()):
                # Another thread of this process (an upload or re-sync in another browser
                # session of the same UI server): stopping "that process" would stop this one.
                raise IndexLockedError(
                    f"The index at {self.path.parent} is locked by PID {holder} (this "
                    "Docent), which is writing to it for another task.",
                    hint="wait for the other upload or re-sync to finish, then try again",
                )
            raise IndexLockedError(
                f"The index at {self.path.parent} is locked by PID {holder}, "
                "which is writing to it.",
                hint="wait for that process to finish, or stop it",
            )
        self._fd = fd

    def release(self) -> None:
        """Release the lock if held."""
        if self._fd is not None:
            give_back(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
