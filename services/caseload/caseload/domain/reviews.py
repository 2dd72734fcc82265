"""Reviews in the assess-plan-do-review cycle: schedule one, then record progress against each outcome."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import InvalidInput, NotFound
from tas_common.events.facts import OutcomeProgressFact, ReviewProgressRecordedV1
from tas_common.events.schemas import ReviewScheduledV1

from . import plan as plans
from .access import not_family, visible_child
from .chronology import record_change
from .models import FamilyMember, Review
from .plan_schemas import ReviewCreate, ReviewProgressIn, ReviewPublic


async def schedule(session: AsyncSession, *, principal: Principal, child_id: str, data: ReviewCreate) -> ReviewPublic:
    child = await visible_child(session, principal, child_id, write=True)
    not_family(principal)
    family_ids = set((await session.exec(select(FamilyMember.id).where(FamilyMember.child_id == child.id))).all())
    for n, attendee in enumerate(data.attendees):
        if attendee.family_member_id and attendee.family_member_id not in family_ids:
            raise InvalidInput("not a family member of this child", field=f"body.attendees.{n}.family_member_id")
    review = Review(
        child_id=child.id,
        scheduled_for=data.scheduled_for,
        place=data.place,
        attendees=[a.model_dump(mode="json") for a in data.attendees],
        created_by=principal.sub,
        created_by_org=principal.org_id,
    )
    session.add(review)
    await session.flush()
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="create",
        kind="review_scheduled",
        summary=f"Review scheduled for {data.scheduled_for:%d %B %Y %H:%M} ({len(data.attendees)} attendees)",
        ref_type="review",
        ref_id=review.id,
        sensitivity="team" if child.safeguarding else "family",
        event=ReviewScheduledV1(
            child_id=child.id,
            review_id=review.id,
            scheduled_for=data.scheduled_for,
            safeguarding=child.safeguarding,
            family_contact_restricted=child.family_contact_restricted,
        ),
    )
    return ReviewPublic.model_validate(review, from_attributes=True)


async def list_reviews(session: AsyncSession, *, principal: Principal, child_id: str) -> list[ReviewPublic]:
    child = await visible_child(session, principal, child_id)
    rows = (
        await session.exec(select(Review).where(Review.child_id == child.id).order_by(col(Review.scheduled_for).desc()))
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="reviews", resource_id=child.id, child_id=child.id
    )
    return [ReviewPublic.model_validate(r, from_attributes=True) for r in rows]


async def record_progress(
    session: AsyncSession, *, principal: Principal, child_id: str, review_id: str, data: ReviewProgressIn
) -> ReviewPublic:
    child = await visible_child(session, principal, child_id, write=True)
    not_family(principal)
    review = await session.get(Review, review_id)
    if review is None or review.child_id != child.id:
        raise NotFound("no such review")
    areas = await plans.record_progress(
        session, principal=principal, child=child, review_id=review.id, entries=data.progress
    )
    review.status, review.held_at = "held", review.held_at or utcnow()
    session.add(review)
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="update",
        kind="review_progress",
        summary=f"Progress recorded at the review against {len(data.progress)} outcome(s)",
        ref_type="review",
        ref_id=review.id,
        event=ReviewProgressRecordedV1(
            child_id=child.id,
            review_id=review.id,
            la_code=child.la_code,
            school_urn=child.school_urn,
            held_at=review.held_at,
            outcomes=tuple(
                OutcomeProgressFact(
                    outcome_id=e.outcome_id, area=areas.get(e.outcome_id), achievement_status=e.achievement_status
                )
                for e in data.progress
            ),
        ),
    )
    return ReviewPublic.model_validate(review, from_attributes=True)
