"""Reading notifications: who may see a child's messages (whoever may see the child, by the rule every service
shares: tas_common.visibility), and a family member only their own."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import NotFound
from tas_common.visibility import may_see_child

from .models import ChildScope, Contact, Notification, NotificationEvent, TeamMember
from .schemas import NotificationEventPublic, NotificationPublic
from .sign_in import masked


async def can_read_child(session: AsyncSession, *, principal: Principal, child_id: str) -> bool:
    """The shared rule (tas_common.visibility), asked of notify's replicas: the team it keeps from caseload's
    events, and its contacts (a family token's `sub` or `member_ids` must name a contact of this child here)."""

    async def on_team() -> bool:
        return await session.get(TeamMember, (child_id, principal.sub, principal.org_id)) is not None

    async def in_family() -> bool:  # `sub`, or one of `member_ids`: one person who is the contact of several children
        contacts = (
            await session.exec(select(Contact).where(col(Contact.id).in_(sorted(principal.family_member_ids))))
        ).all()
        return any(c.child_id == child_id and not c.removed for c in contacts)

    scope = await session.get(ChildScope, child_id)
    return await may_see_child(principal, child_id, scope, on_team=on_team, in_family=in_family)


async def list_for_child(
    session: AsyncSession, *, principal: Principal, child_id: str, limit: int
) -> list[NotificationPublic]:
    """A family member sees only the messages sent to them (their token's `sub` or `member_ids`: their contact
    ids)."""
    if not await can_read_child(session, principal=principal, child_id=child_id):
        raise NotFound("no such child")
    query = select(Notification).where(Notification.child_id == child_id)
    if principal.org_type == OrgType.family:
        query = query.where(col(Notification.contact_id).in_(sorted(principal.family_member_ids)))
    rows = (
        await session.exec(query.order_by(col(Notification.created_at).desc(), col(Notification.id)).limit(limit))
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="notifications", resource_id=child_id, child_id=child_id
    )
    return await _public(session, list(rows))


async def get_notification(session: AsyncSession, *, principal: Principal, notification_id: str) -> NotificationPublic:
    n = await session.get(Notification, notification_id)
    if n is None or n.child_id is None or not await can_read_child(session, principal=principal, child_id=n.child_id):
        raise NotFound("no such notification")
    if principal.org_type == OrgType.family and (
        n.contact_id is None or n.contact_id not in principal.family_member_ids
    ):
        raise NotFound("no such notification")  # a family member reads the messages sent to them only
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
        NotificationPublic.model_validate(n, from_attributes=True).model_copy(
            update={"events": events[n.id], "body": masked(n.body), "subject": masked(n.subject)}
        )
        for n in rows
    ]
