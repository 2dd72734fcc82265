"""A referral's wait for first contact as its API shows it, so that a SENCO sees which referral is late: whole days
from the day it was submitted to the day of first contact (or to today while it waits), against the target its
service publishes. Insights counts waits the same way (UTC calendar days)."""

from __future__ import annotations

from datetime import datetime

from tas_common.clock import day_of, today

from .models import Referral
from .referral_schemas import ReferralStatus

WAITING = (ReferralStatus.submitted.value, ReferralStatus.accepted.value)


def days_waiting(referral: Referral, *, now: datetime | None = None) -> int | None:
    """Days waited for first contact: until it happened, or until today while the referral is open; None for a
    referral closed without one (declined, redirected, withdrawn)."""
    start = day_of(referral.submitted_at)
    if referral.first_contact_at is not None:
        return (day_of(referral.first_contact_at) - start).days
    if referral.status in WAITING:
        return ((day_of(now) if now else today()) - start).days
    return None


def breached(days: int | None, target_days: int) -> bool:
    return days is not None and days > target_days
