"""Use cases for notifications: keep the replicas (contacts, child scope, team), create messages for a trigger,
claim and record sends, apply delivery receipts, and decide who may read what.

A notification row is created in the same transaction as the event that triggers it, unique per *fact* and
recipient (`dedupe_key`, `recipient_key`): a redelivered event, or a second event about the same fact, creates
nothing twice. The dispatcher claims a row atomically (created → sending) before it calls a provider, and records
the outcome in a second transaction.

Lifecycle: created → sending → delivered | temporary-failure (back to created with a backoff while the budget
lasts, then technical-failure) | permanent-failure | technical-failure; `cancelled` for a review reminder whose
review was moved. Each final status emits `tas.notify.notification.delivered` or `.failed`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.consumer import RetryLater
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.events import new_event
from tas_common.events.schemas import (
    ConcernLinkedV1,
    FamilyContactChangedV1,
    NotificationDeliveredV1,
    NotificationFailedV1,
    NotificationSentV1,
    PlanPublishedV1,
    ReferralEventBase,
    ReferralSubmittedV1,
    ReviewScheduledV1,
    TeamMemberV1,
)
from tas_common.metrics import NOTIFICATIONS
from tas_common.outbox import add_event, add_events
from tas_common.tracing import current_traceparent

from ..config import NotifySettings
from . import recipients
from .models import ChildScope, Contact, Notification, TeamMember
from .schemas import NotificationPublic
from .templates import Template, Value
from .templates_store import template_for

SOURCE = "tas/notify"
QUEUED = "notify_queued"
"""`session.info` flag: this unit of work created or changed a notification; the dispatcher wakes after its commit
(tas_common.db.Database.on_commit(when=...)), not after every commit of the service."""
SCHOOL_LEADS = ("senco", "dsl", "head")
FINAL = ("delivered", "permanent-failure", "technical-failure", "cancelled")
FAILED = ("permanent-failure", "technical-failure", "temporary-failure")
REFERRAL_TEMPLATES = {
    "accepted": "referral_accepted",
    "declined": "referral_declined",
    "redirected": "referral_redirected",
}
PLAN_TEMPLATES = {"shared_for_comment": "plan_shared_for_comment", "agreed": "plan_agreed"}
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


class ContactsNotYetKnown(RetryLater):
    """The trigger names contacts whose details have not arrived yet; retry the event later."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


# --- replicas -------------------------------------------------------------------------------------------------

_contact = Contact.__table__
_scope = ChildScope.__table__
_notification = Notification.__table__
# Statements of the event handlers' hot path, built once (Core: no ORM identity map, no flush per row).
_CONTACT_STATE = core_select(_contact.c.preferences_set_at, _contact.c.opted_out).where(
    _contact.c.id == bindparam("b_id")
)
_INSERT_CONTACT = insert(_contact)
_UPDATE_CONTACT = update(_contact).where(_contact.c.id == bindparam("b_id"))


def _per_dialect(build: Callable[[Callable[..., Any]], Any]) -> dict[str, Any]:
    """The statement for each database TAS runs on: SQLAlchemy spells INSERT ... ON CONFLICT per dialect."""
    return {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}


def _put_scope(dialect_insert: Callable[..., Any]) -> Any:
    statement = dialect_insert(_scope)
    return statement.on_conflict_do_update(
        index_elements=[_scope.c.child_id],
        set_={"school_urn": statement.excluded.school_urn, "la_code": statement.excluded.la_code},
    )


_PUT_SCOPE = _per_dialect(_put_scope)
_ADD_SCOPE = _per_dialect(
    lambda dialect_insert: dialect_insert(_scope).on_conflict_do_nothing(index_elements=[_scope.c.child_id])
)
_RECIPIENT_COLUMNS = (
    _contact.c.id,
    _contact.c.parental_responsibility,
    _contact.c.opted_out,
    _contact.c.removed,
    _contact.c.preferred_channel,
    _contact.c.mobile,
    _contact.c.email,
    _contact.c.language,
)
_CHILD_CONTACTS = (
    core_select(*_RECIPIENT_COLUMNS).where(_contact.c.child_id == bindparam("child_id")).order_by(_contact.c.id)
)
_ADD_NOTIFICATION = _per_dialect(
    lambda dialect_insert: dialect_insert(_notification).on_conflict_do_nothing(
        index_elements=[_notification.c.dedupe_key, _notification.c.recipient_key]
    )
)
"""A notification row unless one exists for the same fact and recipient (the de-duplication key)."""


