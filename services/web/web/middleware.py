"""Per request: the language (cookie `tas_lang`), the server-side session (cookie, idle timeout, sent again
only when new or rotated), and a limit on form bodies. HEAD answers wherever GET does (as GET, without the body)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import i18n
from .templating import render

LANG_COOKIE = "tas_lang"
NO_SESSION_PREFIXES = ("/static/", "/healthz", "/readyz")


async def web_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    path = request.url.path
    language = request.cookies.get(LANG_COOKIE)
    i18n.current_language.set(language if language in i18n.LANGUAGES else "en")
    request.state.session = None
    request.state.session_expired = False
    request.state.session_ended = False
    if path.startswith(NO_SESSION_PREFIXES):
        return await call_next(request)
    settings = request.app.state.settings
    length = request.headers.get("content-length", "")
    if request.method == "POST" and length.isdigit() and int(length) > settings.max_form_bytes:
        return render(request, "errors/413.html", status_code=413)
    store = request.app.state.sessions
    loaded = await store.load(request.cookies.get(settings.session_cookie))
    request.state.session = loaded.session
    request.state.session_expired = loaded.expired
    response = await call_next(request)
    session = request.state.session
    if request.state.session_ended or (loaded.expired and session is None):
        response.delete_cookie(settings.session_cookie, path="/", secure=settings.secure_cookies, httponly=True)
    if session is not None:
        await store.save(session)  # only when its data changed, or to move the idle clock (at most once a minute)
        if session.cookie_value:
            response.set_cookie(
                settings.session_cookie,
                session.cookie_value,
                httponly=True,
                secure=settings.secure_cookies,
                samesite="lax",
                path="/",
            )
    return response


class HeadAsGet:
    """HEAD is GET without the body (RFC 9110 9.3.2): the same status and headers, Content-Length included. FastAPI
    routes answer only the methods they name, so a HEAD (a link checker, an uptime probe) would otherwise be 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
