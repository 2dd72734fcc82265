"""The local offer: a directory of services in the Open Referral UK shape, kept by the LA's offer admins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, NotFound, PreconditionFailed, PreconditionRequired
from tas_common.outbox import add_event

from . import announcements, current_wait, directory
from .directory_schemas import CurrentWait
from .models import Organisation, Service
from .oruk_schemas import page_of
from .service_schemas import OrganizationPublic, ServicePage, ServicePublic, ServiceWrite, TaxonomyTermPublic

FRONT_DOOR = "childrens_social_care_front_door"


def etag(service: Service) -> str:
    return f'"{service.version}"'


DETAIL_FIELDS = frozenset(
    {
        "organisation_description",
        "organisation_email",
        "organisation_website",
        "locations",
        "contacts",
        "schedules",
        "cost_options",
        "service_areas",
    }
)
"""ServiceWrite's fields kept beside the service's own row (directory.py)."""


def to_public(
    service: Service, *, details: directory.Details, wait: CurrentWait, organisation: Organisation | None
) -> ServicePublic:
    return ServicePublic(
        id=service.id,
        name=service.name,
        description=service.description,
        email=service.email,
        status=service.status,
        organization=OrganizationPublic(
            id=service.organisation_id,
            name=service.organisation_name,
            organization_type=service.organisation_type,
            description=organisation.description if organisation else "",
            email=organisation.email if organisation else None,
            website=organisation.website if organisation else None,
        ),
        la_code=service.la_code,
        taxonomy_terms=[TaxonomyTermPublic(id=t, term=t.replace("_", " ")) for t in service.taxonomy],
        areas_of_need=service.areas_of_need,
        minimum_age=service.minimum_age,
        maximum_age=service.maximum_age,
        eligibility_description=service.eligibility_description,
        application_process=service.how_to_refer,
        url=service.url,
        target_wait_days=service.target_wait_days,
        current_wait_days=wait.days,
        wait_time=wait.text,
        waiting=wait,
        practitioner_roles=service.practitioner_roles,
        version=service.version,
        updated_at=service.updated_at,
        oruk_id=service.oruk_id,
        **directory.public_parts(details),
    )


async def publish(session: AsyncSession, services: Sequence[Service]) -> list[ServicePublic]:
    """The services as the local offer shows them, with their details and current waits (a few queries)."""
    details = await directory.details_of(session, [s.id for s in services])
    waits = await current_wait.current_waits(session, services)
    organisations = await directory.organisations(session, (s.organisation_id for s in services))
    return [
        to_public(s, details=details[s.id], wait=waits[s.id], organisation=organisations.get(s.organisation_id))
        for s in services
    ]


def matches_text(service: Service, text: str) -> bool:
    """Every word of `text` is in the service's name, description, organisation or taxonomy."""
    haystack = " ".join(
        [service.name, service.description, service.organisation_name, " ".join(service.taxonomy).replace("_", " ")]
    ).lower()
    return all(word in haystack for word in text.lower().split())


def _matches(
    service: Service,
    *,
    text: str | None,
    taxonomy: Sequence[str],
    area_of_need: Sequence[str],
    age: int | None,
    organization_type: str | None,
) -> bool:
    if text and not matches_text(service, text):
        return False
    if taxonomy and not set(taxonomy) & set(service.taxonomy):
        return False
    if area_of_need and not set(area_of_need) & set(service.areas_of_need):
        return False
    if age is not None and not service.minimum_age <= age <= service.maximum_age:
        return False
    return organization_type is None or service.organisation_type == organization_type


async def list_services(
    session: AsyncSession,
    *,
    text: str | None,
    taxonomy: Sequence[str],
    area_of_need: Sequence[str],
    age: int | None,
    organization_type: str | None,
    la_code: str | None,
    postcode: str | None = None,
    status: str | None,
    page: int,
    per_page: int,
) -> ServicePage:
    """The local offer is small (tens to hundreds of services): filter in Python, page the result. `postcode` (or a
    district alone) keeps the services whose service areas cover its district."""
    query = select(Service).order_by(Service.name, Service.id)
    if la_code:
        query = query.where(Service.la_code == la_code)
    if status:
        query = query.where(Service.status == status)
    found = [
        s
        for s in (await session.exec(query)).all()
        if _matches(
            s, text=text, taxonomy=taxonomy, area_of_need=area_of_need, age=age, organization_type=organization_type
        )
    ]
    if postcode is not None:
        district = await directory.place(session, postcode)
        areas = await directory.all_areas(session)
        found = [s for s in found if district is not None and directory.covers(areas[s.id], district.district)]
    envelope, contents = page_of(found, page, per_page)
    return ServicePage(**envelope, contents=await publish(session, contents))


async def get_service(session: AsyncSession, service_id: str) -> tuple[ServicePublic, str]:
    """One service as the local offer shows it, and its ETag."""
    service = await load(session, service_id)
    return (await publish(session, [service]))[0], etag(service)


async def load(session: AsyncSession, service_id: str) -> Service:
    service = await session.get(Service, service_id)
    if service is None:
        raise NotFound("no such service")
    return service


async def front_door_for(session: AsyncSession, la_code: str | None) -> Service | None:
    if not la_code:
        return None
    services = (
        await session.exec(
            select(Service).where(Service.la_code == la_code, Service.status == "active").order_by(Service.id)
        )
    ).all()
    return next((s for s in services if FRONT_DOOR in s.taxonomy), None)


def _require_admin_scope(principal: Principal) -> str:
    if not principal.la_code:
        raise Forbidden("an offer admin's token needs the la_code of the local offer they keep")
    return principal.la_code


def _row_values(data: ServiceWrite) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude=set(DETAIL_FIELDS))


async def _write_around(session: AsyncSession, *, service: Service, data: ServiceWrite, la_code: str) -> None:
    await directory.upsert_organisation(
        session,
        org_id=data.organisation_id,
        name=data.organisation_name,
        organisation_type=str(data.organisation_type),
        description=data.organisation_description,
        email=data.organisation_email,
        website=data.organisation_website,
    )
    await directory.replace_details(session, service=service, data=data, la_code=la_code)


async def create_service(session: AsyncSession, *, principal: Principal, data: ServiceWrite) -> ServicePublic:
    la_code = _require_admin_scope(principal)
    service = Service(**_row_values(data), la_code=la_code)
    session.add(service)
    await session.flush()
    await _write_around(session, service=service, data=data, la_code=la_code)
    await session.flush()
    await audit.record(session, actor=principal, action="create", resource_type="service", resource_id=service.id)
    await add_event(session, announcements.service_updated(service))
    return (await publish(session, [service]))[0]


async def update_service(
    session: AsyncSession, *, principal: Principal, service_id: str, data: ServiceWrite, if_match: str | None
) -> ServicePublic:
    la_code = _require_admin_scope(principal)
    service = await session.get(Service, service_id)
    if service is None or service.la_code != la_code:
        raise NotFound("no such service in your local offer")
    if not if_match:
        raise PreconditionRequired("send If-Match with the ETag of the service you read")
    if if_match.removeprefix("W/") != etag(service):
        raise PreconditionFailed("the service changed since you read it; read it again")
    for key, value in _row_values(data).items():
        setattr(service, key, value)
    service.version += 1
    service.updated_at = utcnow()
    session.add(service)
    await _write_around(session, service=service, data=data, la_code=la_code)
    await session.flush()
    await audit.record(session, actor=principal, action="update", resource_type="service", resource_id=service.id)
    await add_event(session, announcements.service_updated(service))
    return (await publish(session, [service]))[0]
