"""The family's pages about the people around their child: the team (organisations, roles, the lead, how to
contact them and the school), each request for help (referral) and where it stands, the messages TAS sent them, and
who looked at the record. Every page calls the APIs with the family member's own token; a 404 is the 404 page."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..clients.base import Forbidden, NotFound
from ..clients.caseload import CaseloadClient
from ..domain import referral_view
from ..sessions import WebSession
from ..templating import render
from .deps import Caseload, FamilySession, Notify, Referral
from .family import child_of, nav

router = APIRouter(prefix="/family")


async def _school(caseload: CaseloadClient, session: WebSession, child_id: str) -> dict[str, Any] | None:
    """How to contact the child's school (from the team view), or None."""
    try:
        team = await caseload.team(child_id, token=session.bearer)
    except (Forbidden, NotFound):
        return None
    school = team.get("school")
    return school if isinstance(school, dict) else None


@router.get("/children/{child_id}/referrals/{referral_id}")
async def referral_page(
    request: Request,
    child_id: str,
    referral_id: str,
    session: FamilySession,
    caseload: Caseload,
    referral: Referral,
) -> Response:
    child, school, referrals = await asyncio.gather(
        child_of(caseload, session, child_id),
        _school(caseload, session, child_id),
        referral.family_referrals(child_id, token=session.bearer),
    )
    found = next((r for r in referrals if r["id"] == referral_id), None)
    if found is None:
        raise NotFound(404)
    return render(
        request,
        "family/referral.html",
        child=child,
        referral=found,
        school=school,
        view=referral_view,
        navigation=nav(child_id),
    )


@router.get("/children/{child_id}/team")
async def team_page(request: Request, child_id: str, session: FamilySession, caseload: Caseload) -> Response:
    child, team = await asyncio.gather(
        child_of(caseload, session, child_id), caseload.team(child_id, token=session.bearer)
    )
    return render(request, "family/team.html", child=child, team=team, navigation=nav(child_id))


@router.get("/children/{child_id}/messages")
async def messages_page(
    request: Request, child_id: str, session: FamilySession, caseload: Caseload, notify: Notify
) -> Response:
    child = await child_of(caseload, session, child_id)
    messages = await notify.notifications(child_id, token=session.bearer)
    return render(request, "family/messages.html", child=child, messages=messages, navigation=nav(child_id))


@router.get("/children/{child_id}/who-has-looked")
async def access_log_page(request: Request, child_id: str, session: FamilySession, caseload: Caseload) -> Response:
    child = await child_of(caseload, session, child_id)
    entries = await caseload.access_log(child_id, token=session.bearer)
    return render(request, "family/access_log.html", child=child, entries=entries, navigation=nav(child_id))