async def upsert_contact(session: AsyncSession, *, change: FamilyContactChangedV1, event_time: datetime) -> None:
    """Caseload owns contact data. A preference the contact set here later than this event is kept; an opt-out
    recorded here stays in the suppression list whatever caseload says."""
    known = (await session.execute(_CONTACT_STATE, {"b_id": change.contact_id})).first()
    local_newer = (
        known is not None
        and known.preferences_set_at is not None
        and _aware(known.preferences_set_at) > _aware(event_time)
    )
    values: dict[str, object] = {
        "child_id": change.child_id,
        "relationship": change.relationship,
        "parental_responsibility": change.parental_responsibility,
        "mobile": change.mobile,
        "email": change.email,
        "removed": change.removed,
        "opted_out": change.opted_out or (local_newer and bool(known.opted_out)),
        "updated_at": utcnow(),
    }
    if not local_newer:
        values |= {"preferred_channel": change.preferred_channel, "language": change.language}
    if known is None:
        await session.execute(_INSERT_CONTACT, {**values, "id": change.contact_id, "preferences_set_at": None})
    else:
        await session.execute(_UPDATE_CONTACT, {**values, "b_id": change.contact_id})
    if change.opted_out:
        await _suppress_contact(session, contact=change, source="caseload opt-out")


async def _suppress_contact(session: AsyncSession, *, contact: Contact | FamilyContactChangedV1, source: str) -> None:
    for channel, raw in (("sms", contact.mobile), ("email", contact.email)):
        if raw:
            try:
                address = recipients.normalise(channel, raw)
            except recipients.InvalidRecipient:
                continue
            await recipients.suppress(session, channel=channel, address=address, reason="opt-out", source=source)


async def remember_child_scope(
    session: AsyncSession, *, child_id: str, school_urn: str, la_code: str | None, only_if_unknown: bool = False
) -> None:
    statement = (_ADD_SCOPE if only_if_unknown else _PUT_SCOPE)[_dialect(session)]
    await session.execute(statement, {"child_id": child_id, "school_urn": school_urn, "la_code": la_code})


async def team_member_changed(session: AsyncSession, *, member: TeamMemberV1, added: bool) -> None:
    key = (member.child_id, member.member_sub, member.org_id)
    existing = await session.get(TeamMember, key)
    if added and existing is None:
        session.add(TeamMember(child_id=member.child_id, member_sub=member.member_sub, org_id=member.org_id))
    elif not added and existing is not None:
        await session.delete(existing)
        await session.flush()


# --- when to send ---------------------------------------------------------------------------------------------


def quiet_hours_end(now: datetime, *, settings: NotifySettings) -> datetime | None:
    """When `now` falls in the SMS quiet hours (e.g. 21:00-08:00 UK time), the next end of them (in UTC);
    otherwise None. Wall-clock arithmetic in the zone, so the change to and from summer time is right."""
    zone = ZoneInfo(settings.quiet_hours_zone)
    local = _aware(now).astimezone(zone)
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
    local = _aware(value).astimezone(ZoneInfo(settings.quiet_hours_zone))
    month = MONTHS.get(language, MONTHS["en"])[local.month - 1]
    joiner = "am" if language == "cy" else "at"
    return f"{local.day} {month} {local.year} {joiner} {local:%H:%M}"


# --- creating messages ----------------------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def _insert(session: AsyncSession, n: Notification, *, failure: str | None = None) -> bool:
    """Write a new notification row in one INSERT; False (and nothing written) when a row for the same fact and
    recipient exists. With `failure`, the row is at once a permanent failure (suppressed address, unusable
    recipient) and `notification.failed` is emitted."""
    if failure is not None:
        n.status, n.failure_reason = "permanent-failure", failure[:300]
    result = await session.execute(
        _ADD_NOTIFICATION[_dialect(session)], {column.key: getattr(n, column.key) for column in _notification.c}
    )
    if result.rowcount != 1:
        return False
    session.info[QUEUED] = True  # wakes the dispatcher after the commit
    if failure is not None:
        await add_event(
            session,
            new_event(
                NotificationFailedV1(**_event_fields(n), status=n.status, reason=failure[:200]),
                source=SOURCE,
                subject=n.id,
            ),
        )
        NOTIFICATIONS.labels(n.channel, n.status).inc()
    return True


