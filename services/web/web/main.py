"""Web: pages for families (and, later, practitioners), rendered on the server, calling the APIs with the
signed-in person's own token. It holds no domain data: only short-lived server-side sessions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from tas_common.app import UnexpectedErrorMiddleware
from tas_common.db import Database
from tas_common.logging import configure_logging

from . import i18n
from .api import family, family_record, family_sign_in, insights, offer, pages
from .api.deps import CsrfFailed, SignInRequired
from .api.practice.routes import ROUTERS as PRACTICE_ROUTERS
from .clients.base import NotFound, SignedOut, Unavailable
from .clients.caseload import CaseloadClient
from .clients.insights import InsightsClient
from .clients.notify import NotifyClient
from .clients.referral import ReferralClient
from .config import WebSettings
from .domain.practice.oidc import OidcProvider
from .middleware import HeadAsGet, web_middleware
from .security import SecurityHeadersMiddleware
from .sessions import SessionStore
from .static import StaticAssets
from .templating import build_environment, render

log = logging.getLogger("tas.web")
PURGE_SECONDS = 300.0
API_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=2.0)
"""httpx's defaults, but an idle connection to an API is dropped after 2 s: the services' uvicorn closes one after
5 s (its keep-alive timeout), and a request sent on it just then is never answered (clients/base.py retries a GET)."""


def create_app(
    settings: WebSettings | None = None, *, transports: dict[str, httpx.AsyncBaseTransport] | None = None
) -> FastAPI:
    """`transports` (tests) carries the requests to in-process apps instead of over TCP."""
    settings = settings or WebSettings()
    configure_logging(settings.service_name)
    transports = transports or {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        i18n.install(i18n.Catalogues())
        app.state.db = Database(settings.database_url)
        app.state.sessions = SessionStore(app.state.db, idle=timedelta(minutes=settings.session_idle_minutes))
        clients: list[httpx.AsyncClient] = []
        for name, url, cls in (
            ("referral", settings.referral_url, ReferralClient),
            ("caseload", settings.caseload_url, CaseloadClient),
            ("notify", settings.notify_url, NotifyClient),
            ("insights", settings.insights_url, InsightsClient),
        ):
            http = httpx.AsyncClient(
                base_url=url, timeout=settings.api_timeout_seconds, transport=transports.get(name), limits=API_LIMITS
            )
            clients.append(http)
            setattr(app.state, name, cls(http))
        app.state.caseload.forwarding_secret = settings.web_forwarding_secret
        oidc = settings.oidc()
        app.state.oidc = OidcProvider(oidc, transport=transports.get("oidc")) if oidc else None
        purger = asyncio.create_task(_purge_sessions(app.state.sessions), name="web-session-purge")
        try:
            yield
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            for http in clients:
                await http.aclose()
            await app.state.db.dispose()

    app = FastAPI(
        title="TAS web",
        description="Pages for families and practitioners (HTML).",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.templates = build_environment()
    app.state.assets = StaticAssets(settings.assets_dir)
    app.add_middleware(UnexpectedErrorMiddleware, respond=_crash_page)  # innermost: sessions and headers still run
    app.middleware("http")(web_middleware)
    provider = urlsplit(settings.oidc_issuer) if settings.oidc_issuer else None
    app.add_middleware(
        SecurityHeadersMiddleware,
        hsts=settings.env == "prod",
        form_targets=(f"{provider.scheme}://{provider.netloc}",) if provider else (),
    )
    app.add_middleware(HeadAsGet)  # outermost: HEAD is GET without the body, wherever GET answers
    routers = (pages.router, family_sign_in.router, family.router, family_record.router, offer.router, insights.router)
    for router in (*routers, *PRACTICE_ROUTERS):
        app.include_router(router)
    _install_handlers(app)
    return app


async def _purge_sessions(store: SessionStore) -> None:
    while True:
        await asyncio.sleep(PURGE_SECONDS)
        try:
            await store.purge()
        except Exception as exc:  # the next round tries again
            log.warning("session purge failed", extra={"error": type(exc).__name__})


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        query = {"next": exc.return_to} | ({"timeout": "1"} if request.state.session_expired else {})
        return RedirectResponse(f"{exc.sign_in_path}?" + urlencode(query), status_code=303)

    @app.exception_handler(insights.InsightsSignIn)
    async def _insights_sign_in(request: Request, exc: insights.InsightsSignIn) -> Response:
        return insights.sign_in_redirect(request)

    @app.exception_handler(SignedOut)
    async def _signed_out(request: Request, exc: SignedOut) -> Response:
        session = request.state.session
        if session is not None:
            await request.app.state.sessions.destroy(session.id_hash)
            request.state.session = None
            request.state.session_ended = True
        target = request.url.path + (f"?{request.url.query}" if request.method == "GET" and request.url.query else "")
        sign_in = "/family/sign-in" if request.url.path.startswith("/family") else "/sign-in"
        return RedirectResponse(f"{sign_in}?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return render(request, "errors/404.html", status_code=404)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return render(request, "errors/403.html", status_code=403, back=request.url.path)

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> Response:
        log.warning("API unavailable", extra={"status": exc.status})
        return render(request, "errors/500.html", status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "errors/404.html", status_code=404)
        if exc.status_code == 405:
            return render(request, "errors/404.html", status_code=405)
        return render(request, "errors/500.html", status_code=exc.status_code)


def _crash_page(scope: Scope, status: int) -> Response:
    """The answer to an exception no handler maps (tas_common's UnexpectedErrorMiddleware logs it once, as JSON,
    without its message, and does not raise it further for uvicorn to print again); 503 when the session
    database cannot be reached just now."""
    return render(Request(scope), "errors/500.html", status_code=status)
