"""A notification's lifecycle: the one place where a notification's status changes.

    (new) ─► created ─► sending ─► delivered
      │        │  ▲        │ ├───► permanent-failure
      │        │  └────────┘ └───► technical-failure
      │        ▼   retry (temporary failure within the budget) or give back (rate limited)
      │     cancelled
      └─► permanent-failure   (suppressed or unusable recipient, at creation)

`sending → sending` is a provider's acceptance (its reference recorded, a receipt to follow). Every change is a
compare-and-set on the status it leaves, so a receipt, the dispatcher and a take-over never overwrite each
other, and a final status never changes (a later word from a provider is a `note` on the message). Each final
status emits `tas.notify.notification.delivered` or `.failed`; acceptance emits `.sent`. A change that makes a
row due sets `session.info[QUEUED]`. A claim leases the row to its sender; leaving `sending` (or acceptance)
ends the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Update, bindparam, case, null, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.driver import SIZES, DriverStatement, flush_pending, padded
from tas_common.events import new_event
from tas_common.events.schemas import NotificationDeliveredV1, NotificationFailedV1, NotificationSentV1
from tas_common.metrics import NOTIFICATIONS
from tas_common.outbox import add_event, add_events
from tas_common.tables import table_of
from tas_common.tracing import current_traceparent

from ..config import NotifySettings
from .models import SOURCE, Notification, NotificationEvent, dialect_of, new_id, new_notification, per_dialect

NEW = "new"
"""Not a stored status: the row does not exist yet."""
CREATED, SENDING, DELIVERED, CANCELLED = "created", "sending", "delivered", "cancelled"
TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE = "temporary-failure", "permanent-failure", "technical-failure"
FINAL = frozenset({DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, CANCELLED})
TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({CREATED, PERMANENT_FAILURE}),
    CREATED: frozenset({SENDING, CANCELLED}),
    SENDING: frozenset({SENDING, CREATED, DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE}),
}
"""A final status has no way out: what a provider says later (an email that bounces after the relay accepted
it) is recorded beside the message (`note`), never as a new status."""
QUEUED = "notify_queued"
"""`session.info` flag: this unit of work made a notification due; the dispatcher wakes after its commit
(tas_common.db.Database.on_commit(when=...)), not after every commit of the service."""


class IllegalTransition(RuntimeError):
    """A code path asked for a status change the lifecycle does not allow (a bug, never a user's input)."""


def allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def _check(old: str, new: str) -> None:
    if not allowed(old, new):
        raise IllegalTransition(f"{old} → {new}")


def _event_fields(n: Notification) -> dict[str, object]:
    return {"notification_id": n.id, "child_id": n.child_id, "channel": n.channel, "template": n.template}


_notification = table_of(Notification)
_COLUMNS = tuple(c.key for c in _notification.c)
_ADD = {
    dialect: DriverStatement(statement, columns=_COLUMNS)
    for dialect, statement in per_dialect(
        lambda dialect_insert: dialect_insert(_notification).on_conflict_do_nothing(
            index_elements=[_notification.c.dedupe_key, _notification.c.recipient_key]
        )
    ).items()
}
"""A notification row unless one exists for the same fact and recipient (the de-duplication key); every column
given (from the `Notification`), compiled once and run on the driver's cursor (tas_common.driver)."""


def claiming(ids: Any) -> Update:
    """created → sending for the rows among `ids` (a list of binds, or a subquery) still `created`, leased to the
    bind `owner` until `until`, counted as an attempt."""
    return (
        update(_notification)
        .where(_notification.c.id.in_(ids), _notification.c.status == CREATED)
        .values(
            status=SENDING,
            attempts=_notification.c.attempts + 1,
            provider=null(),
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            updated_at=bindparam("now"),
        )
    )


_CLAIM = {
    size: DriverStatement(claiming([bindparam(f"i{k}") for k in range(size)]).returning(_notification.c.id))
    for size in SIZES
}
"""The dispatcher's statements, built once: it runs them for every message."""


def _accept_many(size: int) -> DriverStatement:
    ids = [bindparam(f"i{k}", type_=_notification.c.id.type) for k in range(size)]
    refs = [bindparam(f"r{k}", type_=_notification.c.provider_ref.type) for k in range(size)]
    return DriverStatement(
        update(_notification)
        .where(_notification.c.id.in_(ids), _notification.c.status == SENDING)
        .values(
            status=bindparam("b_status"),
            provider=bindparam("b_provider"),
            provider_ref=case(*((_notification.c.id == i, r) for i, r in zip(ids, refs, strict=True))),
            lease_owner=null(),
            lease_until=null(),
            updated_at=bindparam("b_now"),
        )
        .returning(_notification.c.id)
    )


_ACCEPT_MANY = {size: _accept_many(size) for size in SIZES}
"""`accepted` for up to 64 rows of one provider and status in one compare-and-set statement (RETURNING the rows it
moved), compiled once per size and run on the driver's cursor; the rows are padded to the size with the last."""
_ADD_NOTE = per_dialect(
    lambda dialect_insert: dialect_insert(table_of(NotificationEvent)).on_conflict_do_nothing(
        index_elements=["notification_id", "kind"]
    )
)


async def _final(session: AsyncSession, n: Notification, *, reason: str | None = None) -> None:
    """`n` has just reached a final status: emit its event and count it."""
    if n.status == DELIVERED:
        payload: Any = NotificationDeliveredV1(**_event_fields(n), status=DELIVERED)
    else:
        payload = NotificationFailedV1(**_event_fields(n), status=n.status, reason=(reason or "")[:200])
    await add_event(session, new_event(payload, source=SOURCE, subject=n.id))
    NOTIFICATIONS.labels(n.channel, n.status).inc()


async def insert(session: AsyncSession, n: Notification, *, failure: str | None = None) -> bool:
    """new → created (or, with `failure`, new → permanent-failure: a suppressed address, an unusable recipient,
    so the record shows why nobody was told). One INSERT; False, and nothing written, when a row for the same
    fact and recipient exists."""
    n.status = CREATED if failure is None else PERMANENT_FAILURE
    _check(NEW, n.status)
    if failure is not None:
        n.failure_reason = failure[:300]
    if await _ADD[dialect_of(session)].execute(session, {key: getattr(n, key) for key in _COLUMNS}) != 1:
        return False
    session.info[QUEUED] = True  # wakes the dispatcher after the commit
    if failure is not None:
        await _final(session, n, reason=failure)
    else:
        NOTIFICATIONS.labels(n.channel, CREATED).inc()
    return True


async def claim_first(
    session: AsyncSession, *, statement: DriverStatement, params: dict[str, Any], owner: str, lease_until: datetime
) -> list[Notification]:
    """created → sending in ONE statement for the due rows `statement` picks (a `claiming` of a subquery, returning
    every column; scheduling.claim_due), leased to `owner` until `lease_until`; returns them (copies outside the
    session) in the order they were created."""
    _check(CREATED, SENDING)
    await flush_pending(session)  # (as session.execute did)
    rows = await statement.all(session, {**params, "owner": owner, "until": lease_until})
    return sorted((notification_of(row) for row in rows), key=lambda n: n.created_at)


def notification_of(row: Sequence[Any]) -> Notification:
    """A notification (not in the session) from a row of every column of the table, in the table's order, as a
    driver statement reads or returns it."""
    return new_notification(**dict(zip(_COLUMNS, row, strict=True)))


async def claim(
    session: AsyncSession, *, due: list[Notification], now: datetime, owner: str, lease_until: datetime
) -> list[Notification]:
    """created → sending for the rows of `due` still `created` (compare-and-set: two dispatchers never both
    claim a row), leased to `owner` until `lease_until`; returns those, with their new status and attempts."""
    _check(CREATED, SENDING)
    if not due:
        return []
    await flush_pending(session)  # (as session.execute did)
    moved: set[str] = set()
    for start in range(0, len(due), SIZES[-1]):
        fitted = padded([n.id for n in due[start : start + SIZES[-1]]])
        assert fitted is not None
        size, ids = fitted
        values = {"now": now, "owner": owner, "until": lease_until, **{f"i{k}": i for k, i in enumerate(ids)}}
        moved |= {row[0] for row in await _CLAIM[size].all(session, values)}
    claimed = []
    for n in due:
        if n.id in moved:
            n.status, n.attempts, n.provider, n.updated_at = SENDING, n.attempts + 1, None, now
            n.lease_owner, n.lease_until = owner, lease_until
            claimed.append(n)
    return claimed


async def release(session: AsyncSession, *, notification_id: str, not_before: datetime) -> None:
    """sending → created: a claimed row given back (every provider was at its rate limit), not counted as an
    attempt."""
    _check(SENDING, CREATED)
    await session.execute(
        update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.status) == SENDING,
            col(Notification.provider_ref).is_(None),
        )
        .values(
            status=CREATED,
            provider=None,
            attempts=Notification.attempts - 1,
            not_before=not_before,
            lease_owner=None,
            lease_until=None,
            updated_at=utcnow(),
        )
    )


