"""The caller's caseload: the children they can work with, by name, one page at a time (GET /v1/caseload).

- The SENCO, DSL or head of a school: the children of their schools (`school_urns`), or of one of them.
- The LA's SEND officers: the children of their LA (`la_code`), or of one school in it.
- Everyone else (health, social care, other LA and school staff): the children on whose team they are an active
  member (matched by `sub` and `org_id`).

Each item says whether the caller is on the child's team, their role there, whether they are the lead, and when
the newest chronology entry they may see was recorded. Merged-away children never appear. Pages are ordered by
family name, given name and id, with a keyset cursor, so that each page is one index range
(ix_child_school_urn_name, ix_child_la_code_name, ix_team_member_sub_org), however long the list.
Every child listed is a read of the child's data: one audit row each.
"""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from sqlalchemy import and_, func, tuple_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden, InvalidInput

from .access import LA_ROLES, SCHOOL_LEADS, chronology_visibility, is_safeguarding_lead, not_family
from .models import Child, ChronologyEntry, TeamMember
from .schemas import CaseloadItem, Page


def encode_cursor(child: Child) -> str:
    raw = json.dumps([child.family_name, child.given_name, child.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str, str]:
    try:
        family_name, given_name, child_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not all(isinstance(v, str) for v in (family_name, given_name, child_id)):
            raise ValueError
        return family_name, given_name, child_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("not a cursor this service issued", field="cursor") from None


def _membership(principal: Principal):  # type: ignore[no-untyped-def]
    """The caller's active membership of the child's team, as a join condition."""
    return and_(TeamMember.child_id == Child.id, TeamMember.sub == principal.sub,
                TeamMember.org_id == principal.org_id, TeamMember.left_at.is_(None))  # type: ignore[union-attr]


async def _last_activity(session: AsyncSession, principal: Principal, children: list[Child]) -> dict[str, datetime]:
    """The newest chronology entry each child has that the caller may see (the sensitivity rule in SQL): one
    grouped query per kind of relationship (a safeguarding lead of the child's school sees restricted entries),
    each an index range on ix_chronology_entry_child_at."""
    groups: dict[bool, list[Child]] = {}
    for child in children:
        groups.setdefault(is_safeguarding_lead(principal, child), []).append(child)
    latest: dict[str, datetime] = {}
    c = ChronologyEntry
    for members in groups.values():
        rows = (await session.exec(
            select(c.child_id, func.max(c.at))
            .where(c.child_id.in_([m.id for m in members]),  # type: ignore[attr-defined]
                   chronology_visibility(principal, members[0]))
            .group_by(c.child_id))).all()
        latest.update({child_id: at for child_id, at in rows if at is not None})
    return latest


async def my_caseload(session: AsyncSession, *, principal: Principal, school_urn: str | None = None,
                      limit: int = 50, cursor: str | None = None) -> Page[CaseloadItem]:
    not_family(principal)
    if principal.org_type == OrgType.mis:
        raise Forbidden("a school's MIS has no caseload")
    query = select(Child, TeamMember.role, TeamMember.lead, TeamMember.id)
    if principal.org_type == OrgType.school and principal.has_role(*SCHOOL_LEADS):
        if school_urn is not None and school_urn not in principal.school_urns:
            raise Forbidden("not one of your schools", field="school_urn")
        urns = [school_urn] if school_urn else sorted(principal.school_urns)
        if not urns:
            return Page[CaseloadItem](items=[])
        query = query.outerjoin(TeamMember, _membership(principal)).where(
            Child.school_urn == urns[0] if len(urns) == 1 else Child.school_urn.in_(urns))  # type: ignore[attr-defined]
    elif principal.org_type == OrgType.local_authority and principal.has_role(*LA_ROLES) and principal.la_code:
        query = query.outerjoin(TeamMember, _membership(principal)).where(Child.la_code == principal.la_code)
        if school_urn is not None:
            query = query.where(Child.school_urn == school_urn)
    else:
        query = query.join(TeamMember, _membership(principal))
        if school_urn is not None:
            query = query.where(Child.school_urn == school_urn)
    query = query.where(Child.merged_into.is_(None))  # type: ignore[union-attr]
    if cursor:
        query = query.where(tuple_(Child.family_name, Child.given_name, Child.id) > tuple_(*decode_cursor(cursor)))
    rows = (await session.exec(query.order_by(Child.family_name, Child.given_name, Child.id)
                               .limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    children = [row[0] for row in rows]
    latest = await _last_activity(session, principal, children) if children else {}
    await audit.record_many(session, actor=principal, entries=[
        {"action": "read", "resource_type": "child", "resource_id": c.id, "child_id": c.id, "reason": "caseload list"}
        for c in children])
    items = [CaseloadItem(id=child.id, given_name=child.given_name, family_name=child.family_name,
                          date_of_birth=child.date_of_birth, year_group=child.year_group, school_urn=child.school_urn,
                          on_team=member_id is not None, team_role=role, lead=bool(lead),
                          last_activity_at=latest.get(child.id))
              for child, role, lead, member_id in rows]
    return Page[CaseloadItem](items=items, next_cursor=encode_cursor(children[-1]) if more and children else None)
