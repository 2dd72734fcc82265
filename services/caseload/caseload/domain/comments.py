"""Comments on a plan shared for comment: the family comments on any need, outcome or provision of the version
shared with them, practitioners reply, until the comment period ends (plan_family.comment_period). Comments belong
to the version they were made on (versioned with the plan), are audited, on the chronology (`plan_comment`, without
their words) and emitted (`tas.caseload.plan.comment_added`): notify tells the team about a family's comment, and
the family about a reply in their thread — never the family about their own comment.

- Only the newest published version takes comments, and only while it is `shared_for_comment`.
- The family starts a thread on an item it can see, or replies in its thread, while the period runs.
- Practitioners reply in a family's thread on an item they can see (their own words go in the plan itself), while
  the version is the newest: a family comment on the last day still gets its answer.
- A family member sees the threads they started (a separated parent does not read the other's words);
  practitioners see every thread on the items they can see.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import DomainError, Forbidden, InvalidInput, NotFound
from tas_common.events import new_event
from tas_common.events.schemas import PlanCommentAddedV1
from tas_common.outbox import add_event

from . import plan_family
from .access import active_membership, can_see_item, family_member_of, visible_child, visible_items
from .chronology import add_entry
from .family_schemas import CommentCreate, CommentList, CommentPublic
from .models import Child, Plan, PlanComment, PlanVersion
from .organisations import names_of
from .plan import load_plan

SOURCE = "tas/caseload"
ITEM_WORDS = {"needs": "a need", "outcomes": "an outcome", "provision": "provision"}


class CommentsClosed(DomainError):
    status, slug, title = 409, "comments-closed", "This plan is not open for comments"


class CommentPeriodEnded(DomainError):
    status, slug, title = 409, "comment-period-ended", "The comment period has ended"


def _item(principal: Principal, child: Child, version: PlanVersion, section: str, item_id: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = version.content.get(section, [])
    item = next((i for i in items if i.get("id") == item_id), None)
    if item is None or not can_see_item(
        principal,
        child,
        sensitivity=item.get("sensitivity", "team"),
        org_id=item.get("org_id"),
        org_type=item.get("org_type"),
        section=section,
    ):
        raise InvalidInput(f"not an item of {section} in version {version.number}", field="body.item_id")
    return item


async def _author(session: AsyncSession, principal: Principal, child: Child) -> dict[str, Any]:
    if plan_family.is_family(principal):
        member = await family_member_of(session, principal, child.id)
        assert member is not None  # visible_child let a family caller through: they are one of the child's family
        return {"author_member_id": member.id, "author_name": member.name, "author_role": member.relationship}
    membership = await active_membership(session, principal, child.id)
    role = (membership.role if membership else None) or ", ".join(sorted(principal.roles)) or None
    name = principal.name or (membership.name if membership else "")
    return {"author_member_id": None, "author_name": name, "author_role": role}


def _label(comment: PlanComment, principal: Principal, names: dict[str, str]) -> str:
    if comment.author_org_type == OrgType.family:
        if plan_family.is_family(principal):
            return "You" if comment.author_member_id in principal.family_member_ids else "Your family"
        return f"{comment.author_name} ({comment.author_role})" if comment.author_role else comment.author_name
    role = (comment.author_role or "").replace("_", " ")
    where = names.get(comment.author_org_id) or comment.author_org_type.replace("_", " ")
    return ", ".join(p for p in (role[:1].upper() + role[1:], where) if p)


def _public(comment: PlanComment, principal: Principal, names: dict[str, str]) -> CommentPublic:
    return CommentPublic(
        id=comment.id,
        version=comment.version,
        section=comment.section,
        item_id=comment.item_id,
        in_reply_to=comment.in_reply_to,
        text=comment.text,
        by_family=comment.author_org_type == OrgType.family,
        mine=comment.author_sub == principal.sub and comment.author_org_id == principal.org_id,
        author_org_type=comment.author_org_type,
        author_label=_label(comment, principal, names),
        author_name=comment.author_name,
        author_role=comment.author_role,
        organisation_name=names.get(comment.author_org_id),
        created_at=comment.created_at,
    )


async def _newest_open(session: AsyncSession, plan: Plan) -> PlanVersion:
    version = await plan_family.newest(session, plan)
    if version is None or version.status != "shared_for_comment":
        raise CommentsClosed("the plan is not shared for comment: comments open when a version is")
    return version


async def add_comment(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    data: CommentCreate,
    comment_days: int = plan_family.DEFAULT_COMMENT_DAYS,
) -> CommentPublic:
    child = await visible_child(session, principal, child_id, write=True)
    plan = await load_plan(session, child)
    version = await _newest_open(session, plan)
    family = plan_family.is_family(principal)
    author = await _author(session, principal, child)
    thread: PlanComment | None = None
    if data.in_reply_to is not None:
        thread = await session.get(PlanComment, data.in_reply_to)
        if thread is None or thread.child_id != child.id or thread.version != version.number or thread.in_reply_to:
            raise InvalidInput("not a comment that starts a thread on this version", field="body.in_reply_to")
        if family and thread.author_member_id not in principal.family_member_ids:
            raise InvalidInput("not a comment that starts a thread on this version", field="body.in_reply_to")
        section, item_id = thread.section, thread.item_id
    elif not family:
        raise Forbidden("practitioners reply in the family's threads (send in_reply_to); your words go in the plan")
    else:
        section, item_id = str(data.section), str(data.item_id)
    _item(principal, child, version, section, item_id)
    if family:
        period = await plan_family.comment_period(
            session, child=child, plan=plan, version=version, default_days=comment_days
        )
        if period is None or not period.open:
            raise CommentPeriodEnded("comments on this version of the plan have closed")
    comment = PlanComment(
        child_id=child.id,
        plan_id=plan.id,
        version=version.number,
        section=section,
        item_id=item_id,
        in_reply_to=thread.id if thread is not None else None,
        text=data.text,
        author_sub=principal.sub,
        author_org_id=principal.org_id,
        author_org_type=str(principal.org_type),
        **author,
    )
    session.add(comment)
    await session.flush()
    who = "The family" if family else f"{(author['author_role'] or str(principal.org_type)).capitalize()}"
    what = "commented on" if thread is None else "replied about"
    add_entry(
        session,
        child_id=child.id,
        kind="plan_comment",
        ref_type="plan_comment",
        ref_id=comment.id,
        summary=f"{who} {what} {ITEM_WORDS[section]} in plan version {version.number}",
        sensitivity="family",
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    await add_event(
        session,
        new_event(
            PlanCommentAddedV1(
                child_id=child.id,
                plan_id=plan.id,
                version=version.number,
                comment_id=comment.id,
                section=section,
                item_id=item_id,
                in_reply_to=comment.in_reply_to,
                author_org_type=str(principal.org_type),
                author_org_id=principal.org_id,
                thread_member_id=(thread.author_member_id if thread is not None else author["author_member_id"]),
                family_contact_restricted=child.family_contact_restricted,
            ),
            source=SOURCE,
            subject=child.id,
        ),
    )
    await audit.record(
        session,
        actor=principal,
        action="create",
        resource_type="plan_comment",
        resource_id=comment.id,
        child_id=child.id,
        reason=f"version {version.number}",
    )
    return _public(comment, principal, await names_of(session, [comment.author_org_id]))


async def list_comments(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    version_number: int | None,
    comment_days: int = plan_family.DEFAULT_COMMENT_DAYS,
) -> CommentList:
    """The comments on one version (by default: the family, the version shared with them; practitioners, the
    newest), oldest first, on the items the caller can see."""
    child = await visible_child(session, principal, child_id)
    plan = await load_plan(session, child)
    if version_number is not None:
        version = (
            await session.exec(
                select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == version_number)
            )
        ).first()
        if version is None or not plan_family.family_may_see(principal, version):
            raise NotFound("no such version of this plan")
    elif plan_family.is_family(principal):
        version = await plan_family.latest_shared(session, plan)
    else:
        version = await plan_family.newest(session, plan)
    await audit.record(
        session, actor=principal, action="read", resource_type="plan_comments", resource_id=plan.id, child_id=child.id
    )
    if version is None:
        return CommentList(items=[], version=None, comment_period=None)
    rows = (
        await session.exec(
            select(PlanComment)
            .where(
                PlanComment.child_id == child.id, PlanComment.plan_id == plan.id, PlanComment.version == version.number
            )
            .order_by(col(PlanComment.created_at), col(PlanComment.id))
        )
    ).all()
    seen = {
        (s, i["id"])
        for s in plan_family.COMMENTABLE
        for i in visible_items(principal, child, version.content.get(s, []), s)
    }
    shown = [c for c in rows if (c.section, c.item_id) in seen]
    if plan_family.is_family(principal):
        mine = {c.id for c in shown if c.in_reply_to is None and c.author_member_id in principal.family_member_ids}
        shown = [c for c in shown if (c.in_reply_to or c.id) in mine]
    names = await names_of(session, [c.author_org_id for c in shown])
    return CommentList(
        items=[_public(c, principal, names) for c in shown],
        version=version.number,
        comment_period=await plan_family.comment_period(
            session, child=child, plan=plan, version=version, default_days=comment_days
        ),
    )