async def create_message(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    trigger_event_id: str,
    dedupe_key: str,
    recipient_key: str,
    template: str,
    language: str,
    channel: str,
    recipient: str,
    child_id: str | None,
    contact_id: str | None,
    values: Mapping[str, Value],
    not_before: datetime | None,
    now: datetime,
) -> Notification | None:
    """One message for one recipient about one fact; None when it exists already. An address on the suppression
    list gives a row that is at once `permanent-failure` (reason `suppressed: ...`), so the record shows why."""
    tmpl: Template = await template_for(session, name=template, channel=channel, language=language)
    subject, body = tmpl.render(values, max_fragments=settings.sms_max_fragments)
    when = send_after(channel, max(_aware(not_before), now) if not_before else now, settings=settings)
    n = Notification(
        child_id=child_id,
        contact_id=contact_id,
        trigger_event_id=trigger_event_id,
        dedupe_key=dedupe_key,
        recipient_key=recipient_key,
        template=tmpl.name,
        template_id=tmpl.id,
        template_version=tmpl.version,
        language=tmpl.language,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        not_before=when if when and when > now else None,
        created_at=now,
        updated_at=now,
        traceparent=current_traceparent(),
    )
    blocked = await recipients.suppression_reason(session, channel=channel, address=recipient) if recipient else None
    if not await _insert(session, n, failure=f"suppressed: {blocked}" if blocked is not None else None):
        return None
    NOTIFICATIONS.labels(channel, "created").inc()
    return n


async def family_recipients(session: AsyncSession, *, child_id: str, contact_ids: list[str] | None = None) -> list[Row]:
    """The child's contacts with parental responsibility who have not opted out (rows with the contact's `id`,
    `preferred_channel`, `mobile`, `email` and `language`)."""
    contacts = (await session.execute(_CHILD_CONTACTS, {"child_id": child_id})).all()
    if contact_ids is not None:
        named = set(contact_ids)
        contacts = [c for c in contacts if c.id in named]
        if len(contacts) < len(named):
            raise ContactsNotYetKnown(f"{len(named) - len(contacts)} contact(s) not yet known")
    return [c for c in contacts if c.parental_responsibility and not c.opted_out and not c.removed]


def contact_language(contact: Contact | Row) -> str:
    return (contact.language or "en")[:2].lower()


async def notify_family(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    child_id: str,
    trigger_event_id: str,
    dedupe_key: str,
    template: str,
    values: Callable[[str], dict[str, Value]],
    now: datetime,
    not_before: datetime | None = None,
    contact_ids: list[str] | None = None,
) -> list[Notification]:
    created = []
    for contact in await family_recipients(session, child_id=child_id, contact_ids=contact_ids):
        language = contact_language(contact)
        try:
            route = recipients.route_for(contact)
        except recipients.InvalidRecipient as exc:
            n = Notification(
                child_id=child_id,
                contact_id=contact.id,
                trigger_event_id=trigger_event_id,
                dedupe_key=dedupe_key,
                recipient_key=contact.id,
                template=template,
                template_version=0,
                language=language,
                channel=contact.preferred_channel,
                recipient="",
                body="",
                created_at=now,
                updated_at=now,
            )
            if await _insert(session, n, failure=f"invalid recipient: {exc}"):
                created.append(n)
            continue
        n = await create_message(
            session,
            settings=settings,
            trigger_event_id=trigger_event_id,
            dedupe_key=dedupe_key,
            recipient_key=contact.id,
            template=template,
            language=language,
            channel=route.channel,
            recipient=route.recipient,
            child_id=child_id,
            contact_id=contact.id,
            values=values(language),
            not_before=not_before,
            now=now,
        )
        if n is not None:
            created.append(n)
    return created


# --- triggers -------------------------------------------------------------------------------------------------


async def acknowledge_concern(
    session: AsyncSession, *, settings: NotifySettings, linked: ConcernLinkedV1, event_id: str, now: datetime
) -> list[Notification]:
    """Tell the family that the school asked for support, unless the concern is a safeguarding one."""
    await remember_child_scope(session, child_id=linked.child_id, school_urn=linked.school_urn, la_code=linked.la_code)
    if linked.safeguarding:
        return []
    return await notify_family(
        session,
        settings=settings,
        child_id=linked.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"concern.linked:{linked.concern_id}",
        template="concern_acknowledged",
        values=lambda _: {"link": settings.family_portal_url},
        now=now,
        contact_ids=linked.family_contact_ids,
    )


