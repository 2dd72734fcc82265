"""Who may see a child's record: the rule every service shares (tas_common.visibility: the child's team members, the
child's school's SENCO/DSL/head, the LA's SEND officers, and the child's own family, who get the family-facing view),
asked of caseload's own team and family records. Anyone else is told the child does not exist (404). A merged duplicate answers 410 with a pointer to the survivor, to those who may see the survivor.

Items (plan entries, chronology entries) carry a sensitivity, enforced on every read path:

- `family`: everyone who may see the child, the family included;
- `team`: everyone who may see the child except the family;
- `agency`: only callers of the authoring organisation's type (a health note stays inside health);
- `restricted`: only the authoring organisation and the DSL/SENCO of the child's school.

Break-glass: a practitioner holding one of BREAK_GLASS_ROLES may, by giving a reason, open a record outside their
relationships for `TAS_BREAK_GLASS_HOURS` (default 4). The grant is read-only (a write answers 403), every read under
it writes an extra `break_glass_read` audit row with the grant's reason, and it is flagged for review. It does not
cross local authorities: a DSL or SEND officer breaks glass (and learns by a UPN search that a child exists) only on
children of their own LA; the roles that work across boundaries by law (CROSS_BOUNDARY_ROLES) on any child.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import DomainError, Forbidden, NotFound
from tas_common.visibility import (
    is_safeguarding_lead,
    may_see_child,
)

from .models import BreakGlass, Child, ChronologyEntry, FamilyMember, TeamMember

SENSITIVITIES = ("family", "team", "agency", "restricted")
BREAK_GLASS_ROLES = ("social_worker", "camhs", "send_officer", "dsl")
"""Practitioners who may open a record outside their relationships by giving a reason (read-only, time-limited)."""
CROSS_BOUNDARY_ROLES = {OrgType.social_care: ("social_worker",), OrgType.health: ("camhs",)}
"""Who may break glass on a child of any local authority: children's social care and CAMHS work across boundaries
by law (a child placed out of area, a child presenting at another area's A&E). Everyone else: the child's own LA."""


class Gone(DomainError):
    status, slug, title = 410, "merged", "This record was merged into another"


async def active_membership(session: AsyncSession, principal: Principal, child_id: str) -> TeamMember | None:
    if principal.org_type in (OrgType.family, OrgType.mis):
        return None
    return (
        await session.exec(
            select(TeamMember).where(
                TeamMember.child_id == child_id,
                TeamMember.sub == principal.sub,
                TeamMember.org_id == principal.org_id,
                col(TeamMember.left_at).is_(None),
            )
        )
    ).first()


async def family_member_of(session: AsyncSession, principal: Principal, child_id: str) -> FamilyMember | None:
    """The caller's own family member record for this child: a family token names the child in `child_ids` and
    one of the family members it speaks for (`sub`, or one of `member_ids` when one person is the contact of
    several children) is the child's family member here. The claims alone are not trusted (a mis-issued or forged
    `child_ids` must not open another child's record)."""
    if principal.org_type != OrgType.family or child_id not in principal.child_ids:
        return None
    return (
        await session.exec(
            select(FamilyMember).where(
                col(FamilyMember.id).in_(sorted(principal.family_member_ids)),
                FamilyMember.child_id == child_id,
            )
        )
    ).first()


async def is_family_member(session: AsyncSession, principal: Principal, child_id: str) -> bool:
    return await family_member_of(session, principal, child_id) is not None


def may_break_glass(principal: Principal) -> bool:
    return principal.org_type not in (OrgType.family, OrgType.mis) and principal.has_role(*BREAK_GLASS_ROLES)


async def local_authorities_of(session: AsyncSession, principal: Principal) -> set[str]:
    """The caller's local authorities: an LA officer's `la_code`; for school staff, the LA of their schools as
    caseload's own records have it (the LA each of their schools' children was registered under)."""
    if principal.org_type == OrgType.local_authority:
        return {principal.la_code} if principal.la_code else set()
    if principal.org_type == OrgType.school and principal.school_urns:
        found = await session.exec(
            select(Child.la_code)
            .where(col(Child.school_urn).in_(sorted(principal.school_urns)), col(Child.la_code).is_not(None))
            .distinct()
        )
        return {la for la in found.all() if la}
    return set()


async def may_break_glass_into(session: AsyncSession, principal: Principal, child: Child) -> bool:
    """Break-glass on this child (and learning by a UPN search that it exists): a break-glass role, and either a
    role that crosses LA boundaries by law or a caller of the child's own LA."""
    if not may_break_glass(principal):
        return False
    if principal.has_role(*CROSS_BOUNDARY_ROLES.get(principal.org_type, ())):
        return True
    return child.la_code is not None and child.la_code in await local_authorities_of(session, principal)


async def active_grant(session: AsyncSession, principal: Principal, child_id: str) -> BreakGlass | None:
    """The caller's unexpired break-glass grant on this child, if any."""
    if not may_break_glass(principal):
        return None
    return (
        await session.exec(
            select(BreakGlass)
            .where(
                BreakGlass.child_id == child_id,
                BreakGlass.sub == principal.sub,
                BreakGlass.org_id == principal.org_id,
                BreakGlass.kind == "grant",
                BreakGlass.expires_at > utcnow(),
            )
            .order_by(col(BreakGlass.expires_at).desc())
        )
    ).first()


async def can_see_child(session: AsyncSession, principal: Principal, child: Child) -> bool:
    """A relationship, or an unexpired break-glass grant."""
    return (
        await has_relationship(session, principal, child)
        or await active_grant(session, principal, child.id) is not None
    )


async def is_lead_professional(session: AsyncSession, principal: Principal, child_id: str) -> bool:
    member = await active_membership(session, principal, child_id)
    return member is not None and member.lead


async def has_relationship(session: AsyncSession, principal: Principal, child: Child) -> bool:
    """The shared rule (tas_common.visibility), asked of caseload's own team and family records."""

    async def on_team() -> bool:
        return await active_membership(session, principal, child.id) is not None

    async def in_family() -> bool:  # not while family contact is restricted (a token minted before fails too)
        return not child.family_contact_restricted and await is_family_member(session, principal, child.id)

    return await may_see_child(principal, child.id, child, on_team=on_team, in_family=in_family)


async def visible_child(
    session: AsyncSession, principal: Principal, child_id: str, *, allow_merged: bool = False, write: bool = False
) -> Child:
    """Load the child or 404; a merged duplicate is 410 with `merged_into` (404 to those who cannot see it).
    Under a break-glass grant: reads pass (and are audited as `break_glass_read`), writes are 403."""
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound("no such child")
    if child.merged_into and not allow_merged:
        survivor = await session.get(Child, child.merged_into)
        if survivor is not None and await can_see_child(session, principal, survivor):
            raise Gone(f"merged into child {survivor.id}", merged_into=survivor.id)
        raise NotFound("no such child")
    if await has_relationship(session, principal, child):
        return child
    grant = await active_grant(session, principal, child.id)
    if grant is None:
        raise NotFound("no such child")
    if write:
        raise Forbidden("break-glass gives read access only")
    await audit.record(
        session,
        actor=principal,
        action="break_glass_read",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=f"break-glass {grant.id}: {grant.reason}"[:500],
    )
    return child


def not_family(principal: Principal) -> None:
    if principal.org_type == OrgType.family:
        raise Forbidden("families see the family view only")


def can_see_item(
    principal: Principal,
    child: Child,
    *,
    sensitivity: str,
    org_id: str | None,
    org_type: str | None,
    section: str | None = None,
) -> bool:
    """The sensitivity rule for one item. Callers have already passed `can_see_child`."""
    if principal.org_type == OrgType.family:
        if section == "about_me":
            return sensitivity in ("family", "team")
        return sensitivity == "family"
    if sensitivity in ("family", "team"):
        return True
    if sensitivity == "agency":
        return org_type is not None and principal.org_type == org_type
    if sensitivity == "restricted":
        return (org_id is not None and principal.org_id == org_id) or is_safeguarding_lead(principal, child)
    return False


def visible_items(
    principal: Principal, child: Child, items: list[dict[str, Any]], section: str
) -> list[dict[str, Any]]:
    return [
        i
        for i in items
        if can_see_item(
            principal,
            child,
            sensitivity=i.get("sensitivity", "team"),
            org_id=i.get("org_id"),
            org_type=i.get("org_type"),
            section=section,
        )
    ]


def chronology_visibility(principal: Principal, child: Child) -> ColumnElement[bool]:
    """The same rule as `can_see_item`, as SQL over ChronologyEntry (so that pages stay full)."""
    return chronology_visibility_for(principal, safeguarding_lead=is_safeguarding_lead(principal, child))


def chronology_visibility_for(principal: Principal, *, safeguarding_lead: bool) -> ColumnElement[bool]:
    """`chronology_visibility` for children of whom the caller is (or is not) a safeguarding lead (a list)."""
    c = ChronologyEntry
    if principal.org_type == OrgType.family:
        return col(c.sensitivity) == "family"
    restricted = and_(
        col(c.sensitivity) == "restricted", true() if safeguarding_lead else col(c.org_id) == principal.org_id
    )
    return or_(
        col(c.sensitivity).in_(("family", "team")),
        and_(col(c.sensitivity) == "agency", col(c.org_type) == str(principal.org_type)),
        restricted if principal.org_id else false(),
    )
