"""Directory people as Docent accounts: mirrored at each sign-in and by ``docent directory sync``.

A person of the directory is an account of ``source`` ``directory`` in the accounts file:
no password hash (the directory checks it), their directory groups as the account's
groups, their DN and stable id, and the role an administrator gave them (``user`` at
first). Every place that already trusts the accounts file (sessions, API tokens, grants
to ``@group``) therefore works for them unchanged.

A sign-in brings that one person's groups up to date. A sync does it for everyone the
user filter admits, and disables each directory account the directory no longer has
enabled: its sessions end (the account changed after they began) and its API tokens
are revoked. A disabled account keeps its grants and comes back at the person's next
sign-in or sync; a different entry that takes over the name (another id) is a new
account, with no grant and no token of the old one. A local account of the same name
wins: the directory's person of that name is left out and reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.auth.access import Grants
from app.auth.accounts import AccountError, Accounts, SignInError, User, now_text
from app.auth.audit import AuditTrail
from app.auth.directory import Directory, DirectoryPerson
from app.auth.state import StateStore
from app.auth.tokens import ApiTokens
from models.errors import DocentError

Rows = dict[str, dict[str, Any]]


@dataclass
class DirectoryChanges:
    """What a sign-in or sync changed in the accounts, by user name."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    local_kept: list[str] = field(default_factory=list)


