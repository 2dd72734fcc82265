"""Who has read or written the child's record in caseload: the audit rows about the child, newest first. For the
SENCO and DSL of the child's school, the lead professional and the family. The family sees the organisation and
its type, never the person or the reason given (a reason may itself be sensitive). Referral's and notify's own
audit logs are not included: each service keeps its own chain (`tas audit-verify`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden
from tas_common.paging import Key, Keyset, Page
from tas_common.tables import audit_log
from tas_common.visibility import is_school_lead

from .access import is_lead_professional, visible_child
from .schemas import AccessLogEntry

BREAK_GLASS_ACTIONS = ("break_glass", "break_glass_read")


ORDER = Keyset("access-log", Key(audit_log.c.seq, descending=True))
"""Newest first."""


async def access_log(
    session: AsyncSession, *, principal: Principal, child_id: str, limit: int, cursor: str | None
) -> Page[AccessLogEntry]:
    child = await visible_child(session, principal, child_id)
    family = principal.org_type == OrgType.family
    if not (
        family
        or (is_school_lead(principal, child) and principal.has_role("senco", "dsl"))
        or await is_lead_professional(session, principal, child.id)
    ):
        raise Forbidden(
            "the access log is for the SENCO and DSL of the child's school, the lead professional and the family"
        )
    query = select(audit_log).where(audit_log.c.child_id == child.id)
    if cursor:
        query = query.where(ORDER.after(cursor))
    rows = (await session.execute(query.order_by(*ORDER.order_by()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    await audit.record(
        session, actor=principal, action="read", resource_type="access_log", resource_id=child.id, child_id=child.id
    )
    items = [
        AccessLogEntry(
            at=r.at,
            action=r.action,
            resource_type=r.resource_type,
            actor=None if family else r.actor,
            actor_org=r.actor_org,
            actor_org_type=r.actor_org_type,
            break_glass=r.action in BREAK_GLASS_ACTIONS,
            reason=None if family else r.reason,
        )
        for r in rows
    ]
    return Page[AccessLogEntry](items=items, next_cursor=ORDER.cursor((rows[-1].seq,)) if more and rows else None)
