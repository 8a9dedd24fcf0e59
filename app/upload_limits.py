"""Caps on uploads per user and day, so no one account can fill the disk.

What each user uploaded today (files and bytes, UTC day) is kept in a small JSON file
beside the uploads, changed under an exclusive ``flock`` and replaced atomically, so the
UI and the API processes count together. Uploads are counted when they are written,
whether or not the ingest keeps them: the disk filled either way.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from models.errors import DocentError

_MB = 1024 * 1024


class UploadLimitError(DocentError):
    """An upload would pass a user's daily cap."""


@dataclass(frozen=True)
class UploadLimits:
    """The caps, and the file that counts against them.

    Attributes:
        file_mb: Largest single file (``upload_max_mb``).
        daily_mb: Megabytes one user may upload per UTC day (``upload_daily_mb``).
        daily_files: Files one user may upload per UTC day (``upload_daily_files``).
        ledger: The JSON file of today's counts.
    """

    file_mb: int
    daily_mb: int
    daily_files: int
    ledger: Path

    def reserve(self, user: str, files: int, size: int) -> None:
        """Count ``files`` of ``size`` bytes for ``user`` today, or refuse them all.

        Raises:
            UploadLimitError: They would pass the day's file count or bytes.
        """
        if not files:
            return
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            day = datetime.now(UTC).date().isoformat()
            counts = self._read(day)
            done_files, done_bytes = counts.get(user, [0, 0])
            self._check(user, done_files + files, done_bytes + size, done_bytes)
            counts[user] = [done_files + files, done_bytes + size]
            scratch = self.ledger.with_suffix(".tmp")
            scratch.write_text(json.dumps({"day": day, "users": counts}), encoding="utf-8")
            scratch.replace(self.ledger)

    def _read(self, day: str) -> dict[str, list[int]]:
        try:
            data = json.loads(self.ledger.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("day") != day:
            return {}  # a new day starts from nothing
        users = data.get("users")
        return dict(users) if isinstance(users, dict) else {}

    def _check(self, user: str, files: int, size: int, before: int) -> None:
        hint = "try again tomorrow (UTC), or ask an administrator to raise `upload_daily_{}`"
        if files > self.daily_files:
            raise UploadLimitError(
                f"{user} may upload {self.daily_files} files a day; these would make {files}.",
                hint=hint.format("files"),
            )
        if size > self.daily_mb * _MB:
            raise UploadLimitError(
                f"{user} may upload {self.daily_mb} MB a day and has uploaded "
                f"{before / _MB:.1f} MB today; these files would make {size / _MB:.1f} MB.",
                hint=hint.format("mb"),
            )
