from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from tas_common.access import public
from tas_common.openapi import problems
from tas_common.paging import Page
from tas_common.vocab import AreaOfNeed

from ..domain import offer, practitioners, waiting
from ..domain.referral_schemas import WaitingTimes
from ..domain.service_schemas import (
    OrganisationType,
    ServiceMemberCreate,
    ServiceMemberPublic,
    ServicePage,
    ServicePublic,
    ServiceWrite,
)
from .deps import AnyUser, DatabaseDep, IfMatch, OfferAdmin, OnceDep

router = APIRouter(prefix="/v1/services", tags=["local offer"])


@router.get(
    "",
    response_model=ServicePage,
    dependencies=[Depends(public)],
    summary="The local offer, in the Open Referral UK shape (open: no token needed)",
    description="A public directory by law (Children and Families Act 2014 s.30): readable without a token. "
    "Filters combine (AND); a repeated `taxonomy` or `area_of_need` matches any of its values. "
    "`text` matches every word against name, description, organisation and taxonomy; `postcode` (a full postcode "
    "or a district such as `ZX1`) keeps the services whose service areas cover its district.",
)
async def list_services(
    db: DatabaseDep,
    text: Annotated[str | None, Query(max_length=200)] = None,
    taxonomy: Annotated[list[str] | None, Query(max_length=10)] = None,
    area_of_need: Annotated[list[AreaOfNeed] | None, Query(max_length=4)] = None,
    age: Annotated[int | None, Query(ge=0, le=25)] = None,
    organization_type: OrganisationType | None = None,
    la_code: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(active|inactive)$")] = "active",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ServicePage:
    async with db.reader() as session:
        return await offer.list_services(
            session,
            text=text,
            taxonomy=taxonomy or [],
            area_of_need=[str(a) for a in area_of_need or []],
            age=age,
            organization_type=str(organization_type) if organization_type else None,
            la_code=la_code,
            postcode=postcode,
            status=status_,
            page=page,
            per_page=per_page,
        )


@router.get(
    "/{service_id}",
    response_model=ServicePublic,
    dependencies=[Depends(public)],
    summary="One service of the local offer, with ETag (open: no token needed)",
)
async def get_service(service_id: str, db: DatabaseDep, response: Response) -> ServicePublic:
    async with db.reader() as session:
        found, etag = await offer.get_service(session, service_id)
    response.headers["ETag"] = etag
    return found


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ServicePublic,
    summary="Add a service to your LA's local offer",
)
async def create_service(body: ServiceWrite, principal: OfferAdmin, once: OnceDep) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: offer.create_service(session, principal=principal, data=body),
    )


@router.put(
    "/{service_id}",
    response_model=ServicePublic,
    summary="Replace a service of your LA's local offer (If-Match required)",
    responses=problems(428),
)
async def update_service(
    service_id: str,
    body: ServiceWrite,
    principal: OfferAdmin,
    db: DatabaseDep,
    response: Response,
    if_match: IfMatch = None,
) -> ServicePublic:
    async with db.transaction() as session:
        updated = await offer.update_service(
            session, principal=principal, service_id=service_id, data=body, if_match=if_match
        )
    response.headers["ETag"] = f'"{updated.version}"'
    return updated


@router.get(
    "/{service_id}/waiting",
    response_model=WaitingTimes,
    summary="Waiting times of a service: median, 90th percentile, open, breaches of its target",
)
async def get_service_waiting_times(
    service_id: str, principal: AnyUser, db: DatabaseDep, since: datetime | None = None, until: datetime | None = None
) -> WaitingTimes:
    async with db.reader() as session:
        return await waiting.service_waiting(session, service_id=service_id, since=since, until=until)


@router.get(
    "/{service_id}/members",
    response_model=Page[ServiceMemberPublic],
    summary="The practitioners the directory records as members of a service's team (beyond its roles)",
    description="A referral is seen and decided by the service's practitioners only: callers of its organisation "
    "holding one of its `practitioner_roles`, and the members listed here. The offer administrators of the "
    "service's LA keep the list.",
)
async def list_service_members(service_id: str, principal: OfferAdmin, db: DatabaseDep) -> Page[ServiceMemberPublic]:
    async with db.transaction() as session:
        return Page(items=await practitioners.list_members(session, principal=principal, service_id=service_id))


@router.post(
    "/{service_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=ServiceMemberPublic,
    summary="Record a practitioner as a member of a service's team: they see and decide its referrals",
    responses=problems(409),
)
async def add_service_member(
    service_id: str,
    body: ServiceMemberCreate,
    principal: OfferAdmin,
    once: OnceDep,
) -> Response:
    return await once.run(
        principal=principal,
        request_body=body,
        create=lambda session: practitioners.add_member(session, principal=principal, service_id=service_id, data=body),
    )


@router.delete(
    "/{service_id}/members/{member_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_model=None,
    summary="Remove a member from a service's team: they no longer see its referrals",
)
async def remove_service_member(service_id: str, member_id: str, principal: OfferAdmin, db: DatabaseDep) -> Response:
    async with db.transaction() as session:
        await practitioners.remove_member(session, principal=principal, service_id=service_id, member_id=member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
