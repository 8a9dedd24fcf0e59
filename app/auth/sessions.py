"""Sign-in sessions kept on the server, so a reload or a second tab stays signed in.

The browser holds only a cookie: a random token and its HMAC-SHA256 signature under a
key of this installation (``<data_dir>/session.key``, 0600). The server keeps, per
session, the SHA-256 of the token with its user and times (``<data_dir>/sessions.json``,
0600), so a stolen sessions file opens nothing, and signing out deletes the entry:
the cookie then opens nothing either, wherever it was copied.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from app.auth.accounts import AccountError, Accounts, Session, SessionExpired, locked, read_json
from app.auth.accounts import write_private_json as _write


class SessionStore:
    """The open sessions of one installation.

    Args:
        folder: The data folder.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / "sessions.json"
        self.key_path = folder / "session.key"

    def _key(self) -> bytes:
        try:
            return self.key_path.read_bytes()
        except FileNotFoundError:
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            try:
                descriptor = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self.key_path.read_bytes()  # another process made it first
            with os.fdopen(descriptor, "wb") as file:
                file.write(key)
            return key

    def _sign(self, token: str) -> str:
        return hmac.new(self._key(), token.encode(), hashlib.sha256).hexdigest()

    def keep(self, session: Session) -> str:
        """Record ``session``; return the cookie value that resumes it."""
        now = datetime.now(UTC)
        with locked(self.path):
            rows = {
                digest: row
                for digest, row in read_json(self.path).items()
                if datetime.fromisoformat(str(row["expires_at"])) > now
            }
            rows[_digest(session.token)] = {
                "user": session.user.name,
                "issued_at": session.issued_at.isoformat(),
                "expires_at": session.expires_at.isoformat(),
            }
            _write(self.path, rows)
        return f"{session.token}.{self._sign(session.token)}"

    def resume(self, cookie: str, accounts: Accounts) -> Session:
        """The session a cookie value stands for, checked against the accounts file.

        Raises:
            SessionExpired: A forged or unknown cookie, an ended session, or an account
                changed since it began.
        """
        token, _, signature = cookie.partition(".")
        if not token or not hmac.compare_digest(signature, self._sign(token)):
            raise SessionExpired("Your session has ended.", hint="sign in again")
        row = read_json(self.path).get(_digest(token))
        if not isinstance(row, dict):
            raise SessionExpired("Your session has ended.", hint="sign in again")
        try:
            user = accounts.get(str(row["user"]))
        except AccountError:
            raise SessionExpired("Your session has ended.", hint="sign in again") from None
        session = Session(
            user,
            token,
            datetime.fromisoformat(str(row["issued_at"])),
            datetime.fromisoformat(str(row["expires_at"])),
        )
        accounts.resume(session)
        return session

    def end(self, token: str) -> None:
        """Forget a session: its cookie opens nothing from now on."""
        with locked(self.path):
            rows = read_json(self.path)
            if rows.pop(_digest(token), None) is not None:
                _write(self.path, rows)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
