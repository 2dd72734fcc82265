"""The plan's published versions: publish one (draft → shared for comment → agreed), list them, read one, and what changed between two. The family sees only the
versions shared with them (plan_family); every read is audited and filtered by sensitivity."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import Conflict, NotFound
from tas_common.events.schemas import PlanPublishedV1

from . import plan_family
from .access import can_see_item, not_family, visible_child
from .chronology import record_change
from .models import Child, Plan, PlanVersion
from .plan import check_if_match, filtered, load_plan, save
from .plan_schemas import (
    SECTIONS,
    ItemDiff,
    PlanChange,
    PlanDiff,
    PlanSections,
    PlanVersionPublic,
    PlanVersionSummary,
    PublishRequest,
    SectionDiff,
)

TRANSITIONS = {
    "draft": {"draft", "shared_for_comment", "agreed"},
    "shared_for_comment": {"draft", "shared_for_comment", "agreed"},
    "agreed": {"agreed", "draft"},
}
"""A published plan moves on (draft → shared with the family for comment → agreed); an agreed plan is reopened
as a draft when it is revised (after a review)."""


def summary(principal: Principal, child: Child, version: PlanVersion) -> PlanVersionSummary:
    changes = [
        PlanChange.model_validate(c)
        for c in version.changes
        if can_see_item(
            principal,
            child,
            sensitivity=c.get("sensitivity", "team"),
            org_id=c.get("item_org_id"),
            org_type=c.get("for_agency"),
            section=c["section"],
        )
    ]
    return PlanVersionSummary(
        number=version.number,
        status=version.status,
        changed_sections=sorted({c.section for c in changes}),
        changes=changes,
        published_by=version.published_by,
        published_by_org=version.published_by_org,
        published_by_org_type=version.published_by_org_type,
        published_at=version.published_at,
    )


async def publish(
    session: AsyncSession, *, principal: Principal, child_id: str, if_match: str | None, data: PublishRequest
) -> PlanVersionSummary:
    child = await visible_child(session, principal, child_id, write=True)
    not_family(principal)
    plan = await load_plan(session, child)
    check_if_match(plan, if_match, required=False)
    status = data.status or plan.status
    if status not in TRANSITIONS[plan.status]:
        raise Conflict(f"a plan that is {plan.status} cannot become {status}")
    changes = list(plan.pending_changes)
    if not changes and status == plan.status and plan.published_version:
        raise Conflict("nothing changed since the last version")
    changed_sections = sorted({c["section"] for c in changes})
    number = plan.published_version + 1
    version = PlanVersion(
        plan_id=plan.id,
        number=number,
        status=status,
        content=plan.content,
        changes=changes,
        changed_sections=changed_sections,
        published_by=principal.sub,
        published_by_org=principal.org_id,
        published_by_org_type=str(principal.org_type),
    )
    session.add(version)
    plan = await save(
        session, plan, content=plan.content, changes=[], status=status, published_version=number, pending=[]
    )
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="publish",
        kind="plan_published",
        summary=f"Plan version {number} published ({status.replace('_', ' ')}); changed: "
        f"{', '.join(changed_sections) or 'status only'}",
        ref_type="plan_version",
        ref_id=version.id,
        sensitivity="family" if status in plan_family.FAMILY_STATUSES else "team",  # a draft is not the family's
        reason=f"version {number}",
        resource_type="plan",
        resource_id=plan.id,
        event=PlanPublishedV1(
            child_id=child.id,
            plan_id=plan.id,
            version=number,
            status=status,
            changed_sections=changed_sections,
            safeguarding=child.safeguarding,
            family_contact_restricted=child.family_contact_restricted,
        ),
    )
    return summary(principal, child, version)


async def list_versions(session: AsyncSession, *, principal: Principal, child_id: str) -> list[PlanVersionSummary]:
    child = await visible_child(session, principal, child_id)
    plan = await load_plan(session, child)
    rows = (
        await session.exec(
            select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(col(PlanVersion.number).desc())
        )
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="plan_versions", resource_id=plan.id, child_id=child.id
    )
    return [summary(principal, child, v) for v in rows if plan_family.family_may_see(principal, v)]


async def _version(session: AsyncSession, plan: Plan, number: int, principal: Principal) -> PlanVersion:
    """A published version; to the family only one shared with them (a draft version does not exist for them)."""
    version = (
        await session.exec(select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number))
    ).first()
    if version is None or not plan_family.family_may_see(principal, version):
        raise NotFound("no such version of this plan")
    return version


async def get_version(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    number: int,
    comment_days: int = plan_family.DEFAULT_COMMENT_DAYS,
) -> PlanVersionPublic:
    child = await visible_child(session, principal, child_id)
    plan = await load_plan(session, child)
    version = await _version(session, plan, number, principal)
    await audit.record(
        session, actor=principal, action="read", resource_type="plan_version", resource_id=version.id, child_id=child.id
    )
    return PlanVersionPublic(
        **summary(principal, child, version).model_dump(),
        sections=PlanSections.model_validate(filtered(principal, child, version.content)),
        comment_period=await plan_family.comment_period(
            session, child=child, plan=plan, version=version, default_days=comment_days
        ),
    )


async def diff(
    session: AsyncSession, *, principal: Principal, child_id: str, from_number: int, to_number: int
) -> PlanDiff:
    child = await visible_child(session, principal, child_id)
    plan = await load_plan(session, child)
    old = await _version(session, plan, from_number, principal)
    new = await _version(session, plan, to_number, principal)
    before, after = filtered(principal, child, old.content), filtered(principal, child, new.content)
    sections: dict[str, SectionDiff] = {}
    for section in SECTIONS:
        a = {i["id"]: i for i in before[section]}
        b = {i["id"]: i for i in after[section]}
        changed = []
        for item_id in a.keys() & b.keys():
            fields = {
                k: {"from": a[item_id].get(k), "to": b[item_id].get(k)}
                for k in sorted(a[item_id].keys() | b[item_id].keys())
                if k not in ("updated_at",) and a[item_id].get(k) != b[item_id].get(k)
            }
            if fields:
                changed.append(ItemDiff(id=item_id, fields=fields))
        sections[section] = SectionDiff(
            added=[b[i] for i in b if i not in a], removed=[a[i] for i in a if i not in b], changed=changed
        )
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="plan_diff",
        resource_id=plan.id,
        child_id=child.id,
        reason=f"{from_number}..{to_number}",
    )
    return PlanDiff(
        from_version=from_number, to_version=to_number, status={"from": old.status, "to": new.status}, sections=sections
    )
