"""The one co-produced plan per child: read (filtered by sensitivity), edit with If-Match, publish immutable
versions (plan_versions.py), and record progress against outcomes at a review.

The working copy lives in `Plan.content` as sections of items; each item carries its sensitivity and its author's
organisation. An edit replaces, per section, only the items the editor can see, so an editor can never remove or
overwrite what is hidden from them. `Plan.revision` is the ETag: every change bumps it with a compare-and-swap
update, so of two editors holding the same ETag one wins and the other gets 412 and loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, InvalidInput, PreconditionFailed, PreconditionRequired

from . import plan_family
from .access import visible_child, visible_items
from .models import Child, Plan, Review
from .plan_schemas import (
    SECTIONS,
    AboutMeIn,
    ItemIn,
    NeedIn,
    OutcomeIn,
    PlanPublic,
    PlanSections,
    PlanUpdate,
    ProgressEntry,
    ProvisionIn,
    ReviewPublic,
)

SOURCE = "tas/caseload"
SECTION_MODELS: dict[str, type[BaseModel]] = {
    "about_me": AboutMeIn,
    "needs": NeedIn,
    "outcomes": OutcomeIn,
    "provision": ProvisionIn,
}
META = (
    "id",
    "sensitivity",
    "author",
    "author_name",
    "org_id",
    "org_type",
    "updated_by",
    "updated_by_name",
    "updated_at",
    "history",
)


def etag(plan: Plan) -> str:
    return f'"{plan.id[:8]}.{plan.revision}"'


def check_if_match(plan: Plan, if_match: str | None, *, required: bool = True) -> None:
    if not if_match:
        if required:
            raise PreconditionRequired("send If-Match with the ETag from GET /plan")
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if etag(plan) not in tags:
        raise PreconditionFailed(
            "the plan changed since you read it: read it again and re-apply your change", current_etag=etag(plan)
        )


async def load_plan(session: AsyncSession, child: Child) -> Plan:
    plan = (await session.exec(select(Plan).where(Plan.child_id == child.id))).first()
    if plan is None:  # every child gets a draft plan when registered; this covers records made before that
        plan = Plan(child_id=child.id, content={s: [] for s in SECTIONS})
        session.add(plan)
        await session.flush()
    return plan


def filtered(principal: Principal, child: Child, content: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The items the caller may see, each saying whether the family will see it (plan_family)."""
    return {s: plan_family.marked(visible_items(principal, child, content.get(s, []), s), s) for s in SECTIONS}


async def _reviews(session: AsyncSession, child: Child) -> list[ReviewPublic]:
    rows = (
        await session.exec(select(Review).where(Review.child_id == child.id).order_by(col(Review.scheduled_for)))
    ).all()
    return [ReviewPublic.model_validate(r, from_attributes=True) for r in rows]


async def _public(
    session: AsyncSession, principal: Principal, child: Child, plan: Plan, *, comment_days: int
) -> PlanPublic:
    """The working copy; for the family, the version shared with them with the working copy's about me."""
    shared = await plan_family.latest_shared(session, plan)
    sections = filtered(principal, child, plan.content)
    status, published = plan.status, plan.published_version
    newest = await plan_family.newest(session, plan)
    if plan_family.is_family(principal):
        shown = filtered(principal, child, shared.content) if shared is not None else {}
        sections = {s: sections[s] if s == "about_me" else shown.get(s, []) for s in SECTIONS}
        status, published = (shared.status, shared.number) if shared is not None else ("draft", 0)
        newest = shared if shared is not None and shared.number == plan.published_version else None
    return PlanPublic(
        id=plan.id,
        child_id=child.id,
        status=status,
        revision=plan.revision,
        etag=etag(plan),
        published_version=published,
        shared_version=shared.number if shared is not None else None,
        comment_period=await plan_family.comment_period(
            session, child=child, plan=plan, version=newest, default_days=comment_days
        ),
        sections=PlanSections.model_validate(sections),
        reviews=await _reviews(session, child),
        updated_at=plan.updated_at,
    )


