"""Administration: who may read and add to which collection.

Part of ``app.api.Docent``; each change is audited here, whichever face asked for it.
"""

from __future__ import annotations

from app.auth.access import Grant
from app.auth.accounts import User
from app.auth.audit import actor
from app.parts import DocentParts


class Administration(DocentParts):
    """The administrators' operations of ``Docent``."""

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
