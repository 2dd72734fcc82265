"""Signing in without an account: the family gives the email address or mobile number the school holds, caseload
sends a one-time code there, and a right code gives a short-lived token kept in the server-side session."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tas_common.access import public

from .. import i18n
from ..clients.base import ApiError, Invalid, TooMany
from ..domain.forms import FormErrors
from ..domain.navigation import FAMILY_HOME, safe_return_path
from ..i18n import _
from ..middleware import LANG_COOKIE
from ..templating import render
from .deps import AnySession, Caseload, Sessions, check_csrf

router = APIRouter(prefix="/family", dependencies=[Depends(public)])

CsrfField = Annotated[str | None, Form(alias="csrf_token", max_length=100)]


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/sign-in")
async def sign_in_page(
    request: Request, session: AnySession, next_: Annotated[str | None, Query(alias="next", max_length=500)] = None
) -> Response:
    if session.signed_in:
        return RedirectResponse(safe_return_path(next_), status_code=303)
    session.data["return_to"] = safe_return_path(next_)
    return render(
        request,
        "family/sign_in.html",
        contact=session.data.get("contact", ""),
        timed_out=request.state.session_expired or request.query_params.get("timeout") == "1",
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/sign-in")
async def request_code(
    request: Request,
    session: AnySession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    contact: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    contact = contact.strip()
    errors = FormErrors()
    if not contact:
        errors.add("contact", _("Enter the email address or mobile number your child’s school has for you"))
    elif "@" not in contact and sum(ch.isdigit() for ch in contact) < 10:
        errors.add("contact", _("Enter an email address like name@example.com, or a mobile number like 07700 900 982"))
    if not errors:
        try:
            await caseload.request_code(contact=contact, client_address=_client_address(request))
        except TooMany:
            errors.add("contact", _("You have asked for too many codes. Wait 15 minutes, then try again"))
        except Invalid as exc:
            errors.from_api(
                exc.errors, {"*": ("contact", _("Enter a real email address or UK mobile number"))}, fallback="contact"
            )
    if errors:
        return render(
            request,
            "family/sign_in.html",
            status_code=400,
            contact=contact,
            timed_out=False,
            errors=errors.summary(),
            form_errors=errors,
        )
    session.data["contact"] = contact
    session.data["code_requested_at"] = time.time()
    return RedirectResponse("/family/sign-in/code", status_code=303)


@router.get("/sign-in/code")
async def code_page(request: Request, session: AnySession) -> Response:
    if not session.data.get("contact"):
        return RedirectResponse("/family/sign-in", status_code=303)
    return render(request, "family/code.html", contact=session.data["contact"], errors=None, form_errors=FormErrors())


@router.post("/sign-in/code")
async def submit_code(
    request: Request,
    session: AnySession,
    caseload: Caseload,
    sessions: Sessions,
    csrf_token: CsrfField = None,
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    contact = session.data.get("contact")
    if not contact:
        return RedirectResponse("/family/sign-in", status_code=303)
    code = "".join(ch for ch in code if not ch.isspace())
    errors = FormErrors()
    if not code:
        errors.add("code", _("Enter the 6-digit code we sent you"))
    elif not (code.isdigit() and len(code) == 6):
        errors.add("code", _("The code must be 6 numbers, like 123456"))
    grant = None
    if not errors:
        try:
            grant = await caseload.exchange_code(contact=contact, code=code, client_address=_client_address(request))
        except TooMany:
            errors.add("code", _("You have entered a wrong code too many times. Get a new code"))
        except ApiError as exc:
            if exc.status >= 500:
                raise
            if exc.slug in ("code-attempts-exhausted", "too-many-attempts"):
                errors.add("code", _("You have entered a wrong code too many times. Get a new code"))
            elif exc.slug in ("code-expired", "expired-code"):
                errors.add("code", _("That code has expired. Get a new code"))
            else:
                errors.add("code", _("That code is not right, or has expired. Check it, or get a new code"))
    if errors or grant is None:
        return render(
            request, "family/code.html", status_code=400, contact=contact, errors=errors.summary(), form_errors=errors
        )
    return_to = session.data.get("return_to") or FAMILY_HOME
    new = await sessions.rotate(
        session,
        {
            "token": grant["access_token"],
            "token_expires_at": time.time() + float(grant.get("expires_in", 1800)),
            "child_ids": list(grant.get("child_ids", [])),
            "family_member_id": grant.get("family_member_id") or grant.get("sub"),
            "language": grant.get("language"),
        },
    )
    request.state.session = new
    response = RedirectResponse(return_to, status_code=303)
    language = grant.get("language")
    if language in i18n.LANGUAGES and not session.data.get("language_chosen"):
        # the family's contact preference decides the language, unless they just chose one on these pages
        settings = request.app.state.settings
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True, secure=settings.secure_cookies
        )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, sessions: Sessions, csrf_token: CsrfField = None) -> Response:
    session = request.state.session
    check_csrf(session, csrf_token)
    await sessions.destroy(session.id_hash)
    request.state.session = None
    request.state.session_ended = True
    return RedirectResponse("/family/signed-out", status_code=303)


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "family/signed_out.html")
