"""The current wait the local offer shows for each service, honest about small numbers.

It is the median of the days from submission to first contact of the service's referrals that reached first contact
in the last 12 months. A median of fewer than 5 referrals is never computed for the public: one of 1 to 4 could
point at the children behind it (a parent who knows the one referral made this year knows its wait). Then, and when
none were measured, the service's own published estimate (`current_wait_days`, kept by the offer administrators) is
shown, said to be theirs.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow

from .directory_schemas import CurrentWait
from .models import Referral, Service

SMALL_NUMBER = 5
"""A published wait is a median of at least this many referrals."""
WINDOW = timedelta(days=365)
"""The referrals that reached first contact within this window are measured."""


def wait_words(days: int) -> str:
    if days < 14:
        return f"about {days} day{'s' if days != 1 else ''}"
    return f"about {round(days / 7)} weeks"


def current_wait(durations: Sequence[float], *, estimate: int | None) -> CurrentWait:
    """From the days each recent referral waited for first contact, and the service's own estimate."""
    said = f"the service estimates {wait_words(estimate)}" if estimate is not None else None
    if len(durations) >= SMALL_NUMBER:
        median = round(statistics.median(durations))
        return CurrentWait(
            basis="measured",
            days=median,
            referrals_measured=len(durations),
            service_estimate_days=estimate,
            text=f"{wait_words(median)} (median of {len(durations)} referrals in the last 12 months)",
        )
    if durations:
        return CurrentWait(
            basis="fewer_than_5_referrals",
            days=estimate,
            referrals_measured=None,
            service_estimate_days=estimate,
            text="fewer than 5 referrals in the last 12 months" + (f"; {said}" if said else ""),
        )
    return CurrentWait(
        basis="service_estimate" if estimate is not None else "not_known",
        days=estimate,
        referrals_measured=None,
        service_estimate_days=estimate,
        text=said or "not known",
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def current_waits(
    session: AsyncSession, services: Sequence[Service], *, now: datetime | None = None
) -> dict[str, CurrentWait]:
    """Each service's current wait, in one query for all of them."""
    if not services:
        return {}
    since = (now or utcnow()) - WINDOW
    rows = await session.exec(
        select(Referral.service_id, Referral.submitted_at, Referral.first_contact_at).where(
            col(Referral.service_id).in_([s.id for s in services]),
            col(Referral.first_contact_at) >= since,
        )
    )
    durations: dict[str, list[float]] = {s.id: [] for s in services}
    for service_id, submitted_at, first_contact_at in rows.all():
        if first_contact_at is None:  # not selected (the filter needs one); for the type checker
            continue
        days = (_aware(first_contact_at) - _aware(submitted_at)).total_seconds() / 86400.0
        durations[service_id].append(days)
    return {s.id: current_wait(durations[s.id], estimate=s.current_wait_days) for s in services}
