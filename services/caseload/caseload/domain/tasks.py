"""My tasks (GET /v1/tasks): what caseload holds that waits on the caller, for the practitioners' start page.

- Reviews coming up in the next 14 days, or missed (still `scheduled` after their date, for up to 60 days), of the
  children on the caller's caseload (the same scope as GET /v1/caseload: a school lead's schools, an LA SEND
  officer's LA, everyone else the children on whose team they are).
- EHC needs assessment milestones due in 14 days or overdue (the LA's SEND officers).
- Break-glass grants and discoveries waiting for review (the school's DSL, the LA's SEND officers).
- Family comments to answer: threads on the newest version of a plan shared for comment, on the caller's caseload,
  whose newest comment is the family's.

Each names the child (given and family name) so that the page needs no call per child; every child named is a
read of the child's data and is audited, as the caseload list is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden
from tas_common.visibility import LA_OFFICER_ROLES, SCHOOL_LEADS

from . import breakglass, ehc
from .access import not_family
from .access_schemas import BreakGlassPublic
from .child_schemas import EhcClockPublic
from .models import Child, Plan, PlanComment, Review, TeamMember

REVIEW_HORIZON = timedelta(days=14)
MISSED_FOR = timedelta(days=60)
EHC_WITHIN_DAYS = 14
LIMIT = 100


class TaskChild(BaseModel):
    id: str
    given_name: str
    family_name: str


class ReviewDue(BaseModel):
    child: TaskChild
    review_id: str
    scheduled_for: datetime
    place: str
    missed: bool


class EhcDue(BaseModel):
    child: TaskChild
    clock: EhcClockPublic


class GrantToReview(BaseModel):
    child: TaskChild
    grant: BreakGlassPublic


class CommentToAnswer(BaseModel):
    child: TaskChild
    comment_id: str = Field(description="the family's newest comment in the thread (answer it with in_reply_to)")
    section: str
    item_id: str
    version: int
    text: str = Field(description="the start of the family's words")
    created_at: datetime


class TasksPublic(BaseModel):
    reviews_due: list[ReviewDue]
    ehc_due: list[EhcDue]
    break_glass_to_review: list[GrantToReview]
    comments_to_answer: list[CommentToAnswer]


def caseload_scope(principal: Principal) -> ColumnElement[bool]:
    """The children on the caller's caseload, as a condition on Child (GET /v1/caseload's rule)."""
    if principal.org_type == OrgType.school and principal.has_role(*SCHOOL_LEADS):
        return col(Child.school_urn).in_(sorted(principal.school_urns))
    if principal.org_type == OrgType.local_authority and principal.has_role(*LA_OFFICER_ROLES) and principal.la_code:
        return col(Child.la_code) == principal.la_code
    on_team = select(TeamMember.child_id).where(
        col(TeamMember.sub) == principal.sub,
        col(TeamMember.org_id) == principal.org_id,
        col(TeamMember.left_at).is_(None),
    )
    return col(Child.id).in_(on_team)


async def _names(session: AsyncSession, child_ids: set[str]) -> dict[str, TaskChild]:
    if not child_ids:
        return {}
    rows = (await session.exec(select(Child).where(col(Child.id).in_(sorted(child_ids))))).all()
    return {c.id: TaskChild(id=c.id, given_name=c.given_name, family_name=c.family_name) for c in rows}


async def my_tasks(session: AsyncSession, *, principal: Principal, now: datetime | None = None) -> TasksPublic:
    not_family(principal)
    if principal.org_type == OrgType.mis:
        raise Forbidden("a school's MIS has no tasks")
    now = now or utcnow()
    rows = (
        await session.exec(
            select(Review, Child)
            .join(Child, col(Child.id) == col(Review.child_id))
            .where(
                col(Review.status) == "scheduled",
                col(Review.scheduled_for) >= now - MISSED_FOR,
                col(Review.scheduled_for) <= now + REVIEW_HORIZON,
                col(Child.merged_into).is_(None),
                caseload_scope(principal),
            )
            .order_by(col(Review.scheduled_for))
            .limit(LIMIT)
        )
    ).all()
    reviews = []
    for review, child in rows:
        at = review.scheduled_for if review.scheduled_for.tzinfo else review.scheduled_for.replace(tzinfo=now.tzinfo)
        named = TaskChild(id=child.id, given_name=child.given_name, family_name=child.family_name)
        reviews.append(
            ReviewDue(child=named, review_id=review.id, scheduled_for=at, place=review.place, missed=at < now)
        )
    clocks: list[EhcClockPublic] = []
    if principal.org_type == OrgType.local_authority and principal.has_role("send_officer") and principal.la_code:
        clocks = (await ehc.clocks_due(session, principal=principal, due_within_days=EHC_WITHIN_DAYS))[:LIMIT]
    grants: list[BreakGlassPublic] = []
    if principal.has_role("dsl", "send_officer") and principal.org_type in (OrgType.school, OrgType.local_authority):
        grants = await breakglass.review_queue(session, principal=principal, reviewed=False, limit=LIMIT)
    names = await _names(session, {c.child_id for c in clocks} | {g.child_id for g in grants})
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "read", "resource_type": "review", "resource_id": r.review_id, "child_id": r.child.id}
            for r in reviews
        ],
    )
    comments = await _comments_to_answer(session, principal)
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "read", "resource_type": "plan_comment", "resource_id": c.comment_id, "child_id": c.child.id}
            for c in comments
        ],
    )
    return TasksPublic(
        comments_to_answer=comments,
        reviews_due=reviews,
        ehc_due=[EhcDue(child=names[c.child_id], clock=c) for c in clocks if c.child_id in names],
        break_glass_to_review=[GrantToReview(child=names[g.child_id], grant=g) for g in grants if g.child_id in names],
    )


async def _comments_to_answer(session: AsyncSession, principal: Principal) -> list[CommentToAnswer]:
    """Threads on the newest version of plans shared for comment whose newest comment is the family's."""
    c = PlanComment
    rows = (
        await session.exec(
            select(c, Child)
            .join(Plan, col(Plan.id) == col(c.plan_id))
            .join(Child, col(Child.id) == col(c.child_id))
            .where(
                col(Plan.status) == "shared_for_comment",
                col(c.version) == col(Plan.published_version),
                col(Child.merged_into).is_(None),
                caseload_scope(principal),
            )
            .order_by(col(c.created_at))
            .limit(LIMIT * 5)
        )
    ).all()
    newest: dict[str, tuple[PlanComment, str, str]] = {}
    for comment, child in rows:  # oldest first: the last one of each thread stays
        newest[comment.in_reply_to or comment.id] = (comment, child.given_name, child.family_name)
    answers = [
        CommentToAnswer(
            child=TaskChild(id=comment.child_id, given_name=given, family_name=family),
            comment_id=comment.id,
            section=comment.section,
            item_id=comment.item_id,
            version=comment.version,
            text=comment.text[:200],
            created_at=comment.created_at,
        )
        for comment, given, family in newest.values()
        if comment.author_org_type == OrgType.family
    ]
    return sorted(answers, key=lambda a: a.created_at)[:LIMIT]