async def accepted(
    session: AsyncSession, *, n: Notification, provider: str, provider_ref: str, delivered: bool
) -> None:
    """sending → sending (a receipt will follow) or → delivered (acceptance is final: SMTP hand-over, the dev
    outbox); the lease ends (a message with a provider reference is nobody's to send again). `n` is the
    dispatcher's copy of the row (its id, child, channel and template never change). Nothing happens unless the row
    is still `sending` (a receipt may have finished it meanwhile)."""
    await accepted_all(session, [Acceptance(n, provider, provider_ref, delivered, current_traceparent())])


class Acceptance(NamedTuple):
    """A provider accepted `n` (`accepted`'s arguments), and the trace its send ran in."""

    n: Notification
    provider: str
    provider_ref: str
    delivered: bool
    traceparent: str | None


async def accepted_all(session: AsyncSession, acceptances: Sequence[Acceptance]) -> None:
    """`accepted` for many messages at once: each row still `sending` moves exactly as `accepted` moves it, by one
    statement per provider and status (up to 64 rows each), and the events of all go in one insert."""
    groups: dict[tuple[str, bool], list[Acceptance]] = {}
    for a in acceptances:
        groups.setdefault((a.provider, a.delivered), []).append(a)
    now, events = utcnow(), []
    for (provider, delivered), group in groups.items():
        status = DELIVERED if delivered else SENDING
        _check(SENDING, status)
        for start in range(0, len(group), 64):
            chunk = group[start : start + 64]
            fitted = padded(chunk)
            assert fitted is not None
            size, rows = fitted
            params: dict[str, object] = {"b_status": status, "b_provider": provider, "b_now": now}
            for k, a in enumerate(rows):
                params[f"i{k}"], params[f"r{k}"] = a.n.id, a.provider_ref[:100]
            moved = {row[0] for row in await _ACCEPT_MANY[size].all(session, params)}
            for a in chunk:
                if a.n.id not in moved:
                    continue  # no longer `sending`: a receipt finished it meanwhile
                n = a.n
                n.provider, n.provider_ref, n.status = provider, a.provider_ref[:100], status
                events.append(
                    new_event(
                        NotificationSentV1(**_event_fields(n), status=SENDING),
                        source=SOURCE,
                        subject=n.id,
                        traceparent=a.traceparent,
                    )
                )
                if delivered:
                    events.append(
                        new_event(
                            NotificationDeliveredV1(**_event_fields(n), status=DELIVERED),
                            source=SOURCE,
                            subject=n.id,
                            traceparent=a.traceparent,
                        )
                    )
                    NOTIFICATIONS.labels(n.channel, DELIVERED).inc()
    await add_events(session, events)


