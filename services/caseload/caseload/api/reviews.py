from __future__ import annotations

from fastapi import APIRouter, Response, status

from tas_common.paging import Page

from ..domain import reviews
from ..domain.plan_schemas import ReviewCreate, ReviewProgressIn, ReviewPublic
from .deps import AnyPractitionerOrFamily, DatabaseDep, OnceDep, Practitioner

router = APIRouter(prefix="/v1/children/{child_id}/reviews", tags=["reviews"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPublic,
    summary="Schedule a review (emits review.scheduled)",
)
async def schedule_review(child_id: str, body: ReviewCreate, principal: Practitioner, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: reviews.schedule(session, principal=principal, child_id=child_id, data=body),
    )


@router.get("", response_model=Page[ReviewPublic], summary="The child's reviews, newest first")
async def list_reviews(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> Page[ReviewPublic]:
    async with db.transaction() as session:
        return Page(items=await reviews.list_reviews(session, principal=principal, child_id=child_id))


@router.post(
    "/{review_id}/progress", response_model=ReviewPublic, summary="Record progress against each outcome at the review"
)
async def record_review_progress(
    child_id: str, review_id: str, body: ReviewProgressIn, principal: Practitioner, db: DatabaseDep
) -> ReviewPublic:
    async with db.transaction() as session:
        return await reviews.record_progress(
            session, principal=principal, child_id=child_id, review_id=review_id, data=body
        )
