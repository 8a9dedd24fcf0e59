"""Who is calling, how often, and how much: token checks, the rate limit, body limits, audit.

Every route but the liveness and readiness probes and the API's own description
(``/healthz``, ``/readyz``, ``/openapi.json``, ``/docs``, which hold no documents)
requires ``Authorization: Bearer <token>``. The token acts as its user as the accounts
file holds them now, so a removed account or a revoked token stops at the next request.

The token is checked at the door (``Guard``), before a byte of the body is read: a
client without a valid token cannot make the server read a 50 MB upload or hold a
connection open by sending one slowly. Requests refused at the door (401, 429) are
audited folded: the first of a client's in a minute, then one record with how many
followed, so a client sending bad tokens in a loop cannot fill the disk with the log.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app.auth.accounts import AccountError, User
from app.auth.audit import AuditTrail
from app.auth.tokens import ApiToken, ApiTokens, TokenError
from app.http.errors import ApiError, body, response, status_of
from models.errors import DocentError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs"})
_FOLD_SECONDS = 60.0  # refusals of one client folded into one record per window
_FOLD_CLIENTS = 1000  # clients followed at once; past this, all others share one record


@dataclass(frozen=True)
class Caller:
    """The user a request acts as, and the token it came with."""

    user: User
    token: ApiToken


class Limit(Protocol):
    """Requests counted per API token: in process, or in Redis shared by replicas."""

    def take(self, key: str) -> None:
        """Spend one request of ``key``, or raise ``ApiError`` (429) when none is left."""
        ...


class RateLimit:
    """A token bucket per API token: ``per_minute`` requests, refilled evenly.

    Args:
        per_minute: Requests allowed per minute (also the burst).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one request of ``key``.

        Raises:
            ApiError: 429 with ``Retry-After`` when the bucket is empty.
        """
        with self._lock:
            now = self.clock()
            level, since = self._buckets.get(key, (self.capacity, now))
            level = min(self.capacity, level + (now - since) * self.refill)
            if level < 1.0:
                self._buckets[key] = (level, now)
                wait = math.ceil((1.0 - level) / self.refill)
                raise ApiError(
                    429,
                    "Too many requests with this API token.",
                    hint=f"wait {wait} s, or ask for a higher `api_rate_per_minute`",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (level - 1.0, now)


class Authenticator:
    """Turns the ``Authorization`` header into a ``Caller`` (a FastAPI dependency)."""

    def __init__(self, tokens: ApiTokens, accounts: Any, limit: Limit) -> None:
        self.tokens = tokens
        self.accounts = accounts
        self.limit = limit

    def __call__(self, request: Request) -> Caller:
        """The request's caller.

        Raises:
            TokenError: No token, or not a valid one, or its account is gone (401).
            ApiError: The token's rate limit is spent (429).
        """
        scheme, _, secret = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise TokenError(
                "This request needs an API token (Authorization: Bearer <token>).",
                hint="an administrator makes one: `docent tokens create USER`",
            )
        token = self.tokens.verify(secret.strip())
        gone = TokenError(
            "The API token's account no longer exists.",
            hint="ask an administrator for a new one: `docent tokens create USER`",
        )
        try:
            user = self.accounts.get(token.user)
            created = self.accounts.created(token.user)
        except AccountError:
            raise gone from None
        # A token older than its account was made for an earlier account of that name.
        if created is not None and token.created_at < created:
            raise gone
        request.scope.setdefault("docent", {})["caller"] = f"{user.name}"
        request.scope["docent"]["token"] = token.id
        self.limit.take(token.id)
        return Caller(user, token)


# Declares the Bearer scheme in the OpenAPI document; the Authenticator reads the header.
_BEARER = HTTPBearer(
    scheme_name="Bearer",
    description="An API token: `docent tokens create USER` prints one.",
    auto_error=False,
)


def current_caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
) -> Caller:
    """The request's caller, as the ``Guard`` found it at the door (a dependency)."""
    found: Caller | None = request.scope.get("docent", {}).get("who")
    if found is not None:
        return found
    authenticator: Authenticator = request.app.state.auth
    return authenticator(request)


Who = Annotated[Caller, Depends(current_caller)]


