"""Break-glass: open a child's record outside your relationships, with a reason; time-limited, read-only, audited
and flagged for review by the DSL of the child's school and the LA's SEND officers. Only on a child of your own LA,
unless your role works across boundaries by law (domain/access.py). Learning by a UPN search that such a child
exists (a *discovery*) is audited and waits in the same review queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Conflict, Forbidden, NotFound
from tas_common.review import list_for_review, mark_reviewed
from tas_common.visibility import is_la_officer, is_safeguarding_lead

from .access import BREAK_GLASS_ROLES, has_relationship, may_break_glass, may_break_glass_into
from .access_schemas import BreakGlassPublic, BreakGlassRequest, BreakGlassReview
from .models import BreakGlass, Child


def _public(grant: BreakGlass) -> BreakGlassPublic:
    return BreakGlassPublic.model_validate(grant, from_attributes=True)


async def _recorded(
    session: AsyncSession, principal: Principal, child: Child, *, kind: str, reason: str, hours: float
) -> BreakGlass:
    """A grant (or a discovery, which opens nothing: `hours` 0) for `principal` on `child`, written (with its id)."""
    now = utcnow()
    row = BreakGlass(
        child_id=child.id,
        sub=principal.sub,
        name=principal.name,
        org_id=principal.org_id,
        org_type=str(principal.org_type),
        roles=sorted(principal.roles),
        kind=kind,
        reason=reason,
        granted_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    await session.flush()
    return row


async def break_glass(
    session: AsyncSession, *, principal: Principal, child_id: str, data: BreakGlassRequest, hours: float
) -> BreakGlassPublic:
    if not may_break_glass(principal):
        raise Forbidden(f"break-glass is for {', '.join(BREAK_GLASS_ROLES)}")
    child = await session.get(Child, child_id)
    if child is None or child.merged_into:
        raise NotFound("no such child")
    if await has_relationship(session, principal, child):
        raise Conflict("you already have access to this child's record")
    if not await may_break_glass_into(session, principal, child):
        raise NotFound("no such child")  # another LA's child: its existence is not revealed
    grant = await _recorded(session, principal, child, kind="grant", reason=data.reason, hours=hours)
    await audit.record(
        session,
        actor=principal,
        action="break_glass",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=f"break-glass {grant.id}: {data.reason}"[:500],
    )
    return _public(grant)


DISCOVERY_REASON = "A search by UPN told them that this child exists (no access was given)"


async def record_discovery(session: AsyncSession, *, principal: Principal, child: Child) -> None:
    """A UPN search answered this caller the child's id under `break_glass_required`: audited, and flagged for
    review like a grant (a discovery opens nothing: it expires as it is made)."""
    discovery = await _recorded(session, principal, child, kind="discovery", reason=DISCOVERY_REASON, hours=0)
    await audit.record(
        session,
        actor=principal,
        action="search_break_glass_hint",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=f"break-glass discovery {discovery.id}",
    )


def _reviewer_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.org_type == OrgType.local_authority and principal.has_role("send_officer") and principal.la_code:
        return col(Child.la_code) == principal.la_code
    if principal.org_type == OrgType.school and principal.has_role("dsl"):
        return col(Child.school_urn).in_(sorted(principal.school_urns))
    raise Forbidden("the review queue is for the school's DSL and the LA's SEND officers")


async def review_queue(
    session: AsyncSession, *, principal: Principal, reviewed: bool | None, limit: int
) -> list[BreakGlassPublic]:
    """Grants on the children of the caller's schools (DSL) or LA (SEND officer), unreviewed first, newest first."""
    query = select(BreakGlass).join(Child, col(Child.id) == col(BreakGlass.child_id)).where(_reviewer_scope(principal))
    rows = await list_for_review(
        session,
        query,
        principal=principal,
        resource_type="break_glass",
        reviewed_at=col(BreakGlass.reviewed_at),
        newest=col(BreakGlass.granted_at),
        reviewed=reviewed,
        limit=limit,
    )
    return [_public(g) for g in rows]


async def review(
    session: AsyncSession, *, principal: Principal, grant_id: str, data: BreakGlassReview
) -> BreakGlassPublic:
    grant = await session.get(BreakGlass, grant_id)
    child = await session.get(Child, grant.child_id) if grant else None
    if (
        grant is None
        or child is None
        or not (
            (is_safeguarding_lead(principal, child) and principal.has_role("dsl")) or is_la_officer(principal, child)
        )
    ):
        raise NotFound("no such break-glass grant")
    await mark_reviewed(session, grant, principal=principal, resource_type="break_glass", note=data.note)
    return _public(grant)


__all__ = ["break_glass", "record_discovery", "review", "review_queue"]
