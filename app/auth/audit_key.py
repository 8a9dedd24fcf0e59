"""The audit log's HMAC key: 32 random bytes in a file only the service account may read.

The key is made by the first write to a log that has none (``docent`` at install, or the
first recorded action), with ``O_EXCL`` so two processes starting together agree on one.
Without it nobody can recompute a record's hash, so a log rewritten whole (records moved
from one user to another, a record taken out and the chain mended) no longer verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from models.errors import DocentError

ALGORITHM = "hmac-sha256"
_BYTES = 32


class AuditKeyError(DocentError):
    """The audit key is unusable (unreadable, or readable by others)."""


def key_path(log: Path) -> Path:
    """Where the key of the log ``log`` lives: beside it, ``<log>.key``."""
    return log.with_name(log.name + ".key")


def load_key(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no key file.

    Raises:
        AuditKeyError: The file is readable by other accounts, or is not a key.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AuditKeyError(
            f"Cannot read the audit key {path}: {error.strerror}.",
            hint="run Docent as the service account that owns the audit log",
        ) from None
    with os.fdopen(descriptor, "rb") as handle:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) & 0o077:
            raise AuditKeyError(
                f"The audit key {path} is readable by other accounts.",
                hint=f"chmod 600 {path}, and consider the log's earlier records exposed",
            )
        text = handle.read().strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != _BYTES:
        raise AuditKeyError(
            f"{path} is not an audit key.", hint="restore the key file from the backup"
        )
    return key


def create_key(path: Path) -> bytes:
    """Make the key file (mode 0600); if another process just made it, use that one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        key = load_key(path)
        assert key is not None  # it exists: load_key returns it or raises
        return key
    key = secrets.token_bytes(_BYTES)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.hex().encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def mac(key: bytes, body: bytes) -> str:
    """The keyed hash of a record's canonical form."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()
