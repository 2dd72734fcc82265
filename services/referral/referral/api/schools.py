from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from ..domain import waiting
from ..domain.referral_schemas import WaitingTimes
from .deps import DatabaseDep, SchoolOrLA

router = APIRouter(prefix="/v1/schools", tags=["waiting times"])


@router.get(
    "/{urn}/waiting",
    response_model=WaitingTimes,
    summary="Waiting times of the referrals a school made (its staff and its LA's SEND officers)",
)
async def get_school_waiting_times(
    urn: str, principal: SchoolOrLA, db: DatabaseDep, since: datetime | None = None, until: datetime | None = None
) -> WaitingTimes:
    async with db.transaction() as session:
        return await waiting.school_waiting(session, principal=principal, urn=urn, since=since, until=until)
