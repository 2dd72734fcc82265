from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tas_common.paging import Page

from ..domain import concerns
from ..domain.concern_schemas import ConcernCreate, ConcernPublic, ConsentUpdate
from .deps import DatabaseDep, OnceDep, SchoolStaff

router = APIRouter(prefix="/v1/concerns", tags=["concerns"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConcernPublic,
    summary="Raise a concern about a pupil of your school",
    description="A safeguarding concern goes to the school's DSL and, as an urgent referral, to the LA's "
    "children's social care front door at once; the family is never notified of it.",
)
async def raise_concern(body: ConcernCreate, principal: SchoolStaff, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: concerns.raise_concern(session, principal=principal, data=body),
        one_statement=concerns.writes_in_one_statement(body),
    )


@router.get(
    "",
    response_model=Page[ConcernPublic],
    summary="Your school's concerns: safeguarding first (the DSL's queue), then newest",
)
async def list_concerns(
    principal: SchoolStaff,
    db: DatabaseDep,
    school_urn: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    safeguarding: bool | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ConcernPublic]:
    async with db.transaction() as session:
        return await concerns.list_concerns(
            session,
            principal=principal,
            school_urn=school_urn,
            safeguarding=safeguarding,
            since=since,
            limit=limit,
            cursor=cursor,
        )


@router.get("/{concern_id}", response_model=ConcernPublic, summary="Read a concern your school raised")
async def get_concern(concern_id: str, principal: SchoolStaff, db: DatabaseDep) -> ConcernPublic:
    async with db.transaction() as session:
        return await concerns.get_concern(session, principal=principal, concern_id=concern_id)


@router.put(
    "/{concern_id}/consent",
    response_model=ConcernPublic,
    summary="Record the family's consent (or a lawful basis) after the concern was raised",
    description="Gates referrals made from now on: a service outside the school needs consent `given` or "
    "a lawful basis. Referrals already made are not changed.",
)
async def record_concern_consent(
    concern_id: str, body: ConsentUpdate, principal: SchoolStaff, db: DatabaseDep
) -> ConcernPublic:
    async with db.transaction() as session:
        return await concerns.record_consent(session, principal=principal, concern_id=concern_id, data=body)
