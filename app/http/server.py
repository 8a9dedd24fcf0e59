"""The HTTP server: the FastAPI application, its probes and docs page, and ``serve``.

FastAPI on uvicorn: the ecosystem's standard pair, typed request bodies with an OpenAPI
schema for free. FastAPI's own ``/docs`` loads Swagger UI from a CDN, which an
air-gapped site cannot reach and Docent must not call; here ``/docs`` is a plain page
written from the schema on the server, with no script and no outside address.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from app.http import answers, errors, openai_compat, rest
from app.http.jobs import Jobs
from app.http.security import Authenticator, Guard, Limit, RateLimit
from models.errors import DocentError

if TYPE_CHECKING:
    from app.api import Docent

log = logging.getLogger("docent.http")
_READY_SECONDS = 10.0


def create_app(docent: Docent) -> FastAPI:
    """The API application over ``docent`` (one per process, like the UI's)."""
    settings = docent.settings
    app = FastAPI(
        title="Docent API",
        version="1",
        description="Cited answers and summaries from your own documents. Every route "
        "but /healthz, /readyz, /docs and /openapi.json needs `Authorization: Bearer "
        "<token>` (`docent tokens create USER`).",
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    limit: Limit = RateLimit(settings.api_rate_per_minute)
    if settings.redis_url:
        from app.http.rate_redis import RedisRateLimit

        limit = RedisRateLimit(settings.redis_url, settings.api_rate_per_minute)
    auth = Authenticator(docent.gate.tokens, docent.accounts, limit)
    jobs = Jobs(docent)
    app.include_router(rest.router(docent, jobs))
    app.include_router(answers.router(docent))
    app.include_router(openai_compat.router(docent))
    _probes(app, docent)
    app.state.docent, app.state.jobs, app.state.auth = docent, jobs, auth
    # Multipart overhead aside, one request carries at most the upload limit.
    upload_bytes = settings.upload_max_mb * 1024 * 1024 + 64 * 1024
    app.add_middleware(
        Guard,  # type: ignore[arg-type]
        audit=docent.audit,
        auth=auth,
        max_body=settings.api_max_body_kb * 1024,
        max_upload=upload_bytes,
    )
    return app


def _probes(app: FastAPI, docent: Docent) -> None:
    readiness = Readiness(docent)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        checks = readiness.check()
        ready = all(checks.values())
        content = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(content, status_code=200 if ready else 503)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.openapi()))


class Readiness:
    """Whether the index answers and the chat model can answer, checked at most every 10 s.

    Anyone may ask (a load balancer has no token), so only yes or no is told; what is
    wrong goes to the server log, with its fix.
    """

    def __init__(self, docent: Docent) -> None:
        self.docent = docent
        self._checked = 0.0
        self._last: dict[str, bool] = {}
        self._lock = threading.Lock()

    def check(self) -> dict[str, bool]:
        """``{"index": ok, "model": ok}``."""
        with self._lock:
            if self._last and time.monotonic() - self._checked < _READY_SECONDS:
                return self._last
            self._last = {"index": self._probe(self._index), "model": self._probe(self._model)}
            self._checked = time.monotonic()
            return self._last

    def _index(self) -> None:
        self.docent.index.collections()

    def _model(self) -> None:
        self.docent.chat.preflight()

    @staticmethod
    def _probe(step: Any) -> bool:
        try:
            step()
        except DocentError as error:
            log.warning("not ready: %s", error)
            return False
        except Exception:
            log.exception("not ready")
            return False
        return True


def docs_page(schema: dict[str, Any]) -> str:
    """The API reference as one self-contained HTML page (no script, no outside link)."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, spec in operations.items():
            params = ", ".join(p["name"] for p in spec.get("parameters", []))
            content = spec.get("requestBody", {}).get("content", {})
            kinds = ", ".join(content)
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td>{html.escape(spec.get('summary', ''))}</td>"
                f"<td>{html.escape(params)}</td><td>{html.escape(kinds)}</td></tr>"
            )
    info = schema.get("info", {})
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(info.get('title', 'API'))}</title>"
        "<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:70em}"
        "td{padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}</style>"
        f"</head><body><h1>{html.escape(info.get('title', 'API'))}</h1>"
        f"<p>{html.escape(info.get('description', ''))}</p>"
        "<p>The machine-readable schema: <a href=/openapi.json>/openapi.json</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th>"
        "<th>body</th></tr>" + "".join(rows) + "</table></body></html>"
    )


def serve(docent: Docent, host: str, port: int) -> None:
    """Run the API with uvicorn until interrupted; the models warm up meanwhile."""
    import uvicorn

    docent.embedder.start_loading()
    warm = threading.Thread(target=Readiness(docent).check, name="docent-warm", daemon=True)
    warm.start()
    uvicorn.run(create_app(docent), host=host, port=port, server_header=False, log_level="info")
