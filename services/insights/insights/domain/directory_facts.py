"""The schools register and the local offer as referral announces them: the newest announcement of each wins."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import aware
from tas_common.events.facts import SchoolUpdatedV1, ServiceUpdatedV1

from .models import School, Service


async def school_updated(session: AsyncSession, *, school: SchoolUpdatedV1) -> None:
    row = await session.get(School, school.urn)
    if row is not None and aware(row.updated_at) > school.updated_at:
        return
    row = row or School(urn=school.urn, la_code=school.la_code, phase=school.phase, updated_at=school.updated_at)
    row.la_code, row.phase, row.updated_at = school.la_code, school.phase, school.updated_at
    row.pupils_on_roll, row.roll_census_on = school.pupils_on_roll, school.roll_census_on
    session.add(row)


async def service_updated(session: AsyncSession, *, service: ServiceUpdatedV1) -> None:
    row = await session.get(Service, service.service_id)
    if row is not None and aware(row.updated_at) > service.updated_at:
        return
    row = row or Service(
        id=service.service_id,
        la_code=service.la_code,
        organisation_id=service.organisation_id,
        organisation_type=service.organisation_type,
        target_wait_days=service.target_wait_days,
        status=service.status,
        updated_at=service.updated_at,
    )
    row.la_code, row.organisation_id, row.organisation_type = (
        service.la_code,
        service.organisation_id,
        service.organisation_type,
    )
    row.practitioner_roles, row.taxonomy = list(service.practitioner_roles), list(service.taxonomy)
    row.target_wait_days, row.status, row.updated_at = service.target_wait_days, service.status, service.updated_at
    session.add(row)