async def referral_outcome(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    kind: str,
    referral: ReferralEventBase,
    event_id: str,
    now: datetime,
) -> list[Notification]:
    """Referral accepted / declined / redirected → the family. Nothing for a safeguarding referral, nor for one
    not yet linked to a child (there is no family to address)."""
    if referral.child_id is None:
        return []
    await remember_child_scope(
        session, child_id=referral.child_id, school_urn=referral.school_urn, la_code=None, only_if_unknown=True
    )
    if referral.safeguarding:
        return []
    return await notify_family(
        session,
        settings=settings,
        child_id=referral.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"referral.{kind}:{referral.referral_id}",
        template=REFERRAL_TEMPLATES[kind],
        values=lambda _: {"link": settings.family_portal_url},
        now=now,
    )


async def plan_published(
    session: AsyncSession, *, settings: NotifySettings, plan: PlanPublishedV1, event_id: str, now: datetime
) -> list[Notification]:
    template = PLAN_TEMPLATES.get(plan.status)
    if template is None or plan.safeguarding:
        return []
    return await notify_family(
        session,
        settings=settings,
        child_id=plan.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"plan.{plan.status}:{plan.plan_id}:v{plan.version}",
        template=template,
        values=lambda _: {"link": settings.family_portal_url},
        now=now,
    )


async def review_scheduled(
    session: AsyncSession, *, settings: NotifySettings, review: ReviewScheduledV1, event_id: str, now: datetime
) -> list[Notification]:
    """Tell the family now, and remind them `review_reminder_days` before (a `not_before` row). A review moved
    to another time cancels the reminders for the old time that have not gone."""
    if review.safeguarding:
        return []
    when = _aware(review.scheduled_for)
    stamp = when.astimezone(utcnow().tzinfo).strftime("%Y%m%dT%H%M")
    await session.execute(
        update(Notification)
        .where(
            col(Notification.dedupe_key).startswith(f"review.reminder:{review.review_id}:"),
            col(Notification.dedupe_key) != f"review.reminder:{review.review_id}:{stamp}",
            col(Notification.status) == "created",
        )
        .values(status="cancelled", failure_reason="review moved", updated_at=now)
    )

    def values(language: str) -> dict[str, Value]:
        return {
            "link": settings.family_portal_url,
            "review_date": format_when(when, language=language, settings=settings),
        }

    created = await notify_family(
        session,
        settings=settings,
        child_id=review.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"review.scheduled:{review.review_id}:{stamp}",
        template="review_scheduled",
        values=values,
        now=now,
    )
    remind_at = when - timedelta(days=settings.review_reminder_days)
    if remind_at > now:
        created += await notify_family(
            session,
            settings=settings,
            child_id=review.child_id,
            trigger_event_id=event_id,
            dedupe_key=f"review.reminder:{review.review_id}:{stamp}",
            template="review_reminder",
            values=values,
            now=now,
            not_before=remind_at,
        )
    return created


async def referral_submitted(
    session: AsyncSession, *, settings: NotifySettings, referral: ReferralSubmittedV1, event_id: str, now: datetime
) -> list[Notification]:
    """A new referral → the receiving service's team inbox (an email address from the local offer)."""
    if referral.child_id is not None:
        await remember_child_scope(
            session, child_id=referral.child_id, school_urn=referral.school_urn, la_code=None, only_if_unknown=True
        )
    if not referral.service_contact_email:
        return []
    try:
        address = recipients.normalise("email", referral.service_contact_email)
    except recipients.InvalidRecipient:
        return []
    n = await create_message(
        session,
        settings=settings,
        trigger_event_id=event_id,
        dedupe_key=f"referral.submitted:{referral.referral_id}",
        recipient_key=f"inbox:{referral.service_id}",
        template="referral_received",
        language="en",
        channel="email",
        recipient=address,
        child_id=referral.child_id,
        contact_id=None,
        now=now,
        not_before=None,
        values={
            "link": f"{settings.practitioner_portal_url}/{referral.referral_id}",
            "reference": referral.referral_id[:8].upper(),
            "urgent": referral.urgency in ("urgent", "emergency"),
        },
    )
    return [n] if n is not None else []


