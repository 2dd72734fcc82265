"""The family side of a child's record: the "family contact restricted" flag."""

from __future__ import annotations

from fastapi import APIRouter

from tas_common.openapi import problems

from ..domain import restriction
from ..domain.family_schemas import RestrictionPublic, RestrictionUpdate
from .deps import DatabaseDep, Practitioner

router = APIRouter(prefix="/v1/children/{child_id}", tags=["family"])


@router.get(
    "/family-contact-restriction",
    response_model=RestrictionPublic,
    summary="Whether family contact is restricted (no messages, no sign-in codes), with its history",
)
async def get_family_contact_restriction(child_id: str, principal: Practitioner, db: DatabaseDep) -> RestrictionPublic:
    async with db.transaction() as session:
        return await restriction.get_restriction(session, principal=principal, child_id=child_id)


@router.put(
    "/family-contact-restriction",
    response_model=RestrictionPublic,
    responses=problems(409),
    summary="Set or lift the restriction with a reason (the DSL of the child's school or the LA's front door; "
    "409 when it is already so)",
)
async def set_family_contact_restriction(
    child_id: str, body: RestrictionUpdate, principal: Practitioner, db: DatabaseDep
) -> RestrictionPublic:
    async with db.transaction() as session:
        return await restriction.set_restriction(session, principal=principal, child_id=child_id, data=body)
