"""Sharing without consent and emergency access: a consent override waiting for review; break-glass for the roles
allowed (a search that says a record exists outside my relationships, the reason form, then the record read-only
with a banner and the time left); and the review queue of grants for the school's DSL and the LA's SEND officers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...clients.base import Conflict, Forbidden, Invalid, NotFound
from ...clients.caseload import CaseloadClient
from ...clients.referral import ReferralClient
from ...domain.forms import FormErrors
from ...domain.practice import child_view, tasks, words
from ...i18n import _
from ...templating import render
from ..deps import Caseload, CsrfField, Referral, check_csrf
from .deps import MeDep, PractitionerSession

router = APIRouter()
Note = Annotated[str, Form(max_length=1000)]


async def _override(referral: ReferralClient, token: str, override_id: str) -> dict[str, Any]:
    found = next((o for o in await referral.consent_overrides(token=token) if o["id"] == override_id), None)
    if found is None:
        raise NotFound(404)
    return found


async def _override_page(
    request: Request, session: Any, referral: Any, caseload: Any, override_id: str, errors: FormErrors, status: int
) -> Response:
    override = await _override(referral, session.bearer, override_id)
    child = None
    if override.get("child_id"):
        names = await tasks.child_names(caseload, session.bearer, {override["child_id"]})
        child = names.get(override["child_id"])
    return render(
        request,
        "practice/override.html",
        status_code=status,
        override=override,
        child=child,
        view=words,
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/consent-overrides/{override_id}")
async def override_page(
    request: Request, override_id: str, session: PractitionerSession, referral: Referral, caseload: Caseload
) -> Response:
    return await _override_page(request, session, referral, caseload, override_id[:36], FormErrors(), 200)


@router.post("/consent-overrides/{override_id}")
async def review_override(
    request: Request,
    override_id: str,
    session: PractitionerSession,
    referral: Referral,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    note: Note = "",
) -> Response:
    check_csrf(session, csrf_token)
    errors = FormErrors()
    if not note.strip():
        errors.add("review-note", _("Write what you checked"))
    else:
        try:
            await referral.review_override(override_id[:36], token=session.bearer, note=note.strip())
        except Conflict:
            errors.add("review-note", _("Someone has already reviewed this"))
        except (Invalid, Forbidden):
            errors.add("review-note", _("You cannot review this"))
    if errors:
        return await _override_page(request, session, referral, caseload, override_id[:36], errors, 400)
    return RedirectResponse(f"/consent-overrides/{override_id[:36]}?reviewed=1", status_code=303)


# --- break-glass ------------------------------------------------------------------------------------------------


@router.get("/break-glass")
async def break_glass_search(
    request: Request,
    session: PractitionerSession,
    me: MeDep,
    caseload: Caseload,
    upn: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    found: dict[str, Any] | None = None
    errors = FormErrors()
    wanted = "".join((upn or "").split()).upper()
    if upn is not None:
        if len(wanted) != 13:
            errors.add("upn", _("Enter a UPN: 13 characters, like A123456789012"))
        else:
            try:
                found = await caseload.find_by_upn(wanted, token=session.bearer)
            except Invalid:
                errors.add("upn", _("Enter a UPN: 13 characters, like A123456789012"))
    queue = None
    if me.reviewer:
        queue = await caseload.break_glass_queue(token=session.bearer, reviewed=False)
    return render(
        request,
        "practice/break_glass.html",
        me=me,
        upn=upn or "",
        found=found,
        queue=queue,
        view=words,
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/break-glass/open/{child_id}")
async def reason_form(request: Request, child_id: str, session: PractitionerSession, me: MeDep) -> Response:
    return render(
        request,
        "practice/break_glass_reason.html",
        child_id=child_id[:36],
        reason="",
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/break-glass/open/{child_id}")
async def open_record(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    reason: Note = "",
) -> Response:
    check_csrf(session, csrf_token)
    child_id = child_id[:36]
    errors = FormErrors()
    try:
        grant = await caseload.break_glass(child_id, token=session.bearer, reason=reason.strip())
    except Invalid:
        errors.add("reason", _("Give your reason in at least 10 characters: the reviewers will read it"))
    except Conflict:
        return RedirectResponse(f"/children/{child_id}", status_code=303)  # they have a relationship after all
    if errors:
        return render(
            request,
            "practice/break_glass_reason.html",
            status_code=400,
            child_id=child_id,
            reason=reason,
            errors=errors.summary(),
            form_errors=errors,
        )
    child_view.remember_grant(session, grant)
    return RedirectResponse(f"/children/{child_id}", status_code=303)


async def _grant(caseload: CaseloadClient, token: str, grant_id: str) -> dict[str, Any]:
    queue = await caseload.break_glass_queue(token=token)
    found = next((g for g in queue if g["id"] == grant_id), None)
    if found is None:
        raise NotFound(404)
    return found


@router.get("/break-glass/reviews/{grant_id}")
async def grant_page(request: Request, grant_id: str, session: PractitionerSession, caseload: Caseload) -> Response:
    grant = await _grant(caseload, session.bearer, grant_id[:36])
    names = await tasks.child_names(caseload, session.bearer, {grant["child_id"]})
    return render(
        request,
        "practice/grant.html",
        grant=grant,
        child=names.get(grant["child_id"]),
        view=words,
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/break-glass/reviews/{grant_id}")
async def review_grant(
    request: Request,
    grant_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    note: Note = "",
) -> Response:
    check_csrf(session, csrf_token)
    grant_id = grant_id[:36]
    errors = FormErrors()
    if not note.strip():
        errors.add("review-note", _("Write what you checked"))
    else:
        try:
            await caseload.review_break_glass(grant_id, token=session.bearer, note=note.strip())
        except Conflict:
            errors.add("review-note", _("Someone has already reviewed this"))
    if errors:
        grant = await _grant(caseload, session.bearer, grant_id)
        names = await tasks.child_names(caseload, session.bearer, {grant["child_id"]})
        return render(
            request,
            "practice/grant.html",
            status_code=400,
            grant=grant,
            child=names.get(grant["child_id"]),
            view=words,
            errors=errors.summary(),
            form_errors=errors,
        )
    return RedirectResponse(f"/break-glass/reviews/{grant_id}?reviewed=1", status_code=303)
