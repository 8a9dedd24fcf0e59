"""The audit log's HMAC key, and the marker that says the log has one.

The key is 32 random bytes in ``<log>.key``, a file only the service account may read.
It is made by the first write to a log that has none (``docent`` at install, or the
first recorded action): written whole to a temporary file, fsynced, then linked into
place, so a full disk leaves no key rather than an empty one, and two processes
starting together agree on one (the second link fails and reads the first key).
Without the key nobody can recompute a record's hash, so a log rewritten whole (records
moved from one user to another, a record taken out and the chain mended) no longer
verifies.

Once a keyed record is in the log, ``<log>.keyed`` (mode 0600) records that, with the
key's id (a hash under the key, which tells nothing about it). With the marker present
a missing key, a different key, or a log with no keyed record fails verify, so
deleting the key and rewriting the log in the pre-key format no longer reads as an
older, intact log. The limit: whoever can write the log's folder as the service account
can delete the marker too; the marker turns a one-file forgery into a deliberate
two-file one, and only a checkpoint or the SIEM's copy kept elsewhere catches that.
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
_KEY_ID_LABEL = b"docent audit key id"


class AuditKeyError(DocentError):
    """The audit key is unusable (unreadable, or readable by others)."""


class DamagedKeyError(AuditKeyError):
    """The key file holds no key: empty or cut short (an older Docent's first write hit a
    full disk)."""


def key_path(log: Path) -> Path:
    """Where the key of the log ``log`` lives: beside it, ``<log>.key``."""
    return log.with_name(log.name + ".key")


def marker_path(log: Path) -> Path:
    """Where the mark that ``log`` has been keyed lives: ``<log>.keyed``."""
    return log.with_name(log.name + ".keyed")


def load_key(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no key file.

    Raises:
        DamagedKeyError: The file is empty or is not a key.
        AuditKeyError: The file is readable by other accounts or cannot be read.
    """
    text = _read_private(path, "audit key")
    if text is None:
        return None
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != _BYTES:
        raise DamagedKeyError(
            f"{path} is not an audit key.", hint="restore the key file from the backup"
        )
    return key


def create_key(path: Path) -> bytes:
    """Make the key file (mode 0600); if another process just made it, use that one."""
    key = secrets.token_bytes(_BYTES)
    if not _write_whole(path, key.hex().encode() + b"\n", replace=False):
        made = load_key(path)
        assert made is not None  # it exists: load_key returns it or raises
        return made
    return key


def key_id(key: bytes) -> str:
    """What the marker keeps of a key: enough to tell it from another, nothing more."""
    return mac(key, _KEY_ID_LABEL)


def read_marker(path: Path) -> str | None:
    """The key id the marker ``path`` names; None when the log was never marked keyed.

    A marker that is there but unreadable as one still says "keyed": it names no key.

    Raises:
        AuditKeyError: The marker is readable by other accounts or cannot be read.
    """
    text = _read_private(path, "audit key marker")
    if text is None:
        return None
    algorithm, _, identity = text.decode("ascii", "replace").partition(" ")
    return identity if algorithm == ALGORITHM else ""


def write_marker(path: Path, key: bytes) -> None:
    """Mark the log keyed with ``key`` (written whole, then renamed into place)."""
    _write_whole(path, f"{ALGORITHM} {key_id(key)}\n".encode(), replace=True)


def mac(key: bytes, body: bytes) -> str:
    """The keyed hash of a record's canonical form."""
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _read_private(path: Path, what: str) -> bytes | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AuditKeyError(
            f"Cannot read the {what} {path}: {error.strerror}.",
            hint="run Docent as the service account that owns the audit log",
        ) from None
    with os.fdopen(descriptor, "rb") as handle:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) & 0o077:
            raise AuditKeyError(
                f"The {what} {path} is readable by other accounts.",
                hint=f"chmod 600 {path}, and consider the log's earlier records exposed",
            )
        return handle.read().strip()


def _write_whole(path: Path, data: bytes, *, replace: bool) -> bool:
    """Put ``data`` at ``path`` all at once (mode 0600): written and fsynced beside it first.

    Returns:
        False when ``replace`` is off and ``path`` already exists (left as it is).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            written = 0
            while written < len(data):
                written += os.write(descriptor, data[written:])
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if replace:
            temporary.replace(path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                return False
        _sync_folder(path.parent)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
