"""Referrals: refer a concern to services of the local offer (each with its eligibility and current waiting time);
a service's inbox, where its practitioners accept, decline with a reason or redirect to another service; first
contact; complete. Referral's API decides who may see and do each (403 is shown as such, 404 is the 404 page)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ...clients.base import ApiError, Conflict, Forbidden, Invalid, NotFound
from ...domain import plan_view
from ...domain.forms import FormErrors
from ...domain.practice import words
from ...i18n import _
from ...templating import render
from ..deps import CsrfField, Referral, check_csrf
from .deps import MeDep, PractitionerSession

router = APIRouter()
MOVES = ("accept", "decline", "redirect", "complete", "first-contact", "withdraw")
STATES = ("submitted", "accepted", "declined", "redirected", "withdrawn", "completed")


async def _services(referral: Any, token: str, la_code: str | None) -> list[dict[str, Any]]:
    params: list[tuple[str, Any]] = [("per_page", 100)]
    if la_code:
        params.append(("la_code", la_code))
    contents: list[dict[str, Any]] = (await referral.services(token=token, params=params))["contents"]
    return contents


def _refer_page(
    request: Request,
    concern: dict[str, Any],
    services: list[dict[str, Any]],
    *,
    chosen: list[str],
    note: str,
    errors: FormErrors,
    status_code: int = 200,
) -> Response:
    areas = set(concern.get("areas_of_need") or [])
    ordered = sorted(services, key=lambda s: (not areas.intersection(s.get("areas_of_need") or []), s["name"]))
    return render(
        request,
        "practice/refer.html",
        status_code=status_code,
        concern=concern,
        services=ordered,
        matching=areas,
        chosen=chosen,
        note=note,
        key=uuid.uuid4().hex,
        pv=plan_view,
        view=words,
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/concerns/{concern_id}/refer")
async def refer_page(request: Request, concern_id: str, session: PractitionerSession, referral: Referral) -> Response:
    if len(concern_id) > 36:
        raise NotFound(404)
    concern = await referral.concern(concern_id, token=session.bearer)
    services = await _services(referral, session.bearer, concern.get("la_code"))
    return _refer_page(request, concern, services, chosen=[], note="", errors=FormErrors())


@router.post("/concerns/{concern_id}/refer")
async def refer(request: Request, concern_id: str, session: PractitionerSession, referral: Referral) -> Response:
    form = await request.form()
    check_csrf(session, str(form.get("csrf_token") or ""))
    chosen = [str(s)[:36] for s in form.getlist("service_ids")][:10]
    note = str(form.get("note") or "").strip()[:4000]
    errors = FormErrors()
    if not chosen:
        errors.add("service_ids", _("Choose at least one service"))
    else:
        body: dict[str, Any] = {"concern_id": concern_id, "service_ids": chosen}
        if note:
            body["note"] = note
        try:
            await referral.create_referrals(
                token=session.bearer, body=body, idempotency_key=str(form.get("key") or uuid.uuid4().hex)[:64]
            )
        except Conflict as exc:
            if exc.slug == "consent-required":
                errors.add(
                    "service_ids",
                    _(
                        "The family has not agreed to share with this kind of service. Record their consent, or "
                        "ask the designated safeguarding lead to share on a lawful basis"
                    ),
                )
            else:
                errors.add("service_ids", _("A referral to that service is already open"))
        except Invalid:
            errors.add("service_ids", _("Check the services you chose"))
    if errors:
        concern = await referral.concern(concern_id, token=session.bearer)
        services = await _services(referral, session.bearer, concern.get("la_code"))
        return _refer_page(request, concern, services, chosen=chosen, note=note, errors=errors, status_code=400)
    return RedirectResponse(f"/concerns/{concern_id}?referred=1#referrals", status_code=303)


@router.get("/referrals")
async def inbox(
    request: Request,
    session: PractitionerSession,
    me: MeDep,
    referral: Referral,
    status: Annotated[str, Query(max_length=20)] = "submitted",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    status = status if status in STATES else "submitted"
    page = await referral.referrals(token=session.bearer, inbox=True, status=status, cursor=cursor, limit=50)
    return render(
        request,
        "practice/inbox.html",
        me=me,
        referrals=page["items"],
        status=status,
        states=STATES,
        next_cursor=page.get("next_cursor"),
        view=words,
    )


async def _referral_page(
    request: Request,
    referral_id: str,
    session: Any,
    referral: Any,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    if len(referral_id) > 36:
        raise NotFound(404)
    found = await referral.referral(referral_id, token=session.bearer)
    others = [
        s for s in await _services(referral, session.bearer, found.get("la_code")) if s["id"] != found["service_id"]
    ]
    errors = errors or FormErrors()
    return render(
        request,
        "practice/referral.html",
        status_code=status_code,
        referral=found,
        others=others,
        days=max(0, (datetime.now(UTC) - datetime.fromisoformat(found["submitted_at"])).days),
        values=values or {},
        pv=plan_view,
        view=words,
        errors=errors.summary() or None,
        form_errors=errors,
    )


@router.get("/referrals/{referral_id}")
async def referral_page(
    request: Request, referral_id: str, session: PractitionerSession, referral: Referral
) -> Response:
    return await _referral_page(request, referral_id, session, referral)


@router.post("/referrals/{referral_id}/{move}")
async def move_referral(
    request: Request,
    referral_id: str,
    move: str,
    session: PractitionerSession,
    referral: Referral,
    csrf_token: CsrfField = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
    to_service_id: Annotated[str, Form(max_length=36)] = "",
    outcome: Annotated[str, Form(max_length=2000)] = "",
    contacted_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    check_csrf(session, csrf_token)
    if move not in MOVES:
        raise NotFound(404)
    body: dict[str, Any] | None = None
    if move in ("decline", "withdraw"):
        body = {"reason": reason.strip()}
    elif move == "redirect":
        body = {"to_service_id": to_service_id, "reason": reason.strip(), "idempotency_key": uuid.uuid4().hex}
    elif move == "complete":
        body = {"outcome": outcome.strip()} if outcome.strip() else None
    elif move == "first-contact" and contacted_on:
        body = {"contacted_at": f"{contacted_on}T12:00:00Z"}
    errors = FormErrors()
    field = f"{move}-reason" if move in ("decline", "withdraw", "redirect") else move
    try:
        await referral.move_referral(referral_id, move, token=session.bearer, body=body)
    except Invalid as exc:
        messages = {
            "reason": (field, _("Give the reason: the referrer will read it")),
            "to_service_id": ("redirect-to", _("Choose the service to send it to")),
            "contacted_at": ("first-contact", _("Enter the date of first contact, not in the future")),
            "*": (field, _("Check your answer")),
        }
        errors.from_api(exc.errors, messages, fallback=field)
    except Forbidden:
        errors.add(field, _("Only the practitioners of the service it was sent to can do this"))
    except Conflict as exc:
        errors.add(field, _("This cannot be done now: %(why)s", why=exc.problem.get("detail", "")))
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        errors.add(field, _("This could not be done"))
    if errors:
        return await _referral_page(
            request,
            referral_id,
            session,
            referral,
            errors=errors,
            status_code=400,
            values={"reason": reason, "outcome": outcome, "to_service_id": to_service_id, "move": move},
        )
    return RedirectResponse(f"/referrals/{referral_id}?done={move}", status_code=303)
