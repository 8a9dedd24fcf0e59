"""The served app: Streamlit's pages (``main.py``) plus the endpoint that sets the cookie.

``streamlit run app/ui/web.py`` finds the ``App`` below and serves it with Starlette;
the one route of our own trades a sign-in's one-time code for the HTTP-only session
cookie (``app.ui.cookies``). Everything else is Streamlit's.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit.starlette import App

from app.ui import cookies


async def session_cookie(request: Request) -> Response:
    """Answer a valid one-time code with the session cookie; anything else with 403."""
    code = (await request.body())[:200].decode(errors="replace")
    found = cookies.redeem(code)
    if found is None:
        return Response(status_code=403)
    value, max_age = found
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    headers = {
        "Set-Cookie": cookies.header(value, max_age, secure=secure),
        "Cache-Control": "no-store",
    }
    return Response(status_code=204, headers=headers)


app = App(
    str(Path(__file__).resolve().parent / "main.py"),
    routes=[Route(cookies.ENDPOINT, session_cookie, methods=["POST"])],
)
