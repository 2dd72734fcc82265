from __future__ import annotations

from fastapi import APIRouter, Query

from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import reading
from ..domain.schemas import NotificationPublic
from .deps import DatabaseDep, PractitionerOrFamily

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get(
    "",
    response_model=Page[NotificationPublic],
    summary="Messages sent about a child, newest first",
    responses=problems(404),
)
async def list_notifications(
    principal: PractitionerOrFamily,
    db: DatabaseDep,
    child_id: str = Query(max_length=36),
    limit: int = Query(default=50, ge=1, le=200),
) -> Page[NotificationPublic]:
    async with db.transaction() as session:
        return Page(items=await reading.list_for_child(session, principal=principal, child_id=child_id, limit=limit))


@router.get("/{notification_id}", response_model=NotificationPublic, summary="One message and its status")
async def get_notification(
    notification_id: str, principal: PractitionerOrFamily, db: DatabaseDep
) -> NotificationPublic:
    async with db.transaction() as session:
        return await reading.get_notification(session, principal=principal, notification_id=notification_id)
