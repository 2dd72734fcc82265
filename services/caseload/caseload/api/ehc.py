from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response, status

from tas_common.paging import Page

from ..domain import ehc
from ..domain.child_schemas import EhcClockPublic, EhcRequestCreate, EhcRequestUpdate
from .deps import AnyPractitionerOrFamily, DatabaseDep, LaSendOfficer, OnceDep, Practitioner

router = APIRouter(prefix="/v1/children/{child_id}/ehc-requests", tags=["ehc"])
clocks = APIRouter(prefix="/v1/ehc-clocks", tags=["ehc"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EhcClockPublic,
    summary="Record a request for an EHC needs assessment; its statutory clock starts",
)
async def request_ehc_assessment(
    child_id: str,
    body: EhcRequestCreate,
    principal: Practitioner,
    once: OnceDep,
) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: ehc.create_request(session, principal=principal, child_id=child_id, data=body),
    )


@router.get("", response_model=Page[EhcClockPublic], summary="The child's EHC requests and their clocks")
async def list_ehc_requests(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> Page[EhcClockPublic]:
    async with db.transaction() as session:
        return Page(items=await ehc.list_requests(session, principal=principal, child_id=child_id))


@router.patch(
    "/{request_id}",
    response_model=EhcClockPublic,
    summary="The LA records a milestone (decision, advice, draft, final plan, annual review)",
)
async def record_ehc_milestones(
    child_id: str, request_id: str, body: EhcRequestUpdate, principal: LaSendOfficer, db: DatabaseDep
) -> EhcClockPublic:
    async with db.transaction() as session:
        return await ehc.record_milestones(
            session, principal=principal, child_id=child_id, request_id=request_id, data=body
        )


@clocks.get(
    "",
    response_model=Page[EhcClockPublic],
    summary="The LA's clocks with a milestone due within the window, or breached",
)
async def list_ehc_clocks_due(
    principal: LaSendOfficer,
    db: DatabaseDep,
    due_within_days: int = Query(default=14, ge=0, le=366),
    as_of: date | None = Query(default=None, description="today, unless given"),
) -> Page[EhcClockPublic]:
    async with db.transaction() as session:
        return Page(
            items=await ehc.clocks_due(session, principal=principal, due_within_days=due_within_days, as_of=as_of)
        )
