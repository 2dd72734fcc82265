from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import family_view, referral_view, referral_workflow, referrals
from ..domain.referral_schemas import (
    AcceptIn,
    CompleteIn,
    FamilyReferralList,
    FirstContactIn,
    ReasonIn,
    RedirectIn,
    ReferralCreate,
    ReferralList,
    ReferralPublic,
    ReferralStatus,
)
from .deps import DatabaseDep, Family, OnceDep, ReferralParty, SchoolStaff

router = APIRouter(prefix="/v1/referrals", tags=["referrals"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralList,
    summary="Refer a concern to one or more services of the local offer",
    description="By the staff of the concern's school. A service outside the school needs the concern's "
    "consent `given` or a recorded lawful basis (409 `consent-required` otherwise).",
    responses=problems(404, 409),
)
async def create_referrals(body: ReferralCreate, principal: SchoolStaff, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: referrals.create_referrals(session, principal=principal, data=body),
    )


@router.get(
    "",
    response_model=Page[ReferralPublic],
    summary="Referrals you may see: your school's, your services', or your LA's; urgent and oldest first",
)
async def list_referrals(
    principal: ReferralParty,
    db: DatabaseDep,
    status_: Annotated[ReferralStatus | None, Query(alias="status")] = None,
    service_id: Annotated[str | None, Query(max_length=36)] = None,
    concern_id: Annotated[str | None, Query(max_length=36)] = None,
    child_id: Annotated[str | None, Query(max_length=36)] = None,
    school_urn: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    safeguarding: bool | None = None,
    inbox: Annotated[
        bool, Query(description="only the referrals sent to services of which you are a practitioner (to decide)")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ReferralPublic]:
    async with db.transaction() as session:
        return await referral_view.list_referrals(
            session,
            principal=principal,
            inbox=inbox,
            status=str(status_) if status_ else None,
            service_id=service_id,
            concern_id=concern_id,
            child_id=child_id,
            school_urn=school_urn,
            safeguarding=safeguarding,
            limit=limit,
            cursor=cursor,
        )


@router.get(
    "/children/{child_id}",
    response_model=FamilyReferralList,
    summary="The family: their child's referrals, newest first — the service and where each stands",
    description="For a family token of the child (404 for any other child): service, organisation, the "
    "service's team inbox, status and its dates. Never the school's note, a reason, an outcome's words or who "
    "decided; safeguarding referrals are not listed.",
    responses=problems(404),
)
async def family_referrals(child_id: str, principal: Family, db: DatabaseDep) -> FamilyReferralList:
    async with db.transaction() as session:
        items = await family_view.family_referrals(session, principal=principal, child_id=child_id[:64])
        return FamilyReferralList(items=items)


@router.get("/{referral_id}", response_model=ReferralPublic, summary="One referral")
async def get_referral(referral_id: str, principal: ReferralParty, db: DatabaseDep) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_view.get_referral(session, principal=principal, referral_id=referral_id)


@router.post(
    "/{referral_id}/accept",
    response_model=ReferralPublic,
    summary="Accept (the receiving service): you join the child's team",
    responses=problems(409),
)
async def accept_referral(
    referral_id: str, principal: ReferralParty, db: DatabaseDep, body: AcceptIn | None = None
) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_workflow.accept(
            session, principal=principal, referral_id=referral_id, data=body or AcceptIn()
        )


@router.post(
    "/{referral_id}/decline",
    response_model=ReferralPublic,
    summary="Decline with a reason the referrer sees (the receiving service)",
    responses=problems(409),
)
async def decline_referral(
    referral_id: str, body: ReasonIn, principal: ReferralParty, db: DatabaseDep
) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_workflow.decline(session, principal=principal, referral_id=referral_id, data=body)


@router.post(
    "/{referral_id}/redirect",
    response_model=ReferralList,
    summary="Redirect to another service (the receiving service): creates a linked referral",
    description="Answers the redirected referral and the new one, in that order.",
    responses=problems(409),
)
async def redirect_referral(referral_id: str, body: RedirectIn, principal: ReferralParty, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: referral_workflow.redirect(
            session, principal=principal, referral_id=referral_id, data=body
        ),
    )


@router.post(
    "/{referral_id}/withdraw",
    response_model=ReferralPublic,
    summary="Withdraw with a reason (the referring school)",
    responses=problems(409),
)
async def withdraw_referral(
    referral_id: str, body: ReasonIn, principal: ReferralParty, db: DatabaseDep
) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_workflow.withdraw(session, principal=principal, referral_id=referral_id, data=body)


@router.post(
    "/{referral_id}/complete",
    response_model=ReferralPublic,
    summary="Complete an accepted referral (the receiving service)",
    responses=problems(409),
)
async def complete_referral(
    referral_id: str, principal: ReferralParty, db: DatabaseDep, body: CompleteIn | None = None
) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_workflow.complete(
            session, principal=principal, referral_id=referral_id, data=body or CompleteIn()
        )


@router.post(
    "/{referral_id}/first-contact",
    response_model=ReferralPublic,
    summary="Record first contact with the child or family (the receiving service): stops the wait clock",
    responses=problems(409),
)
async def record_first_contact(
    referral_id: str, principal: ReferralParty, db: DatabaseDep, body: FirstContactIn | None = None
) -> ReferralPublic:
    async with db.transaction() as session:
        return await referral_workflow.first_contact(
            session, principal=principal, referral_id=referral_id, contacted_at=body.contacted_at if body else None
        )
