"""Comments on a plan shared for comment: the family's, and practitioners' replies (domain/comments.py)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from tas_common.openapi import problems

from ..domain import comments
from ..domain.family_schemas import CommentCreate, CommentList, CommentPublic
from .deps import AnyPractitionerOrFamily, CommentDays, DatabaseDep, OnceDep
from .plan import MAX_VERSION

router = APIRouter(prefix="/v1/children/{child_id}/plan/comments", tags=["plan"])


@router.get(
    "",
    response_model=CommentList,
    summary="Comments on one version of the plan, oldest first (default: the family, the version shared with "
    "them; practitioners, the newest), with its comment period",
)
async def list_plan_comments(
    child_id: str,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    days: CommentDays,
    version: int | None = Query(default=None, ge=1, le=MAX_VERSION),
) -> CommentList:
    async with db.transaction() as session:
        return await comments.list_comments(
            session, principal=principal, child_id=child_id, version_number=version, comment_days=days
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentPublic,
    responses=problems(409),
    summary="Comment on a need, outcome or provision of the version shared for comment (the family), or reply in "
    "a family's thread (`in_reply_to`); 409 comments-closed or comment-period-ended; emits plan.comment_added",
)
async def add_plan_comment(
    child_id: str,
    body: CommentCreate,
    principal: AnyPractitionerOrFamily,
    days: CommentDays,
    once: OnceDep,
) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: comments.add_comment(
            session, principal=principal, child_id=child_id, data=body, comment_days=days
        ),
    )
