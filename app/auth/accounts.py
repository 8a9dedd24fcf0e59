"""Local accounts: users with argon2 password hashes, roles, groups, and sign-in sessions.

Accounts live in one JSON file (``<data_dir>/users.json``), readable by its owner only
(0600) and replaced atomically (written beside it, fsynced, renamed), so a reader sees
the old file or the new one, never half of one. Writers take a lock file, so the CLI and
the UI can change accounts at the same time without losing an update. With ``state_url``
set, the same document is a row in PostgreSQL instead (``app.auth.state``).

A fresh install has no account and no default password: the first administrator is made
with ``docent users add NAME --admin``. Passwords are hashed with argon2id
(``argon2-cffi``'s ``PasswordHasher`` and its current parameters); a hash made with older
parameters is replaced on the next successful sign-in. Signing in as an unknown user
costs one argon2 verification too, against a hash of a random secret, so the time taken
does not tell which names exist.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.auth.state import JsonFile, StateDocument, document_of
from models.errors import DocentError

Role = Literal["admin", "user"]
ROLES: tuple[Role, ...] = ("admin", "user")
Source = Literal["local", "directory"]
Changed = TypeVar("Changed")
MIN_PASSWORD = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


class AccountError(DocentError):
    """An account operation cannot be done (unknown user, bad name, weak password)."""


class SignInError(AccountError):
    """Wrong user name or password; the message does not say which."""


class SessionExpired(AccountError):
    """A session is past its expiry, or its account was removed or changed since."""


@dataclass(frozen=True)
class User:
    """A person who signs in.

    Attributes:
        name: The sign-in name.
        role: ``admin`` (sees and manages everything) or ``user`` (sees what is granted).
        groups: Groups the user belongs to; grants to ``@group`` apply to its members.
        source: ``local`` (a password kept here) or ``directory`` (the site's LDAP
            directory checks the password and holds the groups; ``app.auth.directory``).
        disabled: The directory no longer has the person enabled (listed, never signed in).
    """

    name: str
    role: Role = "user"
    groups: tuple[str, ...] = ()
    source: Source = "local"
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    """A signed-in user for a limited time; the UI keeps it in ``st.session_state``.

    Attributes:
        user: Who signed in.
        token: A random identifier of this sign-in.
        issued_at: When the user signed in (UTC).
        expires_at: When the session ends (UTC).
    """

    user: User
    token: str
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def start(cls, user: User, lifetime: timedelta, now: datetime | None = None) -> Session:
        """A new session for ``user`` lasting ``lifetime`` from ``now`` (default: now)."""
        issued = now or datetime.now(UTC)
        return cls(user, secrets.token_urlsafe(32), issued, issued + lifetime)

    def valid(self, now: datetime | None = None) -> bool:
        """Whether the session is still open at ``now`` (default: now)."""
        moment = now or datetime.now(UTC)
        return self.issued_at <= moment < self.expires_at


def validate_name(name: str, what: str = "user name") -> str:
    """Return ``name`` if it is a valid user or group name, else raise ``AccountError``."""
    if not _NAME.fullmatch(name):
        raise AccountError(
            f"`{name}` is not a valid {what}.",
            hint="use 1-63 lowercase letters, digits, '.', '-' or '_', starting with a "
            "letter or digit (e.g. alice, legal-team)",
        )
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"The password is too short ({len(password)} characters).",
            hint=f"choose a password of at least {MIN_PASSWORD} characters",
        )


class Accounts:
    """The local accounts.

    Args:
        where: The JSON file (``<data_dir>/users.json``) or the state's ``users`` document.
        hasher: The argon2 hasher; default argon2-cffi's recommended parameters.
    """

    def __init__(self, where: Path | StateDocument, hasher: PasswordHasher | None = None) -> None:
        self.document = document_of(where)
        self.path = self.document.path if isinstance(self.document, JsonFile) else None
        self.hasher = hasher or PasswordHasher()
        self._decoy = ""

    def _rows(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.read().get("users", {}))

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Every account's row, stored when the block ends, no other change in between."""
        with self.document.change() as data:
            rows = dict(data.get("users", {}))
            yield rows
            data.clear()
            data.update({"version": 1, "users": rows})

    def _row(self, rows: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
        if name not in rows:
            raise AccountError(f"No user `{name}`.", hint="see `docent users list`")
        return rows[name]

    @staticmethod
    def _user(name: str, row: dict[str, Any]) -> User:
        role: Role = "admin" if row.get("role") == "admin" else "user"
        source: Source = "directory" if row.get("source") == "directory" else "local"
        groups = tuple(row.get("groups", ()))
        return User(name, role, groups, source, bool(row.get("disabled_at")))

    def _local(self, rows: dict[str, dict[str, Any]], name: str, what: str) -> dict[str, Any]:
        row = self._row(rows, name)
        if row.get("source") == "directory":
            raise AccountError(
                f"`{name}` signs in through the directory: its {what} are kept there.",
                hint="change them in the site's directory; `docent directory sync` brings "
                "the change here",
            )
        return row

    def is_local(self, name: str) -> bool:
        """Whether ``name`` is an account whose password Docent keeps (not the directory's)."""
        row = self._rows().get(name)
        return row is not None and row.get("source") != "directory"

    def update(self, change: Callable[[dict[str, dict[str, Any]]], Changed]) -> Changed:
        """Run ``change`` on every account's row under the lock, then save the rows."""
        with self._changing() as rows:
            changed = change(rows)
        return changed

    def add(
        self, name: str, password: str, *, role: Role = "user", groups: tuple[str, ...] = ()
    ) -> User:
        """Create an account.

        Raises:
            AccountError: The name is invalid or taken, or the password is too short.
        """
        validate_name(name)
        for group in groups:
            validate_name(group, "group name")
        _check_password(password)
        digest = self.hasher.hash(password)
        with self._changing() as rows:
            if name in rows:
                raise AccountError(
                    f"User `{name}` exists already.", hint=f"`docent users passwd {name}`"
                )
            rows[name] = {
                "hash": digest,
                "role": role,
                "groups": sorted(set(groups)),
                "created_at": now_text(),
                "changed_at": now_text(),
            }
        return self._user(name, rows[name])

    def created(self, name: str) -> datetime | None:
        """When the account ``name`` was made (None: made before accounts kept it).

        Raises:
            AccountError: There is no such account.
        """
        value = self._row(self._rows(), name).get("created_at")
        return datetime.fromisoformat(str(value)) if value else None

    def users(self) -> list[User]:
        """Every account, by name."""
        rows = self._rows()
        return [self._user(name, rows[name]) for name in sorted(rows)]

    def find(self, name: str) -> User:
        """The account ``name``, disabled or not (to remove it, say).

        Raises:
            AccountError: There is no such account.
        """
        return self._user(name, self._row(self._rows(), name))

    def get(self, name: str) -> User:
        """The account ``name``, if it may be used.

        Raises:
            AccountError: There is no such account, or the directory disabled it.
        """
        user = self.find(name)
        if user.disabled:
            raise AccountError(
                f"The account `{name}` is disabled in the directory.",
                hint="it works again once the directory enables it and the person signs in",
            )
        return user

    def edit(
        self, name: str, *, role: Role | None = None, groups: tuple[str, ...] | None = None
    ) -> User:
        """Change an account's role and/or groups (None leaves it as it is)."""
        for group in groups or ():
            validate_name(group, "group name")
        with self._changing() as rows:
            row = self._row(rows, name) if groups is None else self._local(rows, name, "groups")
            if role is not None:
                row["role"] = role
            if groups is not None:
                row["groups"] = sorted(set(groups))
            row["changed_at"] = now_text()
        return self._user(name, row)

    def passwd(self, name: str, password: str) -> None:
        """Set a new password; sessions signed in before the change end."""
        _check_password(password)
        digest = self.hasher.hash(password)
        with self._changing() as rows:
            row = self._local(rows, name, "password")
            row["hash"], row["changed_at"] = digest, now_text()

    def remove(self, name: str) -> None:
        """Delete an account.

        Raises:
            AccountError: There is no such account.
        """
        with self._changing() as rows:
            self._row(rows, name)
            del rows[name]

    def authenticate(self, name: str, password: str) -> User:
        """The user whose name and password these are.

        Raises:
            SignInError: Unknown user or wrong password (the same message, the same time).
        """
        decoy = self._decoy_hash()
        row = self._rows().get(name)
        if row is None:
            # Spend one verification on a decoy so unknown names cost what known ones do.
            self._verify(decoy, password)
            raise SignInError("Wrong user name or password.")
        if not self._verify(str(row.get("hash", "")), password):
            raise SignInError("Wrong user name or password.")
        if self.hasher.check_needs_rehash(row["hash"]):
            self._rehash(name, password)
        return self._user(name, row)

    def sign_in(self, name: str, password: str, lifetime: timedelta) -> Session:
        """Authenticate and open a session of ``lifetime``.

        Raises:
            SignInError: Unknown user or wrong password.
        """
        return Session.start(self.authenticate(name, password), lifetime)

    def resume(self, session: Session, now: datetime | None = None) -> User:
        """The session's user as the accounts file holds it now (role and groups current).

        Raises:
            SessionExpired: The session ended, or its account was removed or changed
                (password, role, groups) after it began: sign in again.
        """
        row = self._rows().get(session.user.name)
        changed = datetime.fromisoformat(str(row["changed_at"])) if row else None
        disabled = bool(row and row.get("disabled_at"))
        if not session.valid(now) or changed is None or changed > session.issued_at or disabled:
            raise SessionExpired("Your session has ended.", hint="sign in again")
        return self._user(session.user.name, row or {})

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self.hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _decoy_hash(self) -> str:
        if not self._decoy:
            self._decoy = self.hasher.hash(secrets.token_hex(16))
        return self._decoy

    def _rehash(self, name: str, password: str) -> None:
        with self._changing() as rows:
            if name in rows:
                rows[name]["hash"] = self.hasher.hash(password)


def now_text() -> str:
    """The time now (UTC) as the accounts file writes it."""
    return datetime.now(UTC).isoformat(timespec="microseconds")
