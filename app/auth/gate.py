"""The way in: local accounts, the site's directory, sign-in sessions, and the audit log.

Kept apart from ``Docent`` (which brings the index client and the models) so that what
the UI needs before anyone has signed in loads in a fraction of a second: the sign-in
page paints while the rest warms up in the background.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from app.auth.accounts import AccountError, Accounts, Session, SignInError
from app.auth.audit import AuditLog, AuditTrail
from app.auth.sessions import SessionStore
from app.auth.state import FileState, StateStore
from app.auth.tokens import ApiTokens
from app.settings import Settings

if TYPE_CHECKING:
    from app.auth.directory_accounts import DirectoryAccounts


class Gate:
    """Accounts, sessions and the audit log of one Docent installation.

    Args:
        settings: The settings (data folder, audit log path, session lifetime).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def state(self) -> StateStore:
        """Where accounts, grants, tokens and sessions live: files, or ``state_url``'s database."""
        if not self.settings.state_url:
            return FileState(self.settings.data_dir)
        from app.auth.state_postgres import PostgresState

        return PostgresState.shared(self.settings.state_url)

    @cached_property
    def accounts(self) -> Accounts:
        """The local accounts."""
        return Accounts(self.state.document("users"))

    @cached_property
    def tokens(self) -> ApiTokens:
        """The API tokens."""
        return ApiTokens(self.state.document("tokens"))

    @cached_property
    def audit(self) -> AuditTrail:
        """The audit chain: the ``audit_log`` file, or rows of ``state_url``'s database."""
        if not self.settings.state_url:
            return AuditLog(self.settings.audit_path())
        from app.auth.audit_postgres import PostgresAuditLog
        from app.auth.state_postgres import PostgresState

        return PostgresAuditLog(PostgresState.shared(self.settings.state_url))

    @cached_property
    def sessions(self) -> SessionStore:
        """The open sessions, resumed from the browser's cookie."""
        return SessionStore(self.state)

    @cached_property
    def directory(self) -> DirectoryAccounts | None:
        """The site's LDAP directory as accounts (None: ``ldap_url`` is not set)."""
        config = self.settings.directory_config()
        if config is None:
            return None
        from app.auth.directory import Directory
        from app.auth.directory_accounts import DirectoryAccounts

        return DirectoryAccounts(Directory(config), self.accounts, self.state, self.audit)

    def sign_out(self, session: Session) -> None:
        """End ``session`` on the server (its cookie opens nothing after); audited."""
        self.sessions.end(session.token)
        self.audit.append("sign_out", session.user.name, ok=True)

    def sign_in(self, name: str, password: str) -> Session:
        """Check a name and password and open a session of ``session_minutes``; audited.

        A local account's password is checked here, without asking the directory, so a
        local administrator signs in when the directory is down; any other name is
        checked by the directory, where one is configured.

        Raises:
            SignInError: Unknown user or wrong password (one message for both), or the
                directory could not be asked (``DirectoryUnavailable``).
        """
        lifetime = timedelta(minutes=self.settings.session_minutes)
        directory = None if self.accounts.is_local(name) else self.directory
        via = {"provider": "ldap"} if directory else {}
        try:
            if directory is None:
                session = self.accounts.sign_in(name, password, lifetime)
            else:
                session = Session.start(directory.sign_in(name, password), lifetime)
        except SignInError as error:
            # The name is whatever was typed: bounded, so guessing cannot flood the log.
            reason = {"reason": error.message} if directory else {}
            self.audit.append("sign_in", name[:64], ok=False, **via, **reason)
            raise
        expires = session.expires_at.isoformat()
        extra = {"groups": list(session.user.groups)} if directory else {}
        self.audit.append("sign_in", name, ok=True, expires_at=expires, **via, **extra)
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