# --- dispatching ----------------------------------------------------------------------------------------------

_DUE = (
    select(Notification)
    .where(
        Notification.status == "created",
        col(Notification.not_before).is_(None) | (col(Notification.not_before) <= bindparam("now")),
    )
    .order_by(col(Notification.created_at))
    .limit(bindparam("limit"))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)
_CLAIM = (
    update(_notification)
    .where(
        _notification.c.id.in_(bindparam("ids", expanding=True)),
        _notification.c.status == "created",
    )
    .values(status="sending", attempts=_notification.c.attempts + 1, provider=None, updated_at=bindparam("now"))
    .returning(_notification.c.id)
)
_DEFER = (
    update(_notification)
    .where(_notification.c.id.in_(bindparam("ids", expanding=True)))
    .values(not_before=bindparam("b_not_before"), updated_at=bindparam("now"))
)
_MARK_ATTEMPTS = (
    update(_notification)
    .where(
        _notification.c.id.in_(bindparam("ids", expanding=True)),
        _notification.c.status == "sending",
        _notification.c.provider_ref.is_(None),
    )
    .values(provider=bindparam("b_provider"), updated_at=bindparam("now"))
    .returning(_notification.c.id)
)
_ACCEPT = update(_notification).where(_notification.c.id == bindparam("b_id"), _notification.c.status == "sending")
"""The dispatcher's statements, built once: it runs them for every message."""


async def claim_due(
    session: AsyncSession, *, limit: int, dialect: str, settings: NotifySettings, now: datetime | None = None
) -> list[Notification]:
    """Move up to `limit` due messages from created to sending; only rows this call moved are returned (detached
    from the session, with their new status and attempts). An SMS that comes due inside the quiet hours is moved
    to their end instead."""
    now = now or utcnow()
    due = list(
        (await session.execute(_DUE_SKIP_LOCKED if dialect == "postgresql" else _DUE, {"now": now, "limit": limit}))
        .scalars()
        .all()
    )
    for n in due:
        session.expunge(n)  # the claim below is the write; the objects only carry the rows' values
    quiet_until = quiet_hours_end(now, settings=settings)
    deferred = [n.id for n in due if n.channel == "sms" and quiet_until is not None]
    if deferred:
        await session.execute(_DEFER, {"ids": deferred, "b_not_before": quiet_until, "now": now})
    wanted = [n for n in due if n.id not in deferred]
    if not wanted:
        return []
    moved = set((await session.execute(_CLAIM, {"ids": [n.id for n in wanted], "now": now})).scalars().all())
    claimed = []
    for n in wanted:
        if n.id in moved:
            n.status, n.attempts, n.provider, n.updated_at = "sending", n.attempts + 1, None, now
            claimed.append(n)
    return claimed


async def mark_attempt(
    session: AsyncSession, *, notification_id: str, provider: str, now: datetime | None = None
) -> bool:
    """Record which provider is about to be called (the sweeper needs it after a crash). False when the row is
    no longer this sender's (not `sending`, or it has a provider reference already)."""
    return notification_id in await mark_attempts(
        session, notification_ids=[notification_id], provider=provider, now=now
    )


async def mark_attempts(
    session: AsyncSession, *, notification_ids: list[str], provider: str, now: datetime | None = None
) -> set[str]:
    """`mark_attempt` for many rows in one statement; returns the ids marked."""
    if not notification_ids:
        return set()
    return set(
        (
            await session.execute(
                _MARK_ATTEMPTS, {"ids": notification_ids, "b_provider": provider, "now": now or utcnow()}
            )
        )
        .scalars()
        .all()
    )


async def release(session: AsyncSession, *, notification_id: str, not_before: datetime) -> None:
    """Give a claimed row back (every provider was at its rate limit): not counted as an attempt."""
    await session.execute(
        update(Notification)
        .where(
            col(Notification.id) == notification_id,
            col(Notification.status) == "sending",
            col(Notification.provider_ref).is_(None),
        )
        .values(
            status="created",
            provider=None,
            attempts=Notification.attempts - 1,
            not_before=not_before,
            updated_at=utcnow(),
        )
    )


