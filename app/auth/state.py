"""Where the people-and-access state lives: accounts, grants, API tokens and sessions.

Each of those is one small document (a JSON object) changed by read-modify-write, plus
the sessions' signing key. ``StateStore`` is the one door to them, with two backends:

- ``FileState`` (``state_url`` empty, the default): ``<data_dir>/<name>.json`` files,
  0600, replaced atomically under a lock file, and ``<data_dir>/session.key``; one machine.
- ``PostgresState`` (``state_url = postgresql://...``, ``app.auth.state_postgres``): the
  same documents as rows of one table, each change a transaction holding the row's lock,
  so every replica sees the others' changes at once and none loses another's update.

A document stays the unit of change because each store's rules (a grant replacing the
one of the same key, a session ended by an account changed since) read the whole of it;
the documents are small (a site's people, not its documents).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from models.errors import DocentError

KEY_BYTES = 32


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock (``<path>.lock``) while a read-modify-write of ``path`` runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object stored at ``path``, or ``{}`` when the file does not exist yet.

    Raises:
        DocentError: The file exists but cannot be read as JSON.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise DocentError(
            f"Cannot read {path}: {error}.", hint="restore the file from a backup"
        ) from None
    return data if isinstance(data, dict) else {}


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``data``, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o600)
            json.dump(data, file, indent=1, sort_keys=True)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class StateDocument(Protocol):
    """One document of the state (the accounts, the grants, the tokens or the sessions)."""

    def read(self) -> dict[str, Any]:
        """The document as stored now (``{}`` before its first change)."""
        ...

    def change(self) -> AbstractContextManager[dict[str, Any]]:
        """The document to change in place; stored when the block ends without an error.

        No other change of the same document runs between the read and the store.
        """
        ...


class StateStore(Protocol):
    """The state of one installation, one backend."""

    def document(self, name: str) -> StateDocument:
        """The document ``name`` (``users``, ``grants``, ``tokens``, ``sessions``)."""
        ...

    def secret(self, name: str) -> bytes:
        """The random key ``name``, made on first use and the same for every reader after."""
        ...


class JsonFile:
    """A document kept in one JSON file (0600, replaced atomically, changed under a lock).

    Args:
        path: The file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        """The file's object, or ``{}`` when it does not exist yet."""
        return read_json(self.path)

    @contextlib.contextmanager
    def change(self) -> Iterator[dict[str, Any]]:
        """The file's object under the lock; rewritten at the end only if it changed."""
        with locked(self.path):
            data = read_json(self.path)
            before = copy.deepcopy(data)
            yield data
            if data != before:
                write_private_json(self.path, data)


class FileState:
    """The state as files in the data folder, as a single machine keeps it.

    Args:
        folder: The data folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def document(self, name: str) -> JsonFile:
        """``<folder>/<name>.json``."""
        return JsonFile(self.folder / f"{name}.json")

    def secret(self, name: str) -> bytes:
        """``<folder>/<name>.key`` (0600), made by whichever process asks first."""
        path = self.folder / f"{name}.key"
        try:
            return path.read_bytes()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(KEY_BYTES)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_bytes()  # another process made it first
            with os.fdopen(descriptor, "wb") as file:
                file.write(key)
            return key


def document_of(where: Path | StateDocument) -> StateDocument:
    """A store's document: a path stands for the JSON file at it."""
    return JsonFile(where) if isinstance(where, Path) else where
