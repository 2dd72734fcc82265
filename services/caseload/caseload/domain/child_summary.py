"""The child's record at a glance (GET /v1/children/{id}/summary), for the practitioners' child page: the child,
the team with the lead professional, consent by agency type, reviews and EHC requests, read in one transaction
(one commit, one round trip) instead of five. Each part is read by its own use case, with its own access checks and
audit rows, exactly as its own route reads it."""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import Principal

from . import children, consent, ehc, reviews, team
from .access import not_family
from .access_schemas import ConsentRecord
from .child_schemas import ChildPublic, EhcClockPublic
from .plan_schemas import ReviewPublic
from .team_schemas import TeamPublic


class ChildSummary(BaseModel):
    child: ChildPublic
    team: TeamPublic
    consent: ConsentRecord
    reviews: list[ReviewPublic]
    ehc_requests: list[EhcClockPublic]


async def child_summary(session: AsyncSession, *, principal: Principal, child_id: str) -> ChildSummary:
    not_family(principal)
    return ChildSummary(
        child=await children.get_child(session, principal=principal, child_id=child_id),
        team=await team.get_team(session, principal=principal, child_id=child_id),
        consent=await consent.get_consent(session, principal=principal, child_id=child_id),
        reviews=await reviews.list_reviews(session, principal=principal, child_id=child_id),
        ehc_requests=await ehc.list_requests(session, principal=principal, child_id=child_id),
    )