async def get_plan(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    comment_days: int = plan_family.DEFAULT_COMMENT_DAYS,
) -> PlanPublic:
    child = await visible_child(session, principal, child_id)
    plan = await load_plan(session, child)
    await audit.record(
        session, actor=principal, action="read", resource_type="plan", resource_id=plan.id, child_id=child.id
    )
    return await _public(session, principal, child, plan, comment_days=comment_days)


def _change(principal: Principal, section: str, item: dict[str, Any], action: str) -> dict[str, Any]:
    return {
        "section": section,
        "item_id": item["id"],
        "action": action,
        "by": principal.sub,
        "by_org_id": principal.org_id,
        "by_org_type": str(principal.org_type),
        "for_agency": item.get("org_type", ""),
        "sensitivity": item.get("sensitivity", "team"),
        "item_org_id": item.get("org_id"),
        "at": utcnow().isoformat(),
    }


def _may_edit(principal: Principal, item: dict[str, Any]) -> bool:
    """The family's own words are the family's to change; the family changes only its own words."""
    family_item = item.get("org_type") == OrgType.family
    return family_item == (principal.org_type == OrgType.family)


def _apply_section(
    principal: Principal, child: Child, section: str, current: list[dict[str, Any]], submitted: Sequence[ItemIn]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = utcnow().isoformat()
    visible = {i["id"]: i for i in visible_items(principal, child, current, section)}
    by_id: dict[str, ItemIn] = {}
    new_items: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for n, entry in enumerate(submitted):
        fields = entry.model_dump(mode="json", exclude={"id"})
        if principal.org_type == OrgType.family:
            fields["sensitivity"] = "family"
        if entry.id is None:
            item = {
                "id": str(uuid.uuid4()),
                **fields,
                "author": principal.sub,
                "author_name": principal.name,
                "org_id": principal.org_id,
                "org_type": str(principal.org_type),
                "updated_by": principal.sub,
                "updated_by_name": principal.name,
                "updated_at": now,
            }
            if section == "outcomes":
                item["history"] = []
            new_items.append(item)
            changes.append(_change(principal, section, item, "added"))
        elif entry.id not in visible or entry.id in by_id:
            raise InvalidInput(f"{section}[{n}].id is not an item of this section", field=f"body.{section}.{n}.id")
        else:
            by_id[entry.id] = entry
    result: list[dict[str, Any]] = []
    for item in current:
        if item["id"] not in visible:
            result.append(item)  # hidden from this editor: kept as it is
            continue
        edited = by_id.get(item["id"])
        edited_fields = edited.model_dump(mode="json", exclude={"id"}) if edited is not None else None
        if edited_fields is not None and principal.org_type == OrgType.family:
            edited_fields["sensitivity"] = (
                "family" if item.get("org_type") == OrgType.family else item.get("sensitivity")
            )
        unchanged = edited_fields is not None and all(item.get(k) == v for k, v in edited_fields.items())
        if unchanged:
            result.append(item)
            continue
        if not _may_edit(principal, item):
            raise Forbidden(
                f"{section}: the family's own words are changed only by the family, and the family "
                "changes only its own words (send other items back unchanged)"
            )
        if edited_fields is None:
            changes.append(_change(principal, section, item, "removed"))
            continue
        updated = {
            **item,
            **edited_fields,
            "updated_by": principal.sub,
            "updated_by_name": principal.name,
            "updated_at": now,
        }
        result.append(updated)
        changes.append(_change(principal, section, updated, "changed"))
    return result + new_items, changes


async def save(
    session: AsyncSession,
    plan: Plan,
    *,
    content: dict[str, Any],
    changes: list[dict[str, Any]],
    status: str | None = None,
    published_version: int | None = None,
    pending: list[dict[str, Any]] | None = None,
) -> Plan:
    """Compare-and-swap on the revision: a concurrent writer that got there first makes this one 412."""
    values: dict[str, Any] = {
        "revision": plan.revision + 1,
        "content": content,
        "updated_at": utcnow(),
        "pending_changes": pending if pending is not None else [*plan.pending_changes, *changes],
        "status": status or plan.status,
        "published_version": published_version if published_version is not None else plan.published_version,
    }
    result = await session.exec(
        update(Plan)
        .where(col(Plan.id) == plan.id, col(Plan.revision) == plan.revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise PreconditionFailed("the plan changed since you read it: read it again and re-apply your change")
    await session.refresh(plan)
    return plan


async def update_plan(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    if_match: str | None,
    data: PlanUpdate,
    comment_days: int = plan_family.DEFAULT_COMMENT_DAYS,
) -> PlanPublic:
    child = await visible_child(session, principal, child_id, write=True)
    plan = await load_plan(session, child)
    given = [s for s in SECTIONS if getattr(data, s) is not None]
    if principal.org_type == OrgType.family and set(given) - {"about_me"}:
        raise Forbidden("families write in about_me; the other sections are the practitioners'")
    if principal.org_type == OrgType.family and any(i.voice == "practitioner" for i in data.about_me or []):
        raise InvalidInput("the family writes its own and the child's words", field="body.about_me")
    check_if_match(plan, if_match)
    content = {s: list(plan.content.get(s, [])) for s in SECTIONS}
    changes: list[dict[str, Any]] = []
    for section in given:
        content[section], section_changes = _apply_section(
            principal, child, section, content[section], getattr(data, section)
        )
        changes += section_changes
    if changes:
        plan = await save(session, plan, content=content, changes=changes)
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="plan",
        resource_id=plan.id,
        child_id=child.id,
        reason=",".join(sorted({c["section"] for c in changes})) or "no change",
    )
    return await _public(session, principal, child, plan, comment_days=comment_days)


async def record_progress(
    session: AsyncSession, *, principal: Principal, child: Child, review_id: str, entries: list[ProgressEntry]
) -> dict[str, str | None]:
    """Progress at a review feeds each outcome's achievement status and its history. Returns each outcome's area of
    need (its id → the area, or None), for the event that tells insights."""
    plan = await load_plan(session, child)
    outcomes = plan.content.get("outcomes", [])
    visible = {i["id"] for i in visible_items(principal, child, outcomes, "outcomes")}
    by_id: dict[str, ProgressEntry] = {}
    for n, entry in enumerate(entries):
        if entry.outcome_id not in visible:
            raise InvalidInput("not an outcome of this plan", field=f"body.progress.{n}.outcome_id")
        by_id[entry.outcome_id] = entry
    now = utcnow().isoformat()
    changes = []
    new_outcomes = []
    for item in outcomes:
        progress = by_id.get(item["id"])
        if progress is not None:
            history = [
                *item.get("history", []),
                {
                    "review_id": review_id,
                    "achievement_status": progress.achievement_status,
                    "note": progress.note,
                    "at": now,
                    "by": principal.sub,
                },
            ]
            item = {
                **item,
                "achievement_status": progress.achievement_status,
                "history": history,
                "updated_by": principal.sub,
                "updated_at": now,
            }
            changes.append(_change(principal, "outcomes", item, "progress"))
        new_outcomes.append(item)
    await save(session, plan, content={**plan.content, "outcomes": new_outcomes}, changes=changes)
    return {item["id"]: item.get("area") for item in outcomes if item["id"] in by_id}


async def absorb(session: AsyncSession, *, principal: Principal, survivor: Child, duplicate: Child) -> None:
    """On a merge, the duplicate's plan items join the survivor's plan (the duplicate's versions stay as history)."""
    source = (await session.exec(select(Plan).where(Plan.child_id == duplicate.id))).first()
    if source is None or not any(source.content.get(s) for s in SECTIONS):
        return
    plan = await load_plan(session, survivor)
    content = {s: [*plan.content.get(s, []), *source.content.get(s, [])] for s in SECTIONS}
    changes = [_change(principal, s, i, "merged") for s in SECTIONS for i in source.content.get(s, [])]
    await save(session, plan, content=content, changes=changes)
