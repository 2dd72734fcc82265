"""Who has read or written the child's record in caseload: the audit rows about the child, newest first. For the
SENCO and DSL of the child's school, the lead professional and the family. Each row says, in plain words, which
organisation (by name when caseload knows it, else what kind), which role (the person's role on the child's team,
else their kind of work) and what happened. The family never sees a person, an id or the reason given (a reason
may itself be sensitive). Referral's and notify's own audit logs are not included: each service keeps its own
chain (`tas audit-verify`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import select as sql_select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden
from tas_common.paging import Key, Keyset, Page
from tas_common.tables import audit_log
from tas_common.visibility import is_school_lead

from . import organisations
from .access import is_lead_professional, visible_child
from .access_schemas import AccessLogEntry
from .models import TeamMember

BREAK_GLASS_ACTIONS = ("break_glass", "break_glass_read")
ROLE_BY_KIND = {
    "school": "School staff",
    "local_authority": "Local authority staff",
    "health": "Health professional",
    "social_care": "Social care worker",
    "family": "Family member",
    "system": None,
}
"""A person's kind of work when they are not on the child's team (their token's roles are not recorded)."""
THINGS = {
    "child": "the record",
    "plan": "the plan",
    "plan_version": "a version of the plan",
    "plan_versions": "the plan's versions",
    "plan_diff": "what changed in the plan",
    "plan_comment": "a comment on the plan",
    "plan_comments": "the comments on the plan",
    "chronology": "the timeline",
    "family": "the family's contact details",
    "family_member": "a family member's details",
    "team": "the team",
    "team_member": "the team",
    "team_lead": "the lead professional",
    "team_member_contact": "their contact details for the family",
    "review": "a review",
    "reviews": "the reviews",
    "consent": "the consent to share",
    "ehc_request": "the EHC needs assessment",
    "ehc_requests": "the EHC needs assessment",
    "access_log": "who has looked at the record",
    "family_contact_restriction": "the family contact settings",
}
VERBS = {
    "read": "Looked at",
    "search": "Found",
    "create": "Added",
    "update": "Changed",
    "delete": "Removed",
    "publish": "Published",
    "merge": "Joined two records of",
    "break_glass": "Opened in an emergency",
    "break_glass_read": "Looked at, in an emergency,",
    "sign_in": "Signed in to see",
    "sign_in_code_sent": "Sent a sign-in code for",
}


def describe(action: str, resource_type: str) -> str:
    """What happened, in plain English ("Looked at the plan"), for any audit action about the child."""
    thing = THINGS.get(resource_type, "the record")
    verb = VERBS.get(action)
    return f"{verb} {thing}" if verb else f"{action.replace('_', ' ').capitalize()} ({thing})"


async def _team_roles(
    session: AsyncSession, child_id: str, people: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The role on the child's team of each (sub, organisation) that had one."""
    subs = sorted({sub for sub, _ in people})
    if not subs:
        return {}
    rows = (
        await session.exec(
            sql_select(TeamMember.sub, TeamMember.org_id, TeamMember.role).where(
                TeamMember.child_id == child_id,
                TeamMember.sub.in_(subs),  # type: ignore[attr-defined]
            )
        )
    ).all()
    return {(sub, org_id): role.capitalize() for sub, org_id, role in rows if role}


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
    names = await organisations.names_of(session, [r.actor_org for r in rows])
    roles = await _team_roles(session, child.id, [(r.actor, r.actor_org) for r in rows])
    items = []
    for r in rows:
        own = family and r.actor_org_type == OrgType.family and r.actor in principal.family_member_ids
        if r.actor_org_type == OrgType.family:
            organisation = "You" if own or not family else "Your family"
        else:
            organisation = names.get(r.actor_org) or organisations.kind_of(r.actor_org_type)
        items.append(
            AccessLogEntry(
                at=r.at,
                action=r.action,
                resource_type=r.resource_type,
                actor=None if family else r.actor,
                actor_org=None if family else r.actor_org,
                actor_org_type=r.actor_org_type,
                organisation_name=organisation if family or r.actor_org_type != OrgType.family else "The family",
                role=roles.get((r.actor, r.actor_org)) or ROLE_BY_KIND.get(r.actor_org_type),
                summary=describe(r.action, r.resource_type),
                break_glass=r.action in BREAK_GLASS_ACTIONS,
                reason=None if family else r.reason,
            )
        )
    return Page[AccessLogEntry](items=items, next_cursor=ORDER.cursor((rows[-1].seq,)) if more and rows else None)
