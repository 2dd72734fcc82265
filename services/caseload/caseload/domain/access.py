"""Who may see a child's record (DESIGN.md §5): the child's team members, the child's school's SENCO/DSL/head, the
LA's SEND officers, and the child's own family (the family-facing view). Anyone else is told the child does not
exist (404). A merged duplicate answers 410 with a pointer to the survivor, to those who may see the survivor.

Items (plan entries, chronology entries) carry a sensitivity, enforced on every read path:

- `family`: everyone who may see the child, the family included;
- `team`: everyone who may see the child except the family;
- `agency`: only callers of the authoring organisation's type (a health note stays inside health);
- `restricted`: only the authoring organisation and the DSL/SENCO of the child's school.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import OrgType, Principal
from tas_common.errors import DomainError, Forbidden, NotFound

from .models import Child, ChronologyEntry, TeamMember

SCHOOL_LEADS = ("senco", "dsl", "head")
SAFEGUARDING_LEADS = ("senco", "dsl")
LA_ROLES = ("send_officer",)
SENSITIVITIES = ("family", "team", "agency", "restricted")


class Gone(DomainError):
    status, slug, title = 410, "merged", "This record was merged into another"


def is_school_lead(principal: Principal, child: Child) -> bool:
    return (principal.org_type == OrgType.school and child.school_urn in principal.school_urns
            and principal.has_role(*SCHOOL_LEADS))


def is_la_officer(principal: Principal, child: Child) -> bool:
    return (principal.org_type == OrgType.local_authority and child.la_code is not None
            and child.la_code == principal.la_code and principal.has_role(*LA_ROLES))


def is_safeguarding_lead(principal: Principal, child: Child) -> bool:
    return is_school_lead(principal, child) and principal.has_role(*SAFEGUARDING_LEADS)


async def active_membership(session: AsyncSession, principal: Principal, child_id: str) -> TeamMember | None:
    if principal.org_type in (OrgType.family, OrgType.mis):
        return None
    return (await session.exec(select(TeamMember).where(
        TeamMember.child_id == child_id, TeamMember.sub == principal.sub, TeamMember.org_id == principal.org_id,
        TeamMember.left_at.is_(None)))).first()  # type: ignore[union-attr]


async def can_see_child(session: AsyncSession, principal: Principal, child: Child) -> bool:
    match principal.org_type:
        case OrgType.school if is_school_lead(principal, child):
            return True
        case OrgType.local_authority if is_la_officer(principal, child):
            return True
        case OrgType.family:
            return child.id in principal.child_ids
        case OrgType.mis:
            return False
    return await active_membership(session, principal, child.id) is not None


async def visible_child(session: AsyncSession, principal: Principal, child_id: str, *,
                        allow_merged: bool = False) -> Child:
    """Load the child or 404; a merged duplicate is 410 with `merged_into` (404 to those who cannot see it)."""
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound("no such child")
    if child.merged_into and not allow_merged:
        survivor = await session.get(Child, child.merged_into)
        if survivor is not None and await can_see_child(session, principal, survivor):
            raise Gone(f"merged into child {survivor.id}", merged_into=survivor.id)
        raise NotFound("no such child")
    if not await can_see_child(session, principal, child):
        raise NotFound("no such child")
    return child


def not_family(principal: Principal) -> None:
    if principal.org_type == OrgType.family:
        raise Forbidden("families see the family view only")


def can_see_item(principal: Principal, child: Child, *, sensitivity: str, org_id: str | None,
                 org_type: str | None, section: str | None = None) -> bool:
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


def visible_items(principal: Principal, child: Child, items: list[dict[str, Any]],
                  section: str) -> list[dict[str, Any]]:
    return [i for i in items if can_see_item(principal, child, sensitivity=i.get("sensitivity", "team"),
                                             org_id=i.get("org_id"), org_type=i.get("org_type"), section=section)]


def chronology_visibility(principal: Principal, child: Child) -> ColumnElement[bool]:
    """The same rule as `can_see_item`, as SQL over ChronologyEntry (so that pages stay full)."""
    c = ChronologyEntry
    if principal.org_type == OrgType.family:
        return c.sensitivity == "family"  # type: ignore[return-value]
    restricted = and_(c.sensitivity == "restricted",
                      true() if is_safeguarding_lead(principal, child) else c.org_id == principal.org_id)
    return or_(c.sensitivity.in_(("family", "team")),  # type: ignore[attr-defined]
               and_(c.sensitivity == "agency", c.org_type == str(principal.org_type)),
               restricted if principal.org_id else false())
