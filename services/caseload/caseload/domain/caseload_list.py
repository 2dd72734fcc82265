"""The caller's caseload: the children they can work with, by name, one page at a time (GET /v1/caseload).

- The SENCO, DSL or head of a school: the children of their schools (`school_urns`), or of one of them.
- The LA's SEND officers: the children of their LA (`la_code`), or of one school in it.
- Everyone else (health, social care, other LA and school staff): the children on whose team they are an active
  member (matched by `sub` and `org_id`).

Each item says whether the caller is on the child's team, their role there, whether they are the lead, and when
the newest chronology entry they may see was recorded. Merged-away children never appear. Pages are ordered by
family name, given name and id, with a keyset cursor, so that each page is one index range
(ix_child_school_urn_name, ix_child_la_code_name, ix_team_member_sub_org), however long the list; the last
activity of each child listed is a correlated subquery on ix_chronology_entry_child_at.
Every child listed is a read of the child's data: one audit row each. `q` searches within the list (by name,
accents and case aside, date of birth, UPN or NHS number: domain/search.py) and so never finds a child the caller
may not see.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Label, and_, func, label, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden
from tas_common.paging import Key, Keyset, Page
from tas_common.visibility import LA_OFFICER_ROLES, SAFEGUARDING_LEADS, SCHOOL_LEADS

from . import search
from .access import chronology_visibility_for, not_family
from .child_schemas import CaseloadItem
from .models import Child, ChronologyEntry, TeamMember


def _membership(principal: Principal) -> ColumnElement[bool]:
    """The caller's active membership of the child's team, as a join condition."""
    return and_(
        col(TeamMember.child_id) == col(Child.id),
        col(TeamMember.sub) == principal.sub,
        col(TeamMember.org_id) == principal.org_id,
        col(TeamMember.left_at).is_(None),
    )


def _last_activity(principal: Principal, *, safeguarding_lead: bool) -> Label[datetime]:
    """The newest chronology entry of the row's child that the caller may see (the sensitivity rule in SQL), as
    a correlated subquery: evaluated for the rows of the page only, an index range on ix_chronology_entry_child_at.
    In a school lead's list every child is of the caller's school, so being its safeguarding lead is one flag."""
    c = ChronologyEntry
    return (
        select(func.max(col(c.at)))
        .where(
            col(c.child_id) == col(Child.id), chronology_visibility_for(principal, safeguarding_lead=safeguarding_lead)
        )
        .scalar_subquery()
        .label("last_activity_at")
    )


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back an aggregate's time naive (stored in UTC); PostgreSQL aware."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


ORDER = Keyset("caseload", Key(Child.family_name), Key(Child.given_name), Key(Child.id))
"""By name: each page is one range of the (school or LA, family name, given name, id) indexes."""
COLUMNS = (
    col(Child.id),
    col(Child.given_name),
    col(Child.family_name),
    col(Child.date_of_birth),
    col(Child.year_group),
    col(Child.school_urn),
)


async def my_caseload(
    session: AsyncSession,
    *,
    principal: Principal,
    school_urn: str | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[CaseloadItem]:
    """`q` narrows the list to the children found by name, date of birth, UPN or NHS number (domain/search.py)."""
    not_family(principal)
    if principal.org_type == OrgType.mis:
        raise Forbidden("a school's MIS has no caseload")
    member = (col(TeamMember.role), col(TeamMember.lead), label("member_id", col(TeamMember.id)))
    if principal.org_type == OrgType.school and principal.has_role(*SCHOOL_LEADS):
        if school_urn is not None and school_urn not in principal.school_urns:
            raise Forbidden("school_urn is not one of your schools")
        urns = [school_urn] if school_urn else sorted(principal.school_urns)
        if not urns:
            return Page[CaseloadItem](items=[])
        activity = _last_activity(principal, safeguarding_lead=principal.has_role(*SAFEGUARDING_LEADS))
        query = (
            select(*COLUMNS, *member, activity)
            .outerjoin(TeamMember, _membership(principal))
            .where(col(Child.school_urn) == urns[0] if len(urns) == 1 else col(Child.school_urn).in_(urns))
        )
    else:
        activity = _last_activity(principal, safeguarding_lead=False)
        if (
            principal.org_type == OrgType.local_authority
            and principal.has_role(*LA_OFFICER_ROLES)
            and principal.la_code
        ):
            query = (
                select(*COLUMNS, *member, activity)
                .outerjoin(TeamMember, _membership(principal))
                .where(col(Child.la_code) == principal.la_code)
            )
        else:
            query = select(*COLUMNS, *member, activity).join(TeamMember, _membership(principal))
        if school_urn is not None:
            query = query.where(col(Child.school_urn) == school_urn)
    query = query.where(col(Child.merged_into).is_(None))
    if q is not None and q.strip():
        query = query.where(search.condition(search.parse(q)))
    if cursor:
        query = query.where(ORDER.after(cursor))
    rows = (await session.execute(query.order_by(*ORDER.order_by()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {
                "action": "read",
                "resource_type": "child",
                "resource_id": r.id,
                "child_id": r.id,
                "reason": "caseload list",
            }
            for r in rows
        ],
    )
    items = [
        CaseloadItem(
            id=r.id,
            given_name=r.given_name,
            family_name=r.family_name,
            date_of_birth=r.date_of_birth,
            year_group=r.year_group,
            school_urn=r.school_urn,
            on_team=r.member_id is not None,
            team_role=r.role,
            lead=bool(r.lead),
            last_activity_at=_utc(r.last_activity_at),
        )
        for r in rows
    ]
    return Page[CaseloadItem](
        items=items,
        next_cursor=ORDER.cursor((rows[-1].family_name, rows[-1].given_name, rows[-1].id)) if more and rows else None,
    )
