"""Reading notifications: who may see a child's messages (as caseload decides who sees the child: the child's
team, the school's SENCO/DSL/head, the LA's SEND officers, the family), and a family member only their own."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import NotFound

from .models import ChildScope, Contact, Notification, NotificationEvent, TeamMember
from .schemas import NotificationEventPublic, NotificationPublic

SCHOOL_LEADS = ("senco", "dsl", "head")


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
    return await _public(session, list(rows))


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
    (public,) = await _public(session, [n])
    return public


async def history(session: AsyncSession, *, notification_ids: list[str]) -> dict[str, list[NotificationEventPublic]]:
    """What providers said about these messages after their status was final, oldest first, by message."""
    found: dict[str, list[NotificationEventPublic]] = {i: [] for i in notification_ids}
    if not notification_ids:
        return found
    events = await session.exec(
        select(NotificationEvent)
        .where(col(NotificationEvent.notification_id).in_(notification_ids))
        .order_by(col(NotificationEvent.at), col(NotificationEvent.id))
    )
    for e in events:
        found[e.notification_id].append(NotificationEventPublic(kind=e.kind, detail=e.detail, at=e.at))
    return found


async def _public(session: AsyncSession, rows: list[Notification]) -> list[NotificationPublic]:
    events = await history(session, notification_ids=[n.id for n in rows])
    return [
        NotificationPublic.model_validate(n, from_attributes=True).model_copy(update={"events": events[n.id]})
        for n in rows
    ]
