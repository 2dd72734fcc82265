"""Practitioners sign in with their organisation's identity provider (OpenID Connect, authorization code with
PKCE: domain/practice/oidc.py) or, in the embedded default only, as one of the dev personas with the dev issuer.
Either way the session holds the access token (never the browser) and who they are."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tas_common.access import public

from ...clients.base import Forbidden, NotFound, SignedOut
from ...domain.forms import FormErrors
from ...domain.practice import personas
from ...domain.practice.navigation import safe_practice_return
from ...domain.practice.oidc import SignInFailed
from ...i18n import _
from ...sessions import SessionStore, WebSession
from ...templating import render
from ..deps import AnySession, Caseload, CsrfField, Sessions, check_csrf

router = APIRouter(dependencies=[Depends(public)])
log = logging.getLogger("tas.web")


def dev_sign_in_allowed(request: Request) -> bool:
    settings = request.app.state.settings
    return settings.env != "prod" and settings.dev_key_dir is not None


def _practitioner(session: WebSession | None) -> bool:
    return bool(session and session.signed_in and session.data.get("kind") == "practitioner")


@router.get("/sign-in")
async def sign_in_page(
    request: Request, session: AnySession, next_: Annotated[str | None, Query(alias="next", max_length=500)] = None
) -> Response:
    if _practitioner(session):
        return RedirectResponse(safe_practice_return(next_), status_code=303)
    session.data["practice_return_to"] = safe_practice_return(next_)
    return _page(request, FormErrors())


def _page(request: Request, errors: FormErrors, *, status_code: int = 200) -> Response:
    oidc = getattr(request.app.state, "oidc", None)
    return render(
        request,
        "practice/sign_in.html",
        status_code=status_code,
        service_url="/",
        provider_name=oidc.display_name if oidc else None,
        personas=personas.PERSONAS if dev_sign_in_allowed(request) else (),
        timed_out=request.state.session_expired or request.query_params.get("timeout") == "1",
        errors=errors.summary() or None,
        form_errors=errors,
    )


async def start_session(
    request: Request, old: WebSession, sessions: SessionStore, data: dict[str, Any]
) -> RedirectResponse:
    """A new session id and CSRF token now that it holds a practitioner's token; back where they were going."""
    new = await sessions.rotate(old, {"kind": "practitioner", **data})
    request.state.session = new
    return RedirectResponse(old.data.get("practice_return_to") or "/", status_code=303)


@router.post("/sign-in/dev")
async def dev_sign_in(
    request: Request,
    session: AnySession,
    sessions: Sessions,
    csrf_token: CsrfField = None,
    persona: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if not dev_sign_in_allowed(request):
        raise NotFound(404)
    check_csrf(session, csrf_token)
    chosen = personas.BY_KEY.get(persona)
    if chosen is None:
        errors = FormErrors()
        errors.add(f"persona-{personas.PERSONAS[0].key}", _("Choose who to sign in as"))
        return _page(request, errors, status_code=400)
    settings = request.app.state.settings
    token, expires_at = personas.mint(
        chosen, key_dir=settings.dev_key_dir, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    return await start_session(
        request,
        session,
        sessions,
        {"provider": "dev", "token": token, "token_expires_at": expires_at, "me": chosen.me.as_dict()},
    )


@router.post("/sign-in/oidc")
async def oidc_sign_in(request: Request, session: AnySession, csrf_token: CsrfField = None) -> Response:
    """Off to the organisation's provider (authorization code with PKCE); it comes back to /sign-in/callback."""
    oidc = getattr(request.app.state, "oidc", None)
    if oidc is None:
        raise NotFound(404)
    check_csrf(session, csrf_token)
    url = await oidc.start(session, return_to=session.data.get("practice_return_to") or "/")
    return RedirectResponse(url, status_code=303)


@router.get("/sign-in/callback")
async def oidc_callback(
    request: Request,
    session: AnySession,
    sessions: Sessions,
    caseload: Caseload,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    oidc = getattr(request.app.state, "oidc", None)
    if oidc is None:
        raise NotFound(404)
    errors = FormErrors()
    try:
        if error:
            raise SignInFailed(error)
        tokens = await oidc.finish(session, code=code, state=state)
        me = await caseload.me(token=tokens["token"])
    except (SignInFailed, SignedOut, Forbidden) as exc:
        log.info("practitioner sign-in refused", extra={"reason": type(exc).__name__})
        errors.add(
            "sign-in",
            _(
                "We could not sign you in with your organisation’s account. Try again, or ask your IT team whether your account is set up for TAS"
            ),
        )
        return _page(request, errors, status_code=400)
    session.data["practice_return_to"] = tokens.pop("return_to", None) or "/"
    tokens.pop("subject", None)
    return await start_session(request, session, sessions, {"provider": "oidc", **tokens, "me": me})


@router.post("/sign-out")
async def sign_out(request: Request, sessions: Sessions, csrf_token: CsrfField = None) -> Response:
    session = request.state.session
    check_csrf(session, csrf_token)
    assert session is not None
    oidc = getattr(request.app.state, "oidc", None)
    ending = None
    if oidc is not None and session.data.get("provider") == "oidc":
        ending = await oidc.end_session(session)
    await sessions.destroy(session.id_hash)
    request.state.session = None
    request.state.session_ended = True
    return RedirectResponse(ending or "/signed-out", status_code=303)


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "practice/signed_out.html", service_url="/")
