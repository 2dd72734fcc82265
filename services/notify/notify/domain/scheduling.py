"""When a message may go: the SMS quiet hours, the due queue the dispatcher claims from, the leases on messages
being sent (renewed by their owner, taken over after a crash), and the messages whose receipt is overdue.
Statuses change only in `lifecycle`; this module picks the rows, moves `not_before` and the leases."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, update
from sqlalchemy import select as core_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.driver import SIZES, DriverStatement, flush_pending, padded
from tas_common.tables import table_of

from ..config import NotifySettings
from . import lifecycle
from .models import Notification

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "cy": [
        "Ionawr",
        "Chwefror",
        "Mawrth",
        "Ebrill",
        "Mai",
        "Mehefin",
        "Gorffennaf",
        "Awst",
        "Medi",
        "Hydref",
        "Tachwedd",
        "Rhagfyr",
    ],
}


def aware(value: datetime) -> datetime:
    """`value` with UTC as its zone when it has none (SQLite returns naive datetimes)."""
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def quiet_hours_end(now: datetime, *, settings: NotifySettings) -> datetime | None:
    """When `now` falls in the SMS quiet hours (e.g. 21:00-08:00 UK time), the next end of them (in UTC);
    otherwise None. Wall-clock arithmetic in the zone, so the change to and from summer time is right."""
    zone = ZoneInfo(settings.quiet_hours_zone)
    local = aware(now).astimezone(zone)
    start, end = settings.quiet_hours_start, settings.quiet_hours_end
    hour = local.hour
    quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=zone).astimezone(utcnow().tzinfo)


def send_after(channel: str, when: datetime, *, settings: NotifySettings) -> datetime | None:
    """The earliest time a message may go: `when`, moved out of the quiet hours for SMS."""
    if channel == "sms":
        moved = quiet_hours_end(when, settings=settings)
        if moved is not None:
            return moved
    return when


def format_when(value: datetime, *, language: str, settings: NotifySettings) -> str:
    local = aware(value).astimezone(ZoneInfo(settings.quiet_hours_zone))
    month = MONTHS.get(language, MONTHS["en"])[local.month - 1]
    joiner = "am" if language == "cy" else "at"
    return f"{local.day} {month} {local.year} {joiner} {local:%H:%M}"


# --- the dispatcher's queue -----------------------------------------------------------------------------------

_notification = table_of(Notification)


def _due(*columns: Any) -> Select[Any]:
    """`columns` of the due rows, oldest first, at most the bind `limit`."""
    return (
        core_select(*columns)
        .where(
            _notification.c.status == lifecycle.CREATED,
            _notification.c.not_before.is_(None) | (_notification.c.not_before <= bindparam("now")),
        )
        .order_by(_notification.c.created_at)
        .limit(bindparam("limit"))
    )


_DUE = {
    "sqlite": DriverStatement(_due(_notification)),
    "postgresql": DriverStatement(_due(_notification).with_for_update(skip_locked=True)),
}
"""The due rows on the driver, made into the dispatcher's copies by `lifecycle.notification_of` (the ORM's select built,
registered and expunged an instance a row: ~0.25 ms a claim, bench/NOTES.md session 10)."""
_PICKED = _due(_notification.c.id).with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
_CLAIM_DUE = {
    "sqlite": DriverStatement(lifecycle.claiming(_due(_notification.c.id)).returning(*_notification.columns)),
    "postgresql": DriverStatement(lifecycle.claiming(core_select(_PICKED.c.id)).returning(*_notification.columns)),
}
"""Outside the SMS quiet hours every due row is claimed: the pick and the claim are ONE statement. On PostgreSQL
the pick is a MATERIALIZED CTE, run once: as an `IN (subquery)` the planner may rescan it for each row the UPDATE
looks at (a nested-loop semi join), and each rescan skips the rows the statement itself has just locked and takes
the next `limit` — the whole queue in one claim (seen with 40 due rows and a limit of 3)."""
_DEFER = (
    update(_notification)
    .where(_notification.c.id.in_(bindparam("ids", expanding=True)))
    .values(not_before=bindparam("b_not_before"), updated_at=bindparam("now"))
)
_MARK_ATTEMPTS = {
    size: DriverStatement(
        update(_notification)
        .where(
            _notification.c.id.in_([bindparam(f"i{k}") for k in range(size)]),
            _notification.c.status == lifecycle.SENDING,
            _notification.c.provider_ref.is_(None),
            _notification.c.lease_owner == bindparam("owner"),
        )
        .values(provider=bindparam("b_provider"), updated_at=bindparam("now"))
        .returning(_notification.c.id)
    )
    for size in SIZES
}
"""The claim's statements run on the driver's cursor (tas_common.driver), an `IN` list compiled per size."""


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    dialect: str,
    settings: NotifySettings,
    owner: str,
    now: datetime | None = None,
) -> list[Notification]:
    """Claim up to `limit` due messages for `owner` (created → sending, leased for `send_lease_seconds`); only rows
    this call moved are returned (copies outside the session, with their new status and attempts, oldest first).
    Outside the SMS quiet hours the pick and the claim are one statement (lifecycle.claim_first). Inside them the
    due rows are read first: an SMS is moved to their end instead — except a sign-in code, which the person is
    waiting for (a message with a `secret`, sign_in.py) — and the others claimed (lifecycle.claim)."""
    now = now or utcnow()
    engine = "postgresql" if dialect == "postgresql" else "sqlite"
    lease_until = now + timedelta(seconds=settings.send_lease_seconds)
    quiet_until = quiet_hours_end(now, settings=settings)
    if quiet_until is None:
        return await lifecycle.claim_first(
            session,
            statement=_CLAIM_DUE[engine],
            params={"now": now, "limit": limit},
            owner=owner,
            lease_until=lease_until,
        )
    rows = await _DUE[engine].all(session, {"now": now, "limit": limit})
    due = [lifecycle.notification_of(row) for row in rows]  # carry the rows' values
    deferred = [n.id for n in due if n.channel == "sms" and not n.secret]
    if deferred:
        await session.execute(_DEFER, {"ids": deferred, "b_not_before": quiet_until, "now": now})
    return await lifecycle.claim(
        session, due=[n for n in due if n.id not in deferred], now=now, owner=owner, lease_until=lease_until
    )


async def mark_attempt(
    session: AsyncSession, *, notification_id: str, provider: str, owner: str, now: datetime | None = None
) -> bool:
    """Record which provider is about to be called (whoever takes the message over after a crash needs it).
    False when the row is no longer this sender's (not `sending`, a provider reference already, another owner)."""
    return notification_id in await mark_attempts(
        session, notification_ids=[notification_id], provider=provider, owner=owner, now=now
    )


