"""Waiting times: for each referral the days from submission to a decision (accept, decline, redirect) and to
first contact; per service and per school the median, the 90th percentile, what is still open and how many waits
broke the service's target (submission to first contact).

Percentiles interpolate linearly between the closest ranks (as `statistics.quantiles(method="inclusive")` and
numpy's default do): the median of 1, 2, 3, 4 days is 2.5; the 90th percentile of 1..10 days is 9.1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.visibility import is_la_officer

from . import offer, schools
from .models import Referral, Service
from .referral_rules import is_school_staff_of
from .referral_schemas import ReferralStatus, WaitFigures, WaitingTimes

DAY = 86400.0


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _days(start: datetime, end: datetime) -> float:
    return (_aware(end) - _aware(start)).total_seconds() / DAY


def figures(values: list[float]) -> WaitFigures:
    return WaitFigures(count=len(values), median_days=percentile(values, 0.5), p90_days=percentile(values, 0.9))


def measure(
    rows: Iterable[tuple[Referral, int]],
    *,
    scope: str,
    id: str,
    name: str | None,
    target: int | None,
    now: datetime | None = None,
) -> WaitingTimes:
    """`rows`: each referral with its service's target wait in days."""
    now = now or utcnow()
    to_decision: list[float] = []
    to_contact: list[float] = []
    awaiting_decision = awaiting_contact = breaches = open_breaches = total = 0
    for referral, target_days in rows:
        total += 1
        if referral.decided_at is not None:
            to_decision.append(_days(referral.submitted_at, referral.decided_at))
        if referral.first_contact_at is not None:
            waited = _days(referral.submitted_at, referral.first_contact_at)
            to_contact.append(waited)
            breaches += waited > target_days
            continue
        still_waiting = referral.status == ReferralStatus.submitted or referral.status == ReferralStatus.accepted
        if not still_waiting:
            continue
        if referral.status == ReferralStatus.submitted:
            awaiting_decision += 1
        else:
            awaiting_contact += 1
        if _days(referral.submitted_at, now) > target_days:
            breaches += 1
            open_breaches += 1
    return WaitingTimes(
        scope=scope,
        id=id,
        name=name,
        target_wait_days=target,
        referrals=total,
        to_decision=figures(to_decision),
        to_first_contact=figures(to_contact),
        open_count=awaiting_decision + awaiting_contact,
        awaiting_decision=awaiting_decision,
        awaiting_first_contact=awaiting_contact,
        breaches=breaches,
        open_breaches=open_breaches,
        as_of=now,
    )


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _window(query: _Query, since: datetime | None, until: datetime | None) -> _Query:
    if since is not None:
        query = query.where(col(Referral.submitted_at) >= since)
    if until is not None:
        query = query.where(col(Referral.submitted_at) < until)
    return query


async def service_waiting(
    session: AsyncSession, *, service_id: str, since: datetime | None, until: datetime | None
) -> WaitingTimes:
    """Aggregate figures of a service of the local offer: no child's data, visible to any signed-in caller."""
    service = await offer.load(session, service_id)
    referrals = (
        await session.exec(_window(select(Referral).where(Referral.service_id == service.id), since, until))
    ).all()
    return measure(
        ((r, service.target_wait_days) for r in referrals),
        scope="service",
        id=service.id,
        name=service.name,
        target=service.target_wait_days,
    )


async def school_waiting(
    session: AsyncSession, *, principal: Principal, urn: str, since: datetime | None, until: datetime | None
) -> WaitingTimes:
    """Waits of the referrals a school made, each against its own service's target; for the school's staff and
    its LA's SEND officers."""
    school = await schools.lookup(session, urn)
    if school is None or not (is_school_staff_of(principal, urn) or is_la_officer(principal, school)):
        raise NotFound("no such school")
    rows = (
        await session.exec(
            _window(
                select(Referral, Service.target_wait_days)
                .join(Service, col(Referral.service_id) == col(Service.id))
                .where(Referral.school_urn == urn),
                since,
                until,
            )
        )
    ).all()
    await audit.record(session, actor=principal, action="read", resource_type="school_waiting", resource_id=urn)
    return measure(rows, scope="school", id=urn, name=school.name, target=None)