async def stuck(session: AsyncSession, *, older_than: datetime, limit: int = 50) -> list[Notification]:
    """Messages a crash left half-way: `sending`, no provider reference, untouched since `older_than`."""
    return list(
        (
            await session.exec(
                select(Notification)
                .where(
                    Notification.status == "sending",
                    col(Notification.provider_ref).is_(None),
                    col(Notification.updated_at) < older_than,
                )
                .order_by(col(Notification.updated_at))
                .limit(limit)
            )
        ).all()
    )


async def reclaim(session: AsyncSession, *, n: Notification, now: datetime) -> bool:
    """The sweeper takes a stuck row (compare-and-set on `updated_at`, so two sweepers never both do)."""
    result = await session.execute(
        update(Notification)
        .where(
            col(Notification.id) == n.id,
            col(Notification.status) == "sending",
            col(Notification.provider_ref).is_(None),
            col(Notification.updated_at) == n.updated_at,
        )
        .values(updated_at=now)
    )
    return result.rowcount == 1


async def blocked_by_suppression(session: AsyncSession, *, n: Notification) -> str | None:
    return await recipients.suppression_reason(session, channel=n.channel, address=n.recipient)


async def blocked_among(session: AsyncSession, *, rows: list[Notification]) -> dict[str, str]:
    """`blocked_by_suppression` for many rows in one query: notification id → suppression reason."""
    reasons = await recipients.suppression_reasons(session, addresses=[(n.channel, n.recipient) for n in rows])
    return {n.id: reasons[(n.channel, n.recipient)] for n in rows if (n.channel, n.recipient) in reasons}


def _event_fields(n: Notification) -> dict[str, object]:
    return {"notification_id": n.id, "child_id": n.child_id, "channel": n.channel, "template": n.template}


async def record_accepted(
    session: AsyncSession, *, n: Notification, provider: str, provider_ref: str, delivered: bool
) -> None:
    """The provider accepted `n` (the dispatcher's copy of the row: its id, child, channel and template never
    change). Nothing happens unless the row is still `sending` (a receipt may have finished it meanwhile)."""
    status = "delivered" if delivered else "sending"
    result = await session.execute(
        _ACCEPT,
        {
            "b_id": n.id,
            "provider": provider,
            "provider_ref": provider_ref[:100],
            "status": status,
            "updated_at": utcnow(),
        },
    )
    if result.rowcount != 1:
        return
    n.provider, n.provider_ref, n.status = provider, provider_ref[:100], status
    trace = current_traceparent()
    events = [
        new_event(
            NotificationSentV1(**_event_fields(n), status="sending"), source=SOURCE, subject=n.id, traceparent=trace
        )
    ]
    if delivered:
        events.append(
            new_event(
                NotificationDeliveredV1(**_event_fields(n), status="delivered"),
                source=SOURCE,
                subject=n.id,
                traceparent=trace,
            )
        )
        NOTIFICATIONS.labels(n.channel, "delivered").inc()
    await add_events(session, events)


async def record_failure(
    session: AsyncSession,
    *,
    notification_id: str,
    status: str,
    reason: str,
    settings: NotifySettings,
    now: datetime | None = None,
) -> None:
    """`status` is temporary-failure (tried again after a backoff while the budget lasts, then a technical
    failure), permanent-failure or technical-failure."""
    now = now or utcnow()
    n = await session.get(Notification, notification_id)
    if n is None or n.status != "sending":
        return
    n.failure_reason, n.updated_at = reason[:300], now
    if status == "temporary-failure" and n.attempts < settings.send_budget:
        n.status, n.provider_ref = "created", None
        n.not_before = now + timedelta(seconds=min(settings.retry_base_seconds * 2 ** (n.attempts - 1), 3600))
        session.add(n)
        session.info[QUEUED] = True  # wakes the dispatcher after the commit
        NOTIFICATIONS.labels(n.channel, "temporary-failure").inc()
        return
    n.status = "technical-failure" if status == "temporary-failure" else status
    session.add(n)
    session.info[QUEUED] = True  # wakes the dispatcher after the commit
    await add_event(
        session,
        new_event(
            NotificationFailedV1(**_event_fields(n), status=n.status, reason=reason[:200]), source=SOURCE, subject=n.id
        ),
    )
    NOTIFICATIONS.labels(n.channel, n.status).inc()


