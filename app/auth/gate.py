"""The way in: local accounts, sign-in sessions, and the audit log that records them.

Kept apart from ``Docent`` (which brings the index client and the models) so that what
the UI needs before anyone has signed in loads in a fraction of a second: the sign-in
page paints while the rest warms up in the background.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from app.auth.accounts import AccountError, Accounts, Session, SignInError
from app.auth.audit import AuditLog
from app.auth.sessions import SessionStore
from app.settings import Settings


class Gate:
    """Accounts, sessions and the audit log of one Docent installation.

    Args:
        settings: The settings (data folder, audit log path, session lifetime).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def accounts(self) -> Accounts:
        """The local accounts."""
        return Accounts(self.settings.accounts_path())

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log."""
        return AuditLog(self.settings.audit_path())

    @cached_property
    def sessions(self) -> SessionStore:
        """The open sessions, resumed from the browser's cookie."""
        return SessionStore(self.settings.accounts_path().parent)

    def sign_out(self, session: Session) -> None:
        """End ``session`` on the server (its cookie opens nothing after); audited."""
        self.sessions.end(session.token)
        self.audit.append("sign_out", session.user.name, ok=True)

    def sign_in(self, name: str, password: str) -> Session:
        """Check a name and password and open a session of ``session_minutes``; audited.

        Raises:
            SignInError: Unknown user or wrong password (one message for both).
        """
        lifetime = timedelta(minutes=self.settings.session_minutes)
        try:
            session = self.accounts.sign_in(name, password, lifetime)
        except SignInError:
            # The name is whatever was typed: bounded, so guessing cannot flood the log.
            self.audit.append("sign_in", name[:64], ok=False)
            raise
        self.audit.append("sign_in", name, ok=True, expires_at=session.expires_at.isoformat())
        return session

    def sign_in_verified(self, name: str, provider: str) -> Session:
        """Open a session for an identity a provider has verified (OIDC); audited.

        Args:
            name: The local account the identity maps to (its role and groups apply).
            provider: Who verified it, for the audit log (e.g. ``oidc:https://idp.example``).

        Raises:
            SignInError: No local account of that name.
        """
        lifetime = timedelta(minutes=self.settings.session_minutes)
        try:
            session = Session.start(self.accounts.get(name), lifetime)
        except AccountError:
            self.audit.append("sign_in", name[:64], ok=False, provider=provider)
            raise SignInError(
                f"No Docent account for `{name}`.",
                hint=f"an administrator creates it: `docent users add {name}`",
            ) from None
        self.audit.append("sign_in", name, ok=True, provider=provider)
        return session
