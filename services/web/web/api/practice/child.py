"""The child, for a practitioner: summary, team with the lead professional, consent by agency type, referrals and
their status; the chronology with filters; the access log (for those the API allows); possible duplicates and the
merge (for those the API allows). Every page asks caseload for the child first: a 404 is the 404 page."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...clients.base import ApiError, Conflict, Invalid, NotFound
from ...clients.caseload import CaseloadClient
from ...domain.forms import FormErrors
from ...domain.practice import child_view, words
from ...i18n import _
from ...templating import render
from ..deps import Caseload, CsrfField, Referral, check_csrf
from .deps import MeDep, PractitionerSession

router = APIRouter(prefix="/children/{child_id}")


async def load_child(caseload: CaseloadClient, session: Any, child_id: str) -> dict[str, Any]:
    if len(child_id) > 36:
        raise NotFound(404)
    return await caseload.child(child_id, token=session.bearer)


async def allowed(coro: Any) -> Any:
    """A part of the page the API does not show this person (403) is left out; anything else is raised."""
    try:
        return await coro
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise


def page(request: Request, template: str, session: Any, child: dict[str, Any], **context: Any) -> Response:
    return render(
        request,
        template,
        child=child,
        grant=child_view.active_grant(session, child["id"]),
        view=words,
        section=context.pop("section", "summary"),
        **context,
    )


@router.get("")
async def summary(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    me: MeDep,
    caseload: Caseload,
    referral: Referral,
) -> Response:
    if len(child_id) > 36:
        raise NotFound(404)
    token = session.bearer
    found, referrals = await asyncio.gather(
        caseload.summary(child_id, token=token),  # the child, team, consent, reviews, EHC: one read
        allowed(referral.referrals(token=token, child_id=child_id, limit=50)),
    )
    child, team, consent = found["child"], found["team"], found["consent"]
    reviews, ehc = found["reviews"], found["ehc_requests"]
    return page(
        request,
        "practice/child.html",
        session,
        child,
        me=me,
        team=team,
        lead=child_view.lead_of(team),
        consent=consent,
        referrals=(referrals or {}).get("items", []),
        reviews=reviews or [],
        ehc=ehc or [],
    )


@router.get("/chronology")
async def chronology(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    show: Annotated[list[str] | None, Query(max_length=10)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    child = await load_child(caseload, session, child_id)
    groups = [g for g in show or [] if g in child_view.CHRONOLOGY_GROUPS]
    errors = FormErrors()
    dates: dict[str, date | None] = {}
    for name, value in (("from", from_), ("to", to)):
        try:
            dates[name] = date.fromisoformat(value) if value else None
        except ValueError:
            dates[name] = None
            errors.add(f"chronology-{name}", _("Enter a date like 2027-01-31"))
    params: list[tuple[str, Any]] = [("limit", 50), *(("kind", k) for k in child_view.kinds_of(groups))]
    if dates["from"]:
        params.append(("from", dates["from"].isoformat()))
    if dates["to"]:
        params.append(("to", dates["to"].isoformat()))
    if cursor:
        params.append(("cursor", cursor))
    try:
        entries = await caseload.chronology_page(child_id, token=session.bearer, params=params)
    except Invalid:
        entries = {"items": [], "next_cursor": None}
        errors.add("chronology-from", _("The dates could not be used: check them"))
    return page(
        request,
        "practice/chronology.html",
        session,
        child,
        section="chronology",
        entries=entries["items"],
        next_cursor=entries.get("next_cursor"),
        groups=child_view.CHRONOLOGY_GROUPS,
        shown=groups,
        dates={"from": from_ or "", "to": to or ""},
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/access-log")
async def access_log(request: Request, child_id: str, session: PractitionerSession, caseload: Caseload) -> Response:
    child = await load_child(caseload, session, child_id)
    entries = await allowed(caseload.access_log(child_id, token=session.bearer, limit=100))
    return page(request, "practice/access_log.html", session, child, section="access", entries=entries)


async def _duplicates_of(caseload: Any, session: Any, child_id: str) -> list[dict[str, Any]] | None:
    found = await allowed(caseload.possible_duplicates(token=session.bearer))
    if found is None:
        return None
    return [d for d in found if child_id in (d["child"]["id"], d["possible_duplicate_of"]["id"])]


@router.get("/duplicates")
async def duplicates(request: Request, child_id: str, session: PractitionerSession, caseload: Caseload) -> Response:
    child = await load_child(caseload, session, child_id)
    found = await _duplicates_of(caseload, session, child_id)
    return page(
        request,
        "practice/duplicates.html",
        session,
        child,
        section="duplicates",
        duplicates=found,
        errors=None,
        form_errors=FormErrors(),
    )


@router.post("/merge")
async def merge(
    request: Request,
    child_id: str,
    session: PractitionerSession,
    caseload: Caseload,
    csrf_token: CsrfField = None,
    duplicate_id: Annotated[str, Form(max_length=36)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    child = await load_child(caseload, session, child_id)
    errors = FormErrors()
    if confirm != "yes":
        errors.add("confirm", _("Confirm that these are the same child"))
    else:
        try:
            await caseload.merge(child_id, token=session.bearer, duplicate_id=duplicate_id)
        except (Invalid, Conflict) as exc:
            errors.add("confirm", _("These records cannot be merged: %(why)s", why=exc.problem.get("detail", "")))
        except NotFound:
            errors.add("confirm", _("That record is no longer there: it may have been merged already"))
    if errors:
        return page(
            request,
            "practice/duplicates.html",
            session,
            child,
            status_code=400,
            section="duplicates",
            duplicates=await _duplicates_of(caseload, session, child_id),
            errors=errors.summary(),
            form_errors=errors,
        )
    return RedirectResponse(f"/children/{child_id}?merged=1", status_code=303)
