"""Signing in without an account: the family gives the email address or mobile number the school holds, caseload
sends a one-time code there, and a right code gives a short-lived token kept in the server-side session."""

from __future__ import annotations

import base64
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from tas_common.access import public

from .. import i18n
from ..clients.base import ApiError, Invalid, TooMany
from ..clients.caseload import CaseloadClient
from ..domain.forms import FormErrors
from ..domain.navigation import FAMILY_HOME, safe_return_path
from ..i18n import _
from ..sessions import SessionStore, WebSession
from ..templating import N_, render
from .deps import AnySession, Caseload, CsrfField, Sessions, check_csrf
from .pages import set_language_cookie

router = APIRouter(prefix="/family", dependencies=[Depends(public)])


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


CODE_MESSAGES = {
    "code-attempts-exhausted": N_("You have entered a wrong code too many times. Get a new code"),
    "code-expired": N_("That code has expired. Get a new code"),
    "code-used": N_("That code has already been used. Get a new code"),
}
WRONG_CODE = N_("That code is not right. Check it, or get a new code")
TOO_MANY_TRIES = CODE_MESSAGES["code-attempts-exhausted"]


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
    grant = None
    if not code:
        errors.add("code", _("Enter the 6-digit code we sent you"))
    elif not (code.isdigit() and len(code) == 6):
        errors.add("code", _("The code must be 6 numbers, like 123456"))
    else:
        try:
            grant = await caseload.exchange_code(contact=contact, code=code, client_address=_client_address(request))
        except TooMany:
            errors.add("code", _(TOO_MANY_TRIES))
        except ApiError as exc:
            if exc.status >= 500:
                raise
            errors.add(
                "code", _(CODE_MESSAGES.get(exc.slug, N_("That code is not right. Check it, or get a new code")))
            )
    if grant is None:
        return render(
            request, "family/code.html", status_code=400, contact=contact, errors=errors.summary(), form_errors=errors
        )
    return await _signed_in(request, session, sessions, caseload, grant, contact)


async def _signed_in(
    request: Request,
    old: WebSession,
    sessions: SessionStore,
    caseload: CaseloadClient,
    grant: dict[str, Any],
    contact: str,
) -> Response:
    """Rotate the session (a new id and CSRF token now that it holds a token), and go where the person was going,
    in the language of their contact preference unless they have just chosen one here."""
    token = grant["access_token"]
    claims = token_claims(token)
    child_ids = list(grant.get("child_ids") or claims.get("child_ids") or [])
    member = await _family_member(caseload, token=token, child_ids=child_ids, sub=claims.get("sub"), contact=contact)
    new = await sessions.rotate(
        old,
        {
            "token": token,
            "token_expires_at": time.time() + float(grant.get("expires_in", 1800)),
            "child_ids": child_ids,
            "family_member_id": member.get("id") if member else claims.get("sub"),
            "member_ids": list(grant.get("member_ids") or claims.get("member_ids") or []),
        },
    )
    request.state.session = new
    response = RedirectResponse(old.data.get("return_to") or FAMILY_HOME, status_code=303)
    language = grant.get("language") or (member.get("language") if member else None)
    if language in i18n.LANGUAGES and not old.data.get("language_chosen"):
        set_language_cookie(request, response, language)
    return response


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a token caseload has just handed us (read, not verified: the APIs verify it on every call)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


def _same_contact(member: dict[str, Any], contact: str) -> bool:
    wanted = contact.strip().lower()
    digits = "".join(ch for ch in contact if ch.isdigit())
    email = (member.get("email") or "").lower()
    mobile = "".join(ch for ch in member.get("mobile") or "" if ch.isdigit())
    return (bool(email) and email == wanted) or (len(digits) >= 10 and mobile.endswith(digits[-10:]))


async def _family_member(
    caseload: CaseloadClient, *, token: str, child_ids: list[str], sub: str | None, contact: str
) -> dict[str, Any] | None:
    """The signed-in person's own family-member record (for their language and preferences)."""
    for child_id in child_ids[:5]:
        try:
            members = await caseload.family(child_id, token=token)
        except ApiError:
            continue
        found = next((m for m in members if m.get("id") == sub), None) or next(
            (m for m in members if _same_contact(m, contact)), None
        )
        if found:
            return found
    return None


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