async def apply_receipt(
    session: AsyncSession,
    *,
    provider: str,
    provider_ref: str | None,
    reference: str | None,
    status: str,
    reason: str,
    settings: NotifySettings,
) -> Notification | None:
    """A provider's delivery receipt. `status` is sending (accepted, on its way), delivered, temporary-failure,
    permanent-failure or technical-failure; a permanent failure suppresses the address (a number that does not exist, a hard bounce).
    A receipt for a message already final changes nothing."""
    n = None
    if reference:
        n = await session.get(Notification, reference)
    if n is None and provider_ref:
        n = (await session.exec(select(Notification).where(Notification.provider_ref == provider_ref))).first()
    if n is None or n.status in FINAL:
        return n
    if n.status == "created":  # a receipt for an earlier attempt of a message being retried: too late to matter
        return n
    if status == "sending":  # accepted by the provider, not yet delivered: remember its reference
        if provider_ref and not n.provider_ref:
            n.provider, n.provider_ref, n.updated_at = provider, provider_ref[:100], utcnow()
            session.add(n)
            session.info[QUEUED] = True  # wakes the dispatcher after the commit
        return n
    if status == "delivered":
        n.status, n.updated_at = "delivered", utcnow()
        if provider_ref and not n.provider_ref:
            n.provider_ref = provider_ref
        session.add(n)
        session.info[QUEUED] = True  # wakes the dispatcher after the commit
        await add_event(
            session,
            new_event(NotificationDeliveredV1(**_event_fields(n), status="delivered"), source=SOURCE, subject=n.id),
        )
        NOTIFICATIONS.labels(n.channel, "delivered").inc()
        return n
    if status == "permanent-failure" and n.recipient:
        await recipients.suppress(
            session, channel=n.channel, address=n.recipient, reason="hard-bounce", source=f"{provider} receipt"
        )
    await record_failure(
        session, notification_id=n.id, status=status, reason=f"{provider}: {reason}", settings=settings
    )
    return n


# --- reading --------------------------------------------------------------------------------------------------


async def can_read_child(session: AsyncSession, *, principal: Principal, child_id: str) -> bool:
    """Like caseload: the child's team, the school's SENCO/DSL/head, the LA's SEND officers, the family (a contact
    of this child here, whose token names the child: `child_ids` alone is not trusted)."""
    if principal.org_type == OrgType.family:
        contact = await session.get(Contact, principal.sub)
        return (
            child_id in principal.child_ids
            and contact is not None
            and not contact.removed
            and contact.child_id == child_id
        )
    if await session.get(TeamMember, (child_id, principal.sub, principal.org_id)) is not None:
        return True
    scope = await session.get(ChildScope, child_id)
    if scope is None:
        return False
    if principal.org_type == OrgType.school:
        return scope.school_urn in principal.school_urns and principal.has_role(*SCHOOL_LEADS)
    if principal.org_type == OrgType.local_authority:
        return scope.la_code is not None and scope.la_code == principal.la_code and principal.has_role("send_officer")
    return False


async def list_for_child(
    session: AsyncSession, *, principal: Principal, child_id: str, limit: int
) -> list[NotificationPublic]:
    """A family member sees only the messages sent to them (their token's `sub` is their contact id)."""
    if not await can_read_child(session, principal=principal, child_id=child_id):
        raise NotFound("no such child")
    query = select(Notification).where(Notification.child_id == child_id)
    if principal.org_type == OrgType.family:
        query = query.where(Notification.contact_id == principal.sub)
    rows = (
        await session.exec(query.order_by(col(Notification.created_at).desc(), col(Notification.id)).limit(limit))
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="notifications", resource_id=child_id, child_id=child_id
    )
    return [NotificationPublic.model_validate(n, from_attributes=True) for n in rows]


async def get_notification(session: AsyncSession, *, principal: Principal, notification_id: str) -> NotificationPublic:
    n = await session.get(Notification, notification_id)
    visible = (
        n is not None
        and n.child_id is not None
        and await can_read_child(session, principal=principal, child_id=n.child_id)
    )
    if visible and principal.org_type == OrgType.family:
        visible = n.contact_id == principal.sub  # type: ignore[union-attr]
    if not visible or n is None:
        raise NotFound("no such notification")
    await audit.record(
        session, actor=principal, action="read", resource_type="notification", resource_id=n.id, child_id=n.child_id
    )
    return NotificationPublic.model_validate(n, from_attributes=True)