async def mark_attempts(
    session: AsyncSession, *, notification_ids: list[str], provider: str, owner: str, now: datetime | None = None
) -> set[str]:
    """`mark_attempt` for many rows in one statement; returns the ids marked."""
    if not notification_ids:
        return set()
    await flush_pending(session)  # (as session.execute did) a row the ORM changed in this unit of work
    marked: set[str] = set()
    for start in range(0, len(notification_ids), SIZES[-1]):
        fitted = padded(notification_ids[start : start + SIZES[-1]])
        assert fitted is not None
        size, ids = fitted
        values = {"b_provider": provider, "owner": owner, "now": now or utcnow()}
        marked |= {row[0] for row in await _MARK_ATTEMPTS[size].all(session, {**values, **_ids(ids)})}
    return marked


def _ids(ids: list[str]) -> dict[str, str]:
    return {f"i{k}": i for k, i in enumerate(ids)}


_INTERRUPTED = (
    select(Notification)
    .where(
        Notification.status == lifecycle.SENDING,
        col(Notification.provider_ref).is_(None),
        (col(Notification.lease_until) < bindparam("now"))
        | (col(Notification.lease_until).is_(None) & (col(Notification.updated_at) < bindparam("legacy_before"))),
    )
    .order_by(col(Notification.lease_until))
    .limit(bindparam("limit"))
)
_INTERRUPTED_SKIP_LOCKED = _INTERRUPTED.with_for_update(skip_locked=True)
_TAKE_OVER = (
    update(_notification)
    .where(
        _notification.c.id.in_(bindparam("ids", expanding=True)),
        _notification.c.status == lifecycle.SENDING,
        _notification.c.provider_ref.is_(None),
        (_notification.c.lease_until < bindparam("now")) | _notification.c.lease_until.is_(None),
    )
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
    .returning(_notification.c.id)
)
_RENEW = (
    update(_notification)
    .where(
        _notification.c.id.in_(bindparam("ids", expanding=True)),
        _notification.c.lease_owner == bindparam("owner"),
        _notification.c.status == lifecycle.SENDING,
    )
    .values(lease_until=bindparam("until"))
)


async def take_over(
    session: AsyncSession, *, owner: str, settings: NotifySettings, now: datetime, dialect: str, limit: int = 50
) -> list[Notification]:
    """Messages whose sender stopped working on them (a crash: `sending`, no provider reference, the lease run
    out) become `owner`'s, leased anew; returns them (detached), each with the provider that was being called.
    Compare-and-set on the expired lease, so two processes never both take one."""
    lease = timedelta(seconds=settings.send_lease_seconds)
    statement = _INTERRUPTED_SKIP_LOCKED if dialect == "postgresql" else _INTERRUPTED
    found = list(
        (await session.execute(statement, {"now": now, "legacy_before": now - lease, "limit": limit})).scalars().all()
    )
    for n in found:
        session.expunge(n)
    if not found:
        return []
    until = now + lease
    values = {"ids": [n.id for n in found], "now": now, "owner": owner, "until": until}
    taken = set((await session.execute(_TAKE_OVER, values)).scalars().all())
    for n in found:
        n.lease_owner, n.lease_until = owner, until
    return [n for n in found if n.id in taken]


async def renew(
    session: AsyncSession, *, owner: str, notification_ids: list[str], settings: NotifySettings, now: datetime
) -> None:
    """Extend `owner`'s leases on the messages it is still working on."""
    if notification_ids:
        until = now + timedelta(seconds=settings.send_lease_seconds)
        await session.execute(_RENEW, {"ids": notification_ids, "owner": owner, "until": until})


async def receipt_overdue(
    session: AsyncSession, *, settings: NotifySettings, now: datetime, limit: int = 100
) -> list[Notification]:
    """Messages a provider accepted (`sending` with its reference) whose delivery receipt has not come within
    `receipt_timeout_seconds`."""
    before = now - timedelta(seconds=settings.receipt_timeout_seconds)
    return list(
        (
            await session.exec(
                select(Notification)
                .where(
                    Notification.status == lifecycle.SENDING,
                    col(Notification.provider_ref).is_not(None),
                    col(Notification.updated_at) < before,
                )
                .order_by(col(Notification.updated_at))
                .limit(limit)
            )
        ).all()
    )
