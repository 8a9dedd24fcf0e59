"""Administration: the accounts, who may read and add to which collection, API tokens, and
the site's directory.

Part of ``app.api.Docent``; each change is audited here, whichever face (or integrator)
asked for it. ``user`` None is the local administrator at the CLI.
"""

from __future__ import annotations

from datetime import timedelta

from app.auth.access import Grant
from app.auth.accounts import Role, User
from app.auth.audit import actor
from app.auth.directory import DirectoryError
from app.auth.directory_accounts import DirectorySync
from app.auth.tokens import ApiToken
from app.parts import DocentParts


class Administration(DocentParts):
    """The administrators' operations of ``Docent``.

    Each raises ``AccessError`` (audited) when ``user`` is not an administrator.
    """

    def add_user(
        self,
        name: str,
        password: str,
        *,
        role: Role = "user",
        groups: tuple[str, ...] = (),
        user: User | None = None,
    ) -> User:
        """Create the account ``name``.

        Raises:
            AccountError: The name is invalid or taken, or the password is too short.
        """
        self._require_admin(user, "add users")
        added = self.accounts.add(name, password, role=role, groups=groups)
        fields = {"name": name, "role": role, "groups": list(added.groups)}
        self.audit.append("user_add", actor(user), **fields)
        return added

    def edit_user(
        self,
        name: str,
        *,
        role: Role | None = None,
        groups: tuple[str, ...] | None = None,
        user: User | None = None,
    ) -> User:
        """Change the role and/or groups of ``name`` (None leaves it); their sessions end."""
        self._require_admin(user, "change users")
        edited = self.accounts.edit(name, role=role, groups=groups)
        fields = {"name": name, "role": edited.role, "groups": list(edited.groups)}
        self.audit.append("user_edit", actor(user), **fields)
        return edited

    def set_password(self, name: str, password: str, *, user: User | None = None) -> None:
        """Set a new password for ``name``; their open sessions end."""
        self._require_admin(user, "set passwords")
        self.accounts.passwd(name, password)
        self.audit.append("user_passwd", actor(user), name=name)

    def remove_user(self, name: str, *, user: User | None = None) -> list[Grant]:
        """Remove the account ``name``, its grants and its API tokens; return the grants it held.

        A later account of that name starts with none: no grant, and no token of the
        removed account acts as the new one.
        """
        self._require_admin(user, "remove users")
        self.accounts.remove(name)
        gone = self.grants.forget(name)
        revoked = self.gate.tokens.revoke_user(name)
        grants = [[g.collection, g.label] for g in gone]
        tokens = [token.id for token in revoked]
        self.audit.append("user_rm", actor(user), name=name, grants=grants, tokens=tokens)
        return gone

    def create_token(
        self, owner: str, name: str, lifetime: timedelta, *, user: User | None = None
    ) -> tuple[str, ApiToken]:
        """Make an API token acting as ``owner``; return its secret (shown once) and its row.

        An owner who signs in through the directory is looked up there first: a token is
        made only for a person it has enabled, with their groups as they are now.

        Raises:
            AccountError: ``owner`` is not an account (nor an enabled directory person).
            DirectoryUnavailable: The directory could not be asked.
        """
        self._require_admin(user, "create API tokens")
        directory = self.gate.directory
        if directory is not None and not self.accounts.is_local(owner):
            directory.refresh(owner)
        else:
            self.accounts.get(owner)
        secret, token = self.gate.tokens.create(owner, name, lifetime)
        expires = str(token.expires_at)
        self.audit.append(
            "token_create", actor(user), token=token.id, owner=owner, expires_at=expires
        )
        return secret, token

    def sync_directory(self, *, user: User | None = None) -> DirectorySync:
        """Mirror the directory's enabled people and their groups into the accounts (audited).

        Directory accounts it no longer has enabled are disabled: their sessions end and
        their API tokens are revoked.

        Raises:
            DirectoryError: No directory is configured.
            DirectoryUnavailable: The directory could not be asked (nothing changed).
        """
        self._require_admin(user, "sync the directory")
        directory = self.gate.directory
        if directory is None:
            raise DirectoryError(
                "No directory is configured.",
                hint="set `ldap_url`, `ldap_bind_dn` and `ldap_user_base` (README, "
                "Directory sign-in)",
            )
        return directory.sync(actor(user))

    def revoke_token(self, token_id: str, *, user: User | None = None) -> ApiToken:
        """Revoke an API token by its id; it stops at once."""
        self._require_admin(user, "revoke API tokens")
        token = self.gate.tokens.revoke(token_id)
        self.audit.append("token_revoke", actor(user), token=token.id, owner=token.user)
        return token

    def grant(
        self,
        principal: str,
        collection: str,
        label: str | None = None,
        *,
        write: bool = False,
        user: User | None = None,
    ) -> Grant:
        """Grant a user or ``@group`` a label of a collection (default: the collection's).

        ``write`` lets them add documents with that label too; without it they read only.

        Raises:
            AccountError: ``principal`` names a user who does not exist.
            AccessError: ``user`` is not an administrator.
        """
        self._require_admin(user, "grant access")
        if not principal.startswith("@"):
            self.accounts.get(principal)
        given = self.grants.grant(principal, collection, label, write=write)
        self.audit.append(
            "grant",
            actor(user),
            principal=principal,
            collection=collection,
            label=given.label,
            write=given.write,
        )
        return given

    def revoke(
        self, principal: str, collection: str, label: str | None = None, *, user: User | None = None
    ) -> list[Grant]:
        """Withdraw a grant (without ``label``: every label of the collection)."""
        self._require_admin(user, "revoke access")
        gone = self.grants.revoke(principal, collection, label)
        labels = [g.label for g in gone]
        self.audit.append(
            "revoke", actor(user), principal=principal, collection=collection, labels=labels
        )
        return gone