async def failed(
    session: AsyncSession,
    *,
    notification_id: str,
    status: str,
    reason: str,
    settings: NotifySettings,
    now: datetime | None = None,
) -> None:
    """A send or a receipt failed. `status` is temporary-failure (sending → created after a backoff while the
    budget lasts, then → technical-failure), permanent-failure or technical-failure. Nothing happens unless the
    row is `sending`."""
    now = now or utcnow()
    n = await session.get(Notification, notification_id)
    if n is None or n.status != SENDING:
        return
    n.failure_reason, n.updated_at, n.lease_owner, n.lease_until = reason[:300], now, None, None
    if status == TEMPORARY_FAILURE and n.attempts < settings.send_budget:
        _check(SENDING, CREATED)
        n.status, n.provider_ref = CREATED, None
        n.not_before = now + timedelta(seconds=min(settings.retry_base_seconds * 2 ** (n.attempts - 1), 3600))
        session.add(n)
        session.info[QUEUED] = True  # wakes the dispatcher after the commit
        NOTIFICATIONS.labels(n.channel, TEMPORARY_FAILURE).inc()
        return
    new = TECHNICAL_FAILURE if status == TEMPORARY_FAILURE else status
    _check(SENDING, new)
    n.status = new
    session.add(n)
    session.info[QUEUED] = True  # wakes the dispatcher after the commit
    await _final(session, n, reason=reason)


