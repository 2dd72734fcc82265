"""Outcomes: each outcome's achievement status recorded at a review, counted per review cycle, area of need and
the services supporting the child; and progress after support ends (an outcome's status when a service's referral
was completed, against its status at the first review after).

What depends on several facts of one child (which review of the child this is, which services were supporting the
child during the cycle it closes, the status before and after a service finished) is derived again from all of the
child's facts whenever one of them changes (`recompute_child`), and only the difference is counted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import aware
from tas_common.events.facts import ReviewProgressRecordedV1

from .models import OutcomeObservation, Referral, SupportEnd
from .tally import Key, Where, adjust, month_of, scoped

NO_AREA = "not_given"


RANK = {
    "worsening": 0,
    "not-achieved": 0,
    "no-progress": 1,
    "no-change": 1,
    "in-progress": 2,
    "improving": 3,
    "sustaining": 4,
    "achieved": 4,
}
"""How far along an achievement status is, to say whether an outcome got better after support ended (FHIR Goal's
achievementStatus codes; `not-attainable` is not ranked)."""


def change(at_end: str, after: str | None) -> str:
    """`better`, `same`, `worse`, `not_comparable` (either is not ranked) or `not_yet_reviewed`."""
    if after is None:
        return "not_yet_reviewed"
    if at_end not in RANK or after not in RANK:
        return "not_comparable"
    return "better" if RANK[after] > RANK[at_end] else "worse" if RANK[after] < RANK[at_end] else "same"


def observation_keys(o: OutcomeObservation) -> list[Key]:
    if o.cycle is None:
        return []
    where = Where(o.la_code, o.school_urn, tuple(o.services))
    month = month_of(o.held_at)
    keys = scoped(where, "outcomes", month, str(o.cycle), o.status)
    keys += scoped(where, "outcomes_area", month, o.area or NO_AREA, o.status)
    for service in o.services:  # by the services supporting the child, within an LA's or a school's figures
        keys += scoped(Where(o.la_code, o.school_urn), "outcomes_service", month, service, o.status)
    return keys


def support_end_keys(s: SupportEnd) -> list[Key]:
    where = Where(s.la_code, s.school_urn, (s.service_id,))
    month = month_of(s.completed_at)
    keys = scoped(where, "after_support", month, s.status_at_end, s.status_after or "")
    keys += scoped(
        Where(s.la_code, s.school_urn),
        "after_support_service",
        month,
        s.service_id or "",
        change(s.status_at_end, s.status_after),
    )
    return keys


async def progress_recorded(session: AsyncSession, *, progress: ReviewProgressRecordedV1) -> None:
    for entry in progress.outcomes:
        row = await session.get(OutcomeObservation, (progress.review_id, entry.outcome_id))
        if row is None:
            row = OutcomeObservation(review_id=progress.review_id, outcome_id=entry.outcome_id, child_id="", status="")
        else:
            await adjust(session, observation_keys(row), [])
        row.child_id, row.la_code, row.school_urn = progress.child_id, progress.la_code, progress.school_urn
        row.held_at, row.area, row.status = progress.held_at, entry.area, entry.achievement_status
        row.cycle, row.services = None, []
        session.add(row)
    await session.flush()
    await recompute_child(session, child_id=progress.child_id)


def _supporting(referrals: list[Referral], held_at: datetime, previous: datetime | None) -> list[str]:
    """Services whose referral was accepted by the review and not closed before the cycle began."""
    found = set()
    for r in referrals:
        if r.decision != "accepted" or r.decided_at is None or r.service_id is None:
            continue
        if aware(r.decided_at) > held_at:
            continue
        if r.closed_at is not None and previous is not None and aware(r.closed_at) < previous:
            continue
        found.add(r.service_id)
    return sorted(found)


async def recompute_child(session: AsyncSession, *, child_id: str) -> None:
    has_outcomes = (
        await session.execute(select(exists().where(col(OutcomeObservation.child_id) == child_id)))
    ).scalar_one()
    if not has_outcomes:
        return
    observations = list(
        (await session.exec(select(OutcomeObservation).where(OutcomeObservation.child_id == child_id))).all()
    )
    referrals = list((await session.exec(select(Referral).where(Referral.child_id == child_id))).all())
    reviews = sorted({(aware(o.held_at), o.review_id) for o in observations})
    cycle = {review_id: n + 1 for n, (_, review_id) in enumerate(reviews)}
    previous = {review_id: reviews[n - 1][0] if n else None for n, (_, review_id) in enumerate(reviews)}
    for o in observations:
        services = _supporting(referrals, aware(o.held_at), previous[o.review_id])
        if o.cycle != cycle[o.review_id] or o.services != services:
            old = observation_keys(o)
            o.cycle, o.services = cycle[o.review_id], services
            session.add(o)
            await adjust(session, old, observation_keys(o))
    await _support_ends(session, child_id, observations, referrals)


async def _support_ends(
    session: AsyncSession, child_id: str, observations: list[OutcomeObservation], referrals: list[Referral]
) -> None:
    series: dict[str, list[OutcomeObservation]] = defaultdict(list)
    for o in observations:
        series[o.outcome_id].append(o)
    for outcome in series.values():
        outcome.sort(key=lambda o: (aware(o.held_at), o.review_id))
    wanted: dict[tuple[str, str], SupportEnd] = {}
    for r in referrals:
        if r.status != "completed" or r.closed_at is None:
            continue
        ended = aware(r.closed_at)
        for outcome_id, seen in series.items():
            before = [o for o in seen if aware(o.held_at) <= ended]
            if not before:
                continue
            after = next((o for o in seen if aware(o.held_at) > ended), None)
            wanted[(r.id, outcome_id)] = SupportEnd(
                referral_id=r.id,
                outcome_id=outcome_id,
                child_id=child_id,
                service_id=r.service_id,
                la_code=before[-1].la_code,
                school_urn=before[-1].school_urn,
                completed_at=ended,
                area=before[-1].area,
                status_at_end=before[-1].status,
                status_after=after.status if after else None,
            )
    existing = {
        (s.referral_id, s.outcome_id): s
        for s in (await session.exec(select(SupportEnd).where(SupportEnd.child_id == child_id))).all()
    }
    for key, row in existing.items():
        if key not in wanted:
            await adjust(session, support_end_keys(row), [])
            await session.execute(
                delete(SupportEnd).where(col(SupportEnd.referral_id) == key[0], col(SupportEnd.outcome_id) == key[1])
            )
    for key, new in wanted.items():
        held = existing.get(key)
        if held is None:
            session.add(new)
            await adjust(session, [], support_end_keys(new))
            continue
        if support_end_keys(held) == support_end_keys(new) and held.area == new.area:
            continue
        old = support_end_keys(held)
        for field in ("service_id", "la_code", "school_urn", "completed_at", "area", "status_at_end", "status_after"):
            setattr(held, field, getattr(new, field))
        session.add(held)
        await adjust(session, old, support_end_keys(new))
