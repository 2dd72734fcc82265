"""Concerns (school staff): raise one with the form the API validates, the school's concerns with the DSL's
safeguarding queue (urgent first), a concern and the referrals made from it, and sharing on a lawful basis."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...clients.base import ApiError, Conflict, Invalid, NotFound
from ...domain import plan_view
from ...domain.forms import FormErrors
from ...domain.practice import concern_form, words
from ...i18n import _
from ...templating import render
from ..deps import CsrfField, Referral, check_csrf
from .deps import MeDep, PractitionerSession

router = APIRouter(prefix="/concerns")
URGENCY_ORDER = {"urgent": 0, "priority": 1, "routine": 2}


@router.get("")
async def concerns(
    request: Request,
    session: PractitionerSession,
    me: MeDep,
    referral: Referral,
    safeguarding: Annotated[str | None, Query(max_length=3)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    queue = safeguarding == "yes"
    page = await referral.concerns(token=session.bearer, safeguarding=True if queue else None, cursor=cursor, limit=50)
    items = page["items"]
    if queue:  # the DSL's queue: urgent first, then oldest first
        items = sorted(items, key=lambda c: (URGENCY_ORDER.get(c["urgency"], 3), c["created_at"]))
    return render(
        request,
        "practice/concerns.html",
        me=me,
        concerns=items,
        queue=queue,
        next_cursor=page.get("next_cursor"),
        pv=plan_view,
        view=words,
    )


def _form(request: Request, me: Any, values: dict[str, Any], errors: FormErrors, status_code: int = 200) -> Response:
    return render(
        request,
        "practice/concern_new.html",
        status_code=status_code,
        me=me,
        values=values,
        steps=range(concern_form.STEPS),
        contacts=range(concern_form.CONTACTS),
        areas=plan_view.AREAS,
        pv=plan_view,
        view=words,
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/new")
async def new_concern(request: Request, session: PractitionerSession, me: MeDep) -> Response:
    return _form(request, me, {"idempotency_key": uuid.uuid4().hex}, FormErrors())


@router.post("/new")
async def raise_concern(request: Request, session: PractitionerSession, me: MeDep, referral: Referral) -> Response:
    form = await request.form()
    check_csrf(session, str(form.get("csrf_token") or ""))
    body = concern_form.body_of(form, school_urns=me.school_urns)
    key = str(form.get("idempotency_key") or "")[:64] or uuid.uuid4().hex
    values = {k: str(v) for k, v in form.items()} | {"areas_of_need": form.getlist("areas_of_need")}
    try:
        concern = await referral.raise_concern(token=session.bearer, body=body, idempotency_key=key)
    except Invalid as exc:
        return _form(request, me, values, concern_form.errors_from_api(exc.errors), status_code=400)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        errors = FormErrors()
        errors.add("summary", _("The concern could not be raised: %(why)s", why=exc.problem.get("detail", "")))
        return _form(request, me, values, errors, status_code=400)
    return RedirectResponse(f"/concerns/{concern['id']}?raised=1", status_code=303)


@router.get("/{concern_id}")
async def concern_page(
    request: Request, concern_id: str, session: PractitionerSession, me: MeDep, referral: Referral
) -> Response:
    if len(concern_id) > 36:
        raise NotFound(404)
    concern = await referral.concern(concern_id, token=session.bearer)
    referrals = await referral.referrals(token=session.bearer, concern_id=concern_id, limit=50)
    return render(
        request,
        "practice/concern.html",
        me=me,
        concern=concern,
        referrals=referrals["items"],
        pv=plan_view,
        view=words,
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/{concern_id}/consent-override")
async def override_consent(
    request: Request,
    concern_id: str,
    session: PractitionerSession,
    me: MeDep,
    referral: Referral,
    csrf_token: CsrfField = None,
    agency_type: Annotated[str, Form(max_length=20)] = "",
    lawful_basis: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    body = {"agency_type": agency_type, "lawful_basis": lawful_basis, "reason": reason.strip()}
    try:
        await referral.override_consent(concern_id, token=session.bearer, body=body)
    except (Invalid, Conflict) as exc:
        errors = FormErrors()
        messages = {
            "agency_type": ("override-agency_type", _("Choose who to share with")),
            "lawful_basis": ("override-lawful_basis", _("Choose the lawful basis")),
            "reason": ("override-reason", _("Give the reason in at least 10 characters")),
            "*": ("override-reason", _("Check your answers")),
        }
        errors.from_api(exc.errors, messages, fallback="override-reason")
        concern = await referral.concern(concern_id, token=session.bearer)
        referrals = await referral.referrals(token=session.bearer, concern_id=concern_id, limit=50)
        return render(
            request,
            "practice/concern.html",
            status_code=400,
            me=me,
            concern=concern,
            referrals=referrals["items"],
            pv=plan_view,
            view=words,
            override=body,
            errors=errors.summary(),
            form_errors=errors,
        )
    return RedirectResponse(f"/concerns/{concern_id}?overridden=1", status_code=303)