async def receipt(
    session: AsyncSession,
    *,
    n: Notification,
    provider: str,
    provider_ref: str | None,
    status: str,
    reason: str,
    settings: NotifySettings,
) -> None:
    """A provider's delivery receipt for `n`. `status` is sending (accepted, on its way: its reference is
    remembered), delivered, or a failure (as `failed`). A receipt for a row `created` (an earlier attempt of a
    message being retried) or already final changes nothing."""
    if n.status != SENDING:
        return
    if status == SENDING:
        if provider_ref and not n.provider_ref:
            n.provider, n.provider_ref, n.updated_at = provider, provider_ref[:100], utcnow()
            session.add(n)
        return
    if status == DELIVERED:
        _check(SENDING, DELIVERED)
        n.status, n.updated_at = DELIVERED, utcnow()
        if provider_ref and not n.provider_ref:
            n.provider_ref = provider_ref[:100]
        session.add(n)
        await _final(session, n)
        return
    await failed(session, notification_id=n.id, status=status, reason=f"{provider}: {reason}", settings=settings)


async def note(session: AsyncSession, *, n: Notification, kind: str, detail: str) -> bool:
    """Record what a provider said about a message whose status is final (`bounced`, `complained`), once per
    kind; its status and history stay as they were. False when it was noted already."""
    if n.status not in FINAL:
        raise IllegalTransition(f"a note is for a final message, not one {n.status}")
    result = await session.exec(
        _ADD_NOTE[dialect_of(session)],
        params={"id": new_id(), "notification_id": n.id, "kind": kind, "detail": detail[:300], "at": utcnow()},
    )
    return result.rowcount == 1


async def cancel_unsent(session: AsyncSession, *, dedupe_prefix: str, keep: str, reason: str, now: datetime) -> None:
    """created → cancelled for the unsent rows whose fact starts with `dedupe_prefix`, except `keep` (the
    reminders of a review that was moved)."""
    _check(CREATED, CANCELLED)
    await session.execute(
        update(Notification)
        .where(
            col(Notification.dedupe_key).startswith(dedupe_prefix),
            col(Notification.dedupe_key) != keep,
            col(Notification.status) == CREATED,
        )
        .values(status=CANCELLED, failure_reason=reason, updated_at=now)
    )


async def forget_secret(session: AsyncSession, *, notification_id: str) -> None:
    """A sign-in code's message has been handed to a provider or has failed: its sealed code is not kept."""
    await session.execute(
        update(Notification)
        .where(col(Notification.id) == notification_id, col(Notification.secret).is_not(None))
        .values(secret=None)
    )


async def cancel_family_unsent(session: AsyncSession, *, child_id: str, reason: str, now: datetime) -> None:
    """created → cancelled for every message to the child's family not sent yet (family contact restricted)."""
    _check(CREATED, CANCELLED)
    await session.execute(
        update(Notification)
        .where(
            col(Notification.child_id) == child_id,
            col(Notification.contact_id).is_not(None),
            col(Notification.status) == CREATED,
        )
        .values(status=CANCELLED, failure_reason=reason, secret=None, updated_at=now)
    )
