"""The session cookie: set by a tiny endpoint, read by every page through ``st.context``.

Streamlit has no API to set a cookie, and script in the page cannot set an HTTP-only
one. So the cookie comes from an HTTP response of our own: after a sign-in, the page
holds a one-time code (random, valid for a minute) and a small script in the page posts
it to ``/docent/session`` (``app/ui/web.py``, served by the same process); the endpoint
answers with ``Set-Cookie: docent_session=...; HttpOnly; SameSite=Strict``. A reload or
a new tab then sends the cookie with the page's connection, where ``st.context.cookies``
reads it and the server-side session store resumes the session.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

COOKIE = "docent_session"
ENDPOINT = "/docent/session"
CODE_SECONDS = 60.0
# One-time codes of this process: code -> (cookie value, max age in s, valid until).
_CODES: dict[str, tuple[str, int, float]] = {}
_LOCK = threading.Lock()


def handoff(value: str, max_age: int) -> str:
    """A one-time code the page trades for the cookie ``value`` lasting ``max_age`` s."""
    code = secrets.token_urlsafe(24)
    with _LOCK:
        now = time.monotonic()
        for old in [c for c, (_, _, until) in _CODES.items() if until < now]:
            del _CODES[old]
        _CODES[code] = (value, max_age, now + CODE_SECONDS)
    return code


def redeem(code: str) -> tuple[str, int] | None:
    """The cookie value and max age for a code, once; None if unknown or too old."""
    with _LOCK:
        found = _CODES.pop(code, None)
    if found is None or found[2] < time.monotonic():
        return None
    return found[0], found[1]


def header(value: str, max_age: int, *, secure: bool) -> str:
    """The ``Set-Cookie`` header for the session cookie (``max_age`` 0 removes it)."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{flags}"


def script(code: str) -> str:
    """The page's script that trades ``code`` for the cookie (same origin, no reply read)."""
    body = json.dumps(code)
    return (
        "<script>fetch(" + json.dumps(ENDPOINT) + ", {method: 'POST', body: " + body + ", "
        "credentials: 'same-origin', headers: {'Content-Type': 'text/plain'}});</script>"
    )
