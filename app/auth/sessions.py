"""Sign-in sessions kept on the server, so a reload or a second tab stays signed in.

The browser holds only a cookie: a random token and its HMAC-SHA256 signature under a
key of this installation (``<data_dir>/session.key``, 0600). The server keeps, per
session, the SHA-256 of the token with its user and times (``<data_dir>/sessions.json``,
0600), so a stolen sessions file opens nothing, and signing out deletes the entry:
the cookie then opens nothing either, wherever it was copied. With ``state_url`` set, the
key and the sessions live in PostgreSQL instead (``app.auth.state``), so a sign-in opens
every replica and survives the loss of the one that made it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

from app.auth.accounts import AccountError, Accounts, Session, SessionExpired
from app.auth.state import FileState, StateStore


class SessionStore:
    """The open sessions of one installation.

    Args:
        state: The data folder, or the installation's state.
    """

    def __init__(self, state: Path | StateStore) -> None:
        self.state = FileState(state) if isinstance(state, Path) else state
        self.document = self.state.document("sessions")

    def _key(self) -> bytes:
        return self.state.secret("session")

    def _sign(self, token: str) -> str:
        return hmac.new(self._key(), token.encode(), hashlib.sha256).hexdigest()

    def keep(self, session: Session) -> str:
        """Record ``session``; return the cookie value that resumes it."""
        now = datetime.now(UTC)
        with self.document.change() as rows:
            for digest, row in list(rows.items()):
                if datetime.fromisoformat(str(row["expires_at"])) <= now:
                    del rows[digest]
            rows[_digest(session.token)] = {
                "user": session.user.name,
                "issued_at": session.issued_at.isoformat(),
                "expires_at": session.expires_at.isoformat(),
            }
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
        row = self.document.read().get(_digest(token))
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
        with self.document.change() as rows:
            rows.pop(_digest(token), None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
