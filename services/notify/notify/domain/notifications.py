"""Use cases for notifications: keep the contact replica, create messages for a trigger, claim and record sends.

A notification row is created in the same transaction as the event that triggers it (unique per event and
contact, so a redelivered event creates nothing twice). The dispatcher claims a row atomically
(created → sending) before it calls the provider, and records the outcome in a second transaction.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.consumer import RetryLater
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.events import new_event
from tas_common.events.schemas import (ConcernLinkedV1, FamilyContactChangedV1, NotificationDeliveredV1,
                                       NotificationFailedV1, NotificationSentV1)
from tas_common.metrics import NOTIFICATIONS
from tas_common.outbox import add_event
from tas_common.tracing import current_traceparent

from .models import ChildScope, Contact, Notification
from .schemas import NotificationPublic
from .templates import template_for

SOURCE = "tas/notify"
SCHOOL_LEADS = ("senco", "dsl", "head")


class ContactsNotYetKnown(RetryLater):
    """The trigger names contacts whose details have not arrived yet; retry the event later."""


async def upsert_contact(session: AsyncSession, *, change: FamilyContactChangedV1) -> None:
    contact = await session.get(Contact, change.contact_id) or Contact(id=change.contact_id, child_id=change.child_id,
                                                                      relationship=change.relationship,
                                                                      parental_responsibility=False,
                                                                      preferred_channel=change.preferred_channel)
    for field in ("child_id", "relationship", "parental_responsibility", "mobile", "email", "preferred_channel",
                  "language", "opted_out", "removed"):
        setattr(contact, field, getattr(change, field))
    contact.updated_at = utcnow()
    session.add(contact)


async def remember_child_scope(session: AsyncSession, *, child_id: str, school_urn: str, la_code: str | None) -> None:
    scope = await session.get(ChildScope, child_id) or ChildScope(child_id=child_id, school_urn=school_urn)
    scope.school_urn, scope.la_code = school_urn, la_code
    session.add(scope)


async def family_recipients(session: AsyncSession, *, child_id: str, contact_ids: list[str] | None = None
                            ) -> list[Contact]:
    query = select(Contact).where(Contact.child_id == child_id)
    if contact_ids is not None:
        query = query.where(col(Contact.id).in_(contact_ids))
    contacts = list((await session.exec(query)).all())
    if contact_ids is not None and len(contacts) < len(set(contact_ids)):
        raise ContactsNotYetKnown(f"{len(set(contact_ids)) - len(contacts)} contact(s) not yet known")
    return [c for c in contacts if c.parental_responsibility and not c.opted_out and not c.removed]


async def create_for_contacts(session: AsyncSession, *, trigger_event_id: str, template: str, child_id: str,
                              contacts: list[Contact], values: dict[str, str]) -> list[Notification]:
    created = []
    for contact in contacts:
        exists = (await session.exec(select(Notification.id).where(
            Notification.trigger_event_id == trigger_event_id, Notification.contact_id == contact.id))).first()
        if exists is not None:
            continue
        channel = contact.preferred_channel
        recipient = contact.mobile if channel == "sms" else contact.email
        if not recipient:
            continue
        tmpl = template_for(template, channel, contact.language)
        subject, body = tmpl.render(values)
        notification = Notification(child_id=child_id, contact_id=contact.id, trigger_event_id=trigger_event_id,
                                    template=tmpl.name, template_version=tmpl.version, language=tmpl.language,
                                    channel=channel, recipient=recipient, subject=subject, body=body,
                                    traceparent=current_traceparent())
        session.add(notification)
        created.append(notification)
        NOTIFICATIONS.labels(channel, "created").inc()
    return created


async def acknowledge_concern(session: AsyncSession, *, linked: ConcernLinkedV1, event_id: str,
                              portal_url: str) -> list[Notification]:
    """Tell the family that the school asked for support, unless the concern is a safeguarding one."""
    await remember_child_scope(session, child_id=linked.child_id, school_urn=linked.school_urn,
                               la_code=linked.la_code)
    if linked.safeguarding:
        return []
    contacts = await family_recipients(session, child_id=linked.child_id, contact_ids=linked.family_contact_ids)
    return await create_for_contacts(session, trigger_event_id=event_id, template="concern_acknowledged",
                                     child_id=linked.child_id, contacts=contacts, values={"link": portal_url})


async def claim_due(session: AsyncSession, *, limit: int, dialect: str) -> list[Notification]:
    """Move up to `limit` due messages from created to sending; only rows this call moved are returned."""
    now = utcnow()
    query = select(Notification).where(Notification.status == "created").where(
        (col(Notification.not_before).is_(None)) | (col(Notification.not_before) <= now)
    ).order_by(col(Notification.created_at)).limit(limit)
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list((await session.exec(query)).all())
    claimed = []
    for notification in due:
        result = await session.execute(update(Notification).where(
            col(Notification.id) == notification.id, col(Notification.status) == "created").values(
            status="sending", attempts=Notification.attempts + 1, updated_at=now))
        if result.rowcount == 1:
            claimed.append(notification)
    return claimed


def _event_fields(n: Notification) -> dict[str, object]:
    return {"notification_id": n.id, "child_id": n.child_id, "channel": n.channel, "template": n.template}


async def record_accepted(session: AsyncSession, *, notification_id: str, provider: str, provider_ref: str,
                          delivered: bool) -> None:
    n = await session.get(Notification, notification_id)
    if n is None or n.status not in ("sending",):
        return
    n.provider, n.provider_ref, n.updated_at = provider, provider_ref, utcnow()
    n.status = "delivered" if delivered else "sending"
    session.add(n)
    await add_event(session, new_event(NotificationSentV1(**_event_fields(n), status="sending"),
                                       source=SOURCE, subject=n.id))
    if delivered:
        await add_event(session, new_event(NotificationDeliveredV1(**_event_fields(n), status="delivered"),
                                           source=SOURCE, subject=n.id))
        NOTIFICATIONS.labels(n.channel, "delivered").inc()


async def record_failure(session: AsyncSession, *, notification_id: str, permanent: bool, reason: str,
                         budget: int) -> None:
    n = await session.get(Notification, notification_id)
    if n is None or n.status != "sending":
        return
    n.failure_reason, n.updated_at = reason[:300], utcnow()
    if not permanent and n.attempts < budget:
        n.status = "created"
        n.not_before = utcnow() + timedelta(seconds=min(5 * 2 ** n.attempts, 3600))
        session.add(n)
        return
    n.status = "permanent-failure" if permanent else "technical-failure"
    session.add(n)
    await add_event(session, new_event(NotificationFailedV1(**_event_fields(n), status=n.status, reason=reason[:200]),
                                       source=SOURCE, subject=n.id))
    NOTIFICATIONS.labels(n.channel, n.status).inc()


def _can_read(principal: Principal, scope: ChildScope | None, child_id: str) -> bool:
    if principal.org_type == OrgType.family:
        return child_id in principal.child_ids
    if scope is None:
        return False
    if principal.org_type == OrgType.school:
        return scope.school_urn in principal.school_urns and principal.has_role(*SCHOOL_LEADS)
    if principal.org_type == OrgType.local_authority:
        return scope.la_code is not None and scope.la_code == principal.la_code and principal.has_role("send_officer")
    return False


async def list_for_child(session: AsyncSession, *, principal: Principal, child_id: str,
                         limit: int) -> list[NotificationPublic]:
    scope = await session.get(ChildScope, child_id)
    if not _can_read(principal, scope, child_id):
        raise NotFound("no such child")
    rows = (await session.exec(select(Notification).where(Notification.child_id == child_id)
                               .order_by(col(Notification.created_at).desc()).limit(limit))).all()
    await audit.record(session, actor=principal, action="read", resource_type="notifications", resource_id=child_id,
                       child_id=child_id)
    return [NotificationPublic.model_validate(n, from_attributes=True) for n in rows]


async def get_notification(session: AsyncSession, *, principal: Principal, notification_id: str) -> NotificationPublic:
    n = await session.get(Notification, notification_id)
    scope = await session.get(ChildScope, n.child_id) if n and n.child_id else None
    if n is None or n.child_id is None or not _can_read(principal, scope, n.child_id):
        raise NotFound("no such notification")
    await audit.record(session, actor=principal, action="read", resource_type="notification", resource_id=n.id,
                       child_id=n.child_id)
    return NotificationPublic.model_validate(n, from_attributes=True)
