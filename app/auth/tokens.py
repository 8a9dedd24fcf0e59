"""API tokens: per-user bearer tokens for the HTTP API, shown once, stored as hashes.

A token reads ``dct_<id>_<secret>``: ``id`` (12 hex digits) names it in listings, the
audit log and ``docent tokens revoke``; ``secret`` is 32 random bytes. The tokens file
(``<data_dir>/tokens.json``, 0600, replaced atomically like the accounts file, or its row
in PostgreSQL with ``state_url`` set) keeps
only the sha256 of the whole token, its user, name, and times. A plain hash is enough
here, unlike for passwords: the secret is random and long, so there is nothing to guess
and no need for a slow hash on every request.

A token acts as its user as the accounts file holds them at each request (current role
and groups); removing the account or revoking the token ends it at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.auth.state import StateDocument, document_of
from models.errors import DocentError

PREFIX = "dct_"
_SHAPE = re.compile(r"^dct_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


class TokenError(DocentError):
    """A token is unknown, malformed, revoked or expired (one message for all)."""


@dataclass(frozen=True)
class ApiToken:
    """One token as the file keeps it (never the secret).

    Attributes:
        id: The public part of the token, for listings and revocation.
        user: The account the token acts as.
        name: What the token is for, as its creator wrote (``ticket-system``).
        created_at: When it was made (UTC).
        expires_at: When it stops working (UTC).
        revoked_at: When it was revoked, or None.
    """

    id: str
    user: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Whether the token opens requests at ``now``."""
        return self.revoked_at is None and self.created_at <= now < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        """The token's row as plain data (``docent tokens list --json``)."""
        data = asdict(self)
        for key in ("created_at", "expires_at", "revoked_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


class ApiTokens:
    """The API tokens.

    Args:
        where: The JSON file (``<data_dir>/tokens.json``) or the state's ``tokens`` document.
    """

    def __init__(self, where: Path | StateDocument) -> None:
        self.document = document_of(where)

    def _rows(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.read().get("tokens", {}))

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Every token's row, stored when the block ends, no other change in between."""
        with self.document.change() as data:
            rows = dict(data.get("tokens", {}))
            yield rows
            data.clear()
            data.update({"version": 1, "tokens": rows})

    @staticmethod
    def _token(token_id: str, row: dict[str, Any]) -> ApiToken:
        created, expires = _when(row["created_at"]), _when(row["expires_at"])
        assert created is not None and expires is not None
        revoked = _when(row.get("revoked_at"))
        return ApiToken(token_id, str(row["user"]), str(row["name"]), created, expires, revoked)

    def create(
        self, user: str, name: str, lifetime: timedelta, now: datetime | None = None
    ) -> tuple[str, ApiToken]:
        """Make a token for ``user``; return the secret (shown once) and its row."""
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise TokenError(
                f"`{name}` is not a usable token name.",
                hint="use 1-64 printable characters (e.g. ticket-system)",
            )
        created = now or datetime.now(UTC)
        token_id = secrets.token_hex(6)
        secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        row = {
            "user": user,
            "name": name,
            "sha256": _digest(secret),
            "created_at": created.isoformat(),
            "expires_at": (created + lifetime).isoformat(),
            "revoked_at": None,
        }
        with self._changing() as rows:
            rows[token_id] = row
        return secret, self._token(token_id, row)

    def tokens(self, user: str | None = None) -> list[ApiToken]:
        """Every token (of ``user`` only, if given), oldest first."""
        rows = self._rows()
        found = [self._token(i, r) for i, r in rows.items() if user in (None, r["user"])]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def revoke(self, token_id: str, now: datetime | None = None) -> ApiToken:
        """Revoke a token by its id; revoking twice keeps the first time.

        Raises:
            TokenError: No token has that id.
        """
        with self._changing() as rows:
            if token_id not in rows:
                raise TokenError(f"No API token `{token_id}`.", hint="see `docent tokens list`")
            row = rows[token_id]
            row["revoked_at"] = row.get("revoked_at") or (now or datetime.now(UTC)).isoformat()
        return self._token(token_id, row)

    def revoke_user(self, user: str, now: datetime | None = None) -> list[ApiToken]:
        """Revoke every token that acts as ``user`` (their account is gone); return them."""
        when = (now or datetime.now(UTC)).isoformat()
        with self._changing() as rows:
            mine = [
                i for i, row in rows.items() if row["user"] == user and not row.get("revoked_at")
            ]
            for token_id in mine:
                rows[token_id]["revoked_at"] = when
        return [self._token(token_id, rows[token_id]) for token_id in mine]

    def verify(self, secret: str, now: datetime | None = None) -> ApiToken:
        """The token whose secret this is, if it is usable now.

        Raises:
            TokenError: Malformed, unknown, revoked or expired (the same message).
        """
        refused = TokenError(
            "The API token is not valid (unknown, revoked or expired).",
            hint="ask an administrator for a new one: `docent tokens create USER`",
        )
        shape = _SHAPE.fullmatch(secret)
        row = self._rows().get(shape.group(1)) if shape else None
        # Compared in constant time, so timing says nothing about how much matched.
        if row is None or not hmac.compare_digest(str(row.get("sha256", "")), _digest(secret)):
            raise refused
        token = self._token(shape.group(1) if shape else "", row)
        if not token.usable(now or datetime.now(UTC)):
            raise refused
        return token