class RefusalLog:
    """The ``api`` records of requests refused at the door, folded per client and window.

    The first refusal of a client (address, user, status) is written at once; the ones
    that follow within ``window`` seconds are counted and written as one record with
    ``repeated`` when the window has passed (at the next request) or the server stops.

    Args:
        audit: The audit log.
        window: Seconds one folded record covers.
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        audit: AuditTrail,
        window: float = _FOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.audit = audit
        self.window = window
        self.clock = clock
        self._open: dict[tuple[str, str, int], list[Any]] = {}  # key -> [start, count, fields]
        self._lock = threading.Lock()

    def refused(self, client: str, user: str, status: int, fields: dict[str, Any]) -> None:
        """Record a refusal: written if it is the client's first in the window, else counted."""
        key = (client, user, status)
        with self._lock:
            if key not in self._open and len(self._open) >= _FOLD_CLIENTS:
                key = ("others", "anonymous", status)
            fold = self._open.get(key)
            if fold is not None:
                fold[1] += 1
                return
            self._open[key] = [self.clock(), 0, fields]
        self.audit.append("api", key[1], client=key[0], status=status, **fields)

    def flush(self, *, everything: bool = False) -> None:
        """Write the folded records whose window has passed (all of them at shutdown)."""
        now = self.clock()
        with self._lock:
            due = [k for k, f in self._open.items() if everything or now - f[0] >= self.window]
            folds = [(k, self._open.pop(k)) for k in due]
        for (client, user, status), (start, count, fields) in folds:
            if count:
                over = {"repeated": count, "seconds": round(now - start, 1)}
                self.audit.append("api", user, client=client, status=status, **over, **fields)


class Guard:
    """ASGI middleware: the token checked and oversized bodies refused before the app reads
    a body; one ``api`` audit record per request (probes aside, refusals folded).

    Args:
        app: The application.
        audit: The audit log.
        auth: Who a request's token is.
        max_body: Largest body, in bytes, outside uploads.
        max_upload: Largest body of an upload request.
    """

    def __init__(
        self, app: ASGIApp, audit: AuditTrail, auth: Authenticator, max_body: int, max_upload: int
    ) -> None:
        self.app = app
        self.audit = audit
        self.auth = auth
        self.refusals = RefusalLog(audit)
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.refusals.flush()
        if scope["path"] not in PUBLIC:
            refused = await run_in_threadpool(self._authenticate, scope)
            if refused is not None:
                await response(refused)(scope, receive, send)
                self._record(scope, status_of(refused))
                return
        uploads = scope["method"] == "POST" and scope["path"].endswith("/documents")
        limit = self.max_upload if uploads else self.max_body
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            return
        if not declared and scope["method"] in {"POST", "PUT", "PATCH"}:
            # A body of unknown length is read first, up to the limit, then replayed.
            buffered = await _read_upto(receive, limit)
            if buffered is None:
                await _refuse(send, limit)
                return
            receive = _replay(buffered, receive)
        status = [0]

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if scope["path"] not in PUBLIC:
                self._record(scope, status[0])

    def _authenticate(self, scope: Scope) -> DocentError | None:
        """Find the caller (kept in the scope for the routes), or the refusal."""
        try:
            scope.setdefault("docent", {})["who"] = self.auth(Request(scope))
        except DocentError as error:
            return error
        return None

    def _closing(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"].startswith("lifespan.shutdown"):
                self.refusals.flush(everything=True)
            await send(message)

        return closing

    def _record(self, scope: Scope, status: int) -> None:
        seen = scope.get("docent", {})
        user = seen.get("caller", "anonymous")
        fields = {"method": scope["method"], "path": scope["path"][:300]}
        if status in {401, 429}:
            client = (scope.get("client") or ("unknown",))[0]
            self.refusals.refused(client, user, status, fields | {"token": seen.get("token", "")})
            return
        self.audit.append("api", user, **fields, status=status, token=seen.get("token", ""))


async def _read_upto(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it grows past ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(data: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    return replayed


def _too_large(limit: int) -> str:
    return f"The request body is larger than the limit of {limit // 1024} KB."


async def _refuse(send: Send, limit: int) -> None:
    import json

    error = ApiError(413, _too_large(limit), "send a smaller request")
    payload = json.dumps(body(error, 413)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