@dataclass
class DirectorySync:
    """The outcome of ``docent directory sync`` (also its ``--json``)."""

    people: int
    groups: int
    seconds: float
    changes: DirectoryChanges
    tokens_revoked: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain data."""
        return asdict(self)


def _fresh(person: DirectoryPerson, now: str) -> dict[str, Any]:
    return {
        "source": "directory",
        "dn": person.dn,
        "directory_id": person.id,
        "role": "user",
        "groups": list(person.groups),
        "created_at": now,
        "changed_at": now,
    }


def mirror_rows(
    rows: Rows, people: Sequence[DirectoryPerson], *, complete: bool, now: str
) -> DirectoryChanges:
    """Bring the accounts' rows in line with ``people``.

    Args:
        rows: The accounts file's rows, changed in place.
        people: Enabled people as the directory holds them now.
        complete: ``people`` is everyone enabled: disable the directory accounts not in it.
        now: The time written on changed rows.
    """
    changes = DirectoryChanges()
    for person in people:
        row = rows.get(person.name)
        if row is None:
            rows[person.name] = _fresh(person, now)
            changes.added.append(person.name)
        elif row.get("source") != "directory":
            changes.local_kept.append(person.name)
        elif row.get("directory_id") != person.id:
            rows[person.name] = _fresh(person, now)
            changes.replaced.append(person.name)
        elif row.get("disabled_at") or (row.get("dn"), row.get("groups")) != (
            person.dn,
            list(person.groups),
        ):
            (changes.enabled if row.pop("disabled_at", None) else changes.changed).append(
                person.name
            )
            row.update(dn=person.dn, groups=list(person.groups), changed_at=now)
    if complete:
        enabled = {person.name for person in people}
        for name in [name for name in rows if name not in enabled]:
            changes.disabled += disable_row(rows, name, now).disabled
    return changes


def disable_row(rows: Rows, name: str, now: str) -> DirectoryChanges:
    """Disable the directory account ``name`` (the directory no longer has it enabled)."""
    changes = DirectoryChanges()
    row = rows.get(name)
    if row is not None and row.get("source") == "directory" and not row.get("disabled_at"):
        row["disabled_at"] = row["changed_at"] = now
        changes.disabled.append(name)
    return changes


class DirectoryAccounts:
    """The directory's people kept as accounts, and the files that follow from them.

    Args:
        directory: The site's directory.
        accounts: The accounts file.
        state: Where the grants and API tokens of replaced or disabled accounts live.
        audit: The audit log.
    """

    def __init__(
        self, directory: Directory, accounts: Accounts, state: StateStore, audit: AuditTrail
    ) -> None:
        self.directory = directory
        self.accounts = accounts
        self.grants = Grants(state.document("grants"))
        self.tokens = ApiTokens(state.document("tokens"))
        self.audit = audit

    def sign_in(self, name: str, password: str) -> User:
        """Check ``name`` and ``password`` with the directory and bring the account up to date.

        A person the directory does not have enabled has their account disabled here,
        whoever typed the name: the directory said so, the password did not matter.

        Raises:
            SignInError: Not an enabled person, or a wrong password (one message).
            DirectoryUnavailable: The directory could not be asked.
        """
        try:
            person = self.directory.authenticate(name, password)
        except SignInError:
            if not self._no_longer_enabled(name):
                raise
            self._settle(self.accounts.update(lambda rows: disable_row(rows, name, now_text())))
            raise
        if not self._owns(person, name):
            raise SignInError("Wrong user name or password.")
        self._mirror([person], complete=False)
        return self.accounts.get(name)

    def _owns(self, person: DirectoryPerson, name: str) -> bool:
        """Whether ``person`` is the account ``name``: their own name, and not a local one.

        An entry found by another of its names (a second ``uid``) must not open the
        account of its first, and no directory person may open a local account.
        """
        return person.name == name and not self.accounts.is_local(name)

    def _no_longer_enabled(self, name: str) -> bool:
        """Whether ``name`` is an enabled directory account the directory no longer admits."""
        try:
            known = self.accounts.get(name)
        except AccountError:
            return False
        return known.source == "directory" and self.directory.person(name) is None

    def refresh(self, name: str) -> User:
        """The directory account ``name`` as the directory holds it now (for a new token).

        Raises:
            AccountError: The directory has no enabled person of that name.
            DirectoryUnavailable: The directory could not be asked.
        """
        person = self.directory.person(name)
        if person is not None and not self._owns(person, name):
            raise AccountError(
                f"`{name}` is a local account or another name of a directory person.",
                hint="make the token for the person's own directory name",
            )
        if person is None:
            self._settle(self.accounts.update(lambda rows: disable_row(rows, name, now_text())))
            raise AccountError(
                f"The directory has no enabled person `{name}`.",
                hint="check the name, and that `ldap_user_filter` admits them",
            )
        self._mirror([person], complete=False)
        return self.accounts.get(name)

    def sync(self, actor: str) -> DirectorySync:
        """Mirror every enabled person of the directory, disabling the rest; audited.

        Raises:
            DirectoryUnavailable: The directory could not be asked (nothing changed).
        """
        started = time.perf_counter()
        try:
            people, groups = self.directory.people()
        except DocentError as error:
            self.audit.append("directory_sync", actor, ok=False, error=error.message)
            raise
        changes, revoked = self._mirror(people, complete=True)
        outcome = DirectorySync(
            len(people), groups, round(time.perf_counter() - started, 3), changes, revoked
        )
        self.audit.append("directory_sync", actor, ok=True, **outcome.to_dict())
        return outcome

    def _mirror(
        self, people: Sequence[DirectoryPerson], *, complete: bool
    ) -> tuple[DirectoryChanges, list[str]]:
        now = now_text()
        changes = self.accounts.update(
            lambda rows: mirror_rows(rows, people, complete=complete, now=now)
        )
        return changes, self._settle(changes)

    def _settle(self, changes: DirectoryChanges) -> list[str]:
        """Revoke the tokens of disabled and replaced accounts, forget the replaced' grants."""
        revoked = []
        for name in changes.replaced:
            self.grants.forget(name)
        for event, names in (("disable", changes.disabled), ("replace", changes.replaced)):
            for name in names:
                gone = [token.id for token in self.tokens.revoke_user(name)]
                revoked += gone
                self.audit.append(f"directory_{event}", "directory", name=name, tokens=gone)
        return revoked
