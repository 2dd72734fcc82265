"""Pages for everyone: the start page, language switch, privacy and accessibility, static assets, health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tas_common.access import public

from .. import i18n
from ..domain.navigation import safe_language_return
from ..middleware import LANG_COOKIE
from ..templating import render

router = APIRouter(dependencies=[Depends(public)])


@router.get("/")
async def start(request: Request) -> Response:
    """The start page; a signed-in practitioner's is My tasks (the APIs decide what it holds)."""
    session = request.state.session
    if session is not None and session.signed_in and session.data.get("kind") == "practitioner":
        from .practice.deps import practitioner_session
        from .practice.tasks import my_tasks

        return await my_tasks(request, await practitioner_session(request))
    return render(request, "start.html")


@router.get("/language")
async def switch_language(
    request: Request,
    to: Annotated[str, Query(max_length=2)] = "en",
    next_: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> Response:
    response = RedirectResponse(safe_language_return(next_), status_code=303)
    language = to if to in i18n.LANGUAGES else "en"
    set_language_cookie(request, response, language)
    session = request.state.session
    if session is not None:
        session.data["language_chosen"] = language
    return response


def set_language_cookie(request: Request, response: Response, language: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", secure=settings.secure_cookies, httponly=True
    )


@router.get("/privacy")
async def privacy(request: Request) -> Response:
    return render(request, "privacy.html")


@router.get("/accessibility")
async def accessibility(request: Request) -> Response:
    return render(request, "accessibility.html")


@router.get("/static/{name:path}")
async def static(request: Request, name: str) -> Response:
    found = request.app.state.assets.load(name)
    if found is None:
        return Response(status_code=404)
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "alive"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    database = await request.app.state.db.ping()
    return JSONResponse(
        {"status": "ready" if database else "not ready", "checks": {"database": database}},
        status_code=200 if database else 503,
    )
