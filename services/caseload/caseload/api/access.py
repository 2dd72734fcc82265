"""Consent, break-glass, its review queue and the child's access log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import breakglass, consent
from ..domain.access import BREAK_GLASS_ROLES
from ..domain.access_log import access_log
from ..domain.access_schemas import (
    AccessLogEntry,
    BreakGlassPublic,
    BreakGlassRequest,
    BreakGlassReview,
    ConsentRecord,
    ConsentUpdate,
)
from .deps import PRACTITIONER_ORGS, AnyPractitionerOrFamily, DatabaseDep

router = APIRouter(prefix="/v1/children/{child_id}", tags=["access"])
queue = APIRouter(prefix="/v1/break-glass", tags=["access"])

BreakGlassCaller = Annotated[
    Principal,
    Depends(
        allow(
            org_types=PRACTITIONER_ORGS,
            roles=BREAK_GLASS_ROLES,
            description="practitioners who may break glass: " + ", ".join(BREAK_GLASS_ROLES),
        )
    ),
]
Reviewer = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.local_authority],
            roles=["dsl", "send_officer"],
            description="the school's DSL and the LA's SEND officers",
        )
    ),
]


@router.get(
    "/consent",
    response_model=ConsentRecord,
    summary="Consent and lawful basis to share, per agency type (current and history)",
)
async def get_child_consent(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> ConsentRecord:
    async with db.transaction() as session:
        return await consent.get_consent(session, principal=principal, child_id=child_id)


@router.put(
    "/consent",
    response_model=ConsentRecord,
    summary="Record consent for one agency type: given, refused or withdrawn (the school's SENCO or DSL, "
    "or a parent with parental responsibility); emits consent.changed",
)
async def record_child_consent(
    child_id: str, body: ConsentUpdate, principal: AnyPractitionerOrFamily, db: DatabaseDep
) -> ConsentRecord:
    async with db.transaction() as session:
        return await consent.set_consent(session, principal=principal, child_id=child_id, data=body)


@router.post(
    "/break-glass",
    status_code=status.HTTP_201_CREATED,
    response_model=BreakGlassPublic,
    summary="Open a record outside your relationships by giving a reason (read-only, time-limited, "
    "audited and flagged for review)",
    responses=problems(409),
)
async def open_break_glass(
    child_id: str, body: BreakGlassRequest, principal: BreakGlassCaller, db: DatabaseDep, request: Request
) -> BreakGlassPublic:
    hours = request.app.state.settings.break_glass_hours
    async with db.transaction() as session:
        return await breakglass.break_glass(session, principal=principal, child_id=child_id, data=body, hours=hours)


@router.get(
    "/access-log",
    response_model=Page[AccessLogEntry],
    summary="Who read or wrote the child's record in caseload, newest first (the SENCO/DSL, the lead "
    "professional and the family; the family sees organisations, not people)",
)
async def get_child_access_log(
    child_id: str,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=100),
) -> Page[AccessLogEntry]:
    async with db.transaction() as session:
        return await access_log(session, principal=principal, child_id=child_id, limit=limit, cursor=cursor)


@queue.get(
    "",
    response_model=Page[BreakGlassPublic],
    summary="Break-glass grants on your school's (DSL) or LA's (SEND officer) children, unreviewed first",
)
async def list_break_glass_grants(
    principal: Reviewer, db: DatabaseDep, reviewed: bool | None = None, limit: int = Query(default=50, ge=1, le=200)
) -> Page[BreakGlassPublic]:
    async with db.transaction() as session:
        return Page(items=await breakglass.review_queue(session, principal=principal, reviewed=reviewed, limit=limit))


@queue.post(
    "/{grant_id}/review",
    response_model=BreakGlassPublic,
    summary="Mark a break-glass grant reviewed",
    responses=problems(409),
)
async def review_break_glass_grant(
    grant_id: str, body: BreakGlassReview, principal: Reviewer, db: DatabaseDep
) -> BreakGlassPublic:
    async with db.transaction() as session:
        return await breakglass.review(session, principal=principal, grant_id=grant_id, data=body)
