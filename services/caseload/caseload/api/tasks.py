"""What waits on the caller in caseload: the practitioners' start page (My tasks)."""

from __future__ import annotations

from fastapi import APIRouter

from ..domain.tasks import TasksPublic, my_tasks
from .deps import DatabaseDep, Practitioner

router = APIRouter(prefix="/v1/tasks", tags=["caseload"])


@router.get(
    "",
    response_model=TasksPublic,
    summary="My tasks: reviews coming up in 14 days (or missed) on your caseload, EHC milestones due or overdue "
    "(SEND officers), break-glass to review (DSL, SEND officers)",
    description="Each child named is audited as a read.",
)
async def get_tasks(principal: Practitioner, db: DatabaseDep) -> TasksPublic:
    async with db.transaction() as session:
        return await my_tasks(session, principal=principal)
