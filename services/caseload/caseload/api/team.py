from __future__ import annotations

from fastapi import APIRouter, Response, status

from tas_common.openapi import problems

from ..domain import team
from ..domain.team_schemas import LeadProfessional, TeamMemberContact, TeamMemberCreate, TeamMemberPublic, TeamPublic
from .deps import AnyPractitionerOrFamily, DatabaseDep, OnceDep, Practitioner

router = APIRouter(prefix="/v1/children/{child_id}/team", tags=["team"])


@router.get(
    "",
    response_model=TeamPublic,
    summary="The team around the child: organisations, roles, the lead, how to contact them and the school (the "
    "family sees the current team without ids; practitioners also see former members)",
)
async def get_team(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> TeamPublic:
    async with db.transaction() as session:
        return await team.get_team(session, principal=principal, child_id=child_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamMemberPublic,
    summary="The SENCO adds a practitioner to the team by hand",
    responses=problems(409),
)
async def add_team_member(child_id: str, body: TeamMemberCreate, principal: Practitioner, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: team.add_member(session, principal=principal, child_id=child_id, data=body),
    )


@router.delete(
    "/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    summary="The SENCO removes a member from the team; their access ends",
)
async def remove_team_member(child_id: str, member_id: str, principal: Practitioner, db: DatabaseDep) -> Response:
    async with db.transaction() as session:
        await team.remove_member(session, principal=principal, child_id=child_id, member_id=member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/lead", response_model=TeamPublic, summary="The SENCO names the one lead professional")
async def set_lead_professional(
    child_id: str, body: LeadProfessional, principal: Practitioner, db: DatabaseDep
) -> TeamPublic:
    async with db.transaction() as session:
        return await team.set_lead(session, principal=principal, child_id=child_id, data=body)


@router.put(
    "/{member_id}/contact",
    response_model=TeamMemberPublic,
    summary="A practitioner chooses the work phone or email the family sees for them (their own membership only; "
    "null clears it)",
)
async def share_team_member_contact(
    child_id: str, member_id: str, body: TeamMemberContact, principal: Practitioner, db: DatabaseDep
) -> TeamMemberPublic:
    async with db.transaction() as session:
        return await team.share_contact(session, principal=principal, child_id=child_id, member_id=member_id, data=body)
