"""Concerns and referrals, as referral's events tell them, and what they count in the tallies.

Events may arrive in any order (a replay, two services' events interleaved): each handler fills in what its event
knows and never moves a referral back (a `submitted` after its `accepted` changes no status); the contribution is
recomputed from the row as it then stands. Only ids, dates and codes are kept: the child's identity that
`concern.raised` carries is never read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.events.schemas import (
    ConcernLinkedV1,
    ConcernRaisedV1,
    ReferralEventBase,
    ReferralFirstContactRecordedV1,
    ReferralSubmittedV1,
)

from . import outcome_facts
from .models import Concern, Referral, Service
from .tally import Key, Where, adjust, days_between, month_of, scoped

RANK = {"submitted": 0, "accepted": 1, "declined": 2, "redirected": 2, "withdrawn": 2, "completed": 2}
"""A referral only moves forward: an event that arrives after a later one changes no status."""
WAITING = ("submitted", "accepted")


# --- what a fact counts -----------------------------------------------------------------------------------------


def concern_keys(concern: Concern) -> list[Key]:
    if concern.raised_at is None:
        return []
    where = Where(concern.la_code, concern.school_urn)
    month = month_of(concern.raised_at)
    keys = scoped(where, "concerns", month, "*")
    for area in sorted(set(concern.areas)):
        keys += scoped(where, "concerns", month, area)
    if concern.referred_at is not None:
        keys += scoped(where, "concerns_referred", month)
    if concern.first_help_at is not None:
        keys += scoped(where, "first_help", month, str(days_between(concern.raised_at, concern.first_help_at)))
    return keys


def breach_key(days: int, target: int | None) -> str:
    return "" if target is None else ("1" if days > target else "0")


def referral_keys(referral: Referral) -> list[Key]:
    if referral.submitted_at is None:
        return []
    where = Where(referral.la_code, referral.school_urn, (referral.service_id,))
    keys = scoped(where, "referrals", month_of(referral.submitted_at), referral.urgency or "")
    if referral.decided_at is not None:
        days = days_between(referral.submitted_at, referral.decided_at)
        keys += scoped(where, "wait_decision", month_of(referral.decided_at), str(days), referral.decision or "")
    if referral.first_contact_at is not None:
        days = days_between(referral.submitted_at, referral.first_contact_at)
        keys += scoped(
            where,
            "wait_contact",
            month_of(referral.first_contact_at),
            str(days),
            breach_key(days, referral.target_days),
        )
    return keys


# --- concerns ---------------------------------------------------------------------------------------------------


async def _concern(session: AsyncSession, concern_id: str) -> Concern:
    return await session.get(Concern, concern_id) or Concern(id=concern_id)


async def concern_raised(session: AsyncSession, *, raised: ConcernRaisedV1, at: datetime) -> None:
    concern = await _concern(session, raised.concern_id)
    old = concern_keys(concern)
    concern.school_urn, concern.la_code = raised.school_urn, raised.la_code or concern.la_code
    concern.raised_at, concern.urgency = at, raised.urgency
    concern.areas = sorted(set(raised.areas_of_need))
    await _derive_concern(session, concern)
    session.add(concern)
    await adjust(session, old, concern_keys(concern))
    await session.flush()
    for referral in await _referrals_of(session, concern.id):  # referrals that arrived first learn their LA
        await _fill_from_concern(session, referral, concern)


async def concern_linked(session: AsyncSession, *, linked: ConcernLinkedV1) -> None:
    concern = await _concern(session, linked.concern_id)
    old = concern_keys(concern)
    concern.child_id = linked.child_id
    concern.school_urn = concern.school_urn or linked.school_urn
    concern.la_code = concern.la_code or linked.la_code
    session.add(concern)
    await adjust(session, old, concern_keys(concern))
    await session.flush()
    for referral in await _referrals_of(session, concern.id):
        await _fill_from_concern(session, referral, concern)
    await outcome_facts.recompute_child(session, child_id=linked.child_id)


async def _referrals_of(session: AsyncSession, concern_id: str) -> list[Referral]:
    return list((await session.exec(select(Referral).where(Referral.concern_id == concern_id))).all())


async def _fill_from_concern(session: AsyncSession, referral: Referral, concern: Concern) -> None:
    if (referral.la_code or not concern.la_code) and (referral.child_id or not concern.child_id):
        return
    old = referral_keys(referral)
    referral.la_code = referral.la_code or concern.la_code
    referral.child_id = referral.child_id or concern.child_id
    session.add(referral)
    await adjust(session, old, referral_keys(referral))


async def _derive_concern(session: AsyncSession, concern: Concern) -> None:
    """Referred on (its first referral) and first helped (the earliest first contact of its referrals)."""
    row = (
        await session.execute(
            select(func.min(Referral.submitted_at), func.min(Referral.first_contact_at)).where(
                Referral.concern_id == concern.id
            )
        )
    ).one()
    concern.referred_at, concern.first_help_at = row[0], row[1]


async def _refresh_concern(session: AsyncSession, concern_id: str | None) -> None:
    if concern_id is None:
        return
    concern = await session.get(Concern, concern_id)
    if concern is None:
        return
    old = concern_keys(concern)
    await _derive_concern(session, concern)
    session.add(concern)
    await adjust(session, old, concern_keys(concern))


# --- referrals --------------------------------------------------------------------------------------------------


async def referral_event(session: AsyncSession, *, payload: ReferralEventBase, status: str, at: datetime) -> None:
    """Any referral event: fill in what it knows, move the status forward, and stamp its clock."""
    referral = await session.get(Referral, payload.referral_id) or Referral(id=payload.referral_id)
    old = referral_keys(referral)
    referral.concern_id = referral.concern_id or payload.concern_id
    referral.child_id = referral.child_id or payload.child_id
    referral.service_id = referral.service_id or payload.service_id
    referral.school_urn = referral.school_urn or payload.school_urn
    if isinstance(payload, ReferralSubmittedV1):
        referral.submitted_at = at
        referral.urgency = payload.urgency
        referral.la_code = payload.la_code or referral.la_code
        referral.target_days = payload.target_wait_days if payload.target_wait_days is not None else None
    elif isinstance(payload, ReferralFirstContactRecordedV1):
        referral.first_contact_at = payload.first_contact_at
    elif status in ("accepted", "declined", "redirected"):
        referral.decided_at, referral.decision = at, status
    if status in ("declined", "redirected", "withdrawn", "completed"):
        referral.closed_at = at
    if status and RANK[status] >= RANK.get(referral.status or "", -1):
        referral.status = status
    await _fill_from_directory(session, referral)
    referral.waiting = (
        referral.submitted_at is not None and referral.first_contact_at is None and referral.status in WAITING
    )
    session.add(referral)
    await adjust(session, old, referral_keys(referral))
    await session.flush()
    await _refresh_concern(session, referral.concern_id)
    if referral.child_id:
        await outcome_facts.recompute_child(session, child_id=referral.child_id)


async def _fill_from_directory(session: AsyncSession, referral: Referral) -> None:
    """An LA and a target for a referral whose events did not carry them (made before they did)."""
    if referral.la_code is None and referral.concern_id:
        concern = await session.get(Concern, referral.concern_id)
        referral.la_code = concern.la_code if concern else None
    if (referral.la_code is None or referral.target_days is None) and referral.service_id:
        service = await session.get(Service, referral.service_id)
        if service is not None:
            referral.la_code = referral.la_code or service.la_code
            if referral.target_days is None:
                referral.target_days = service.target_wait_days
