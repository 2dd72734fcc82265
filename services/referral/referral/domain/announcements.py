"""The directory facts referral announces for other services (insights measures against them): each school of the
register and each service of the local offer as it now stands, published through the outbox whenever one changes
(and for the seeded directory by the migration that seeded it, 0007)."""

from __future__ import annotations

from tas_common.db import utcnow
from tas_common.events import CloudEvent, new_event
from tas_common.events.facts import SchoolUpdatedV1, ServiceUpdatedV1

from .models import School, Service

SOURCE = "tas/referral"


def school_updated(school: School) -> CloudEvent:
    return new_event(
        SchoolUpdatedV1(
            urn=school.urn,
            la_code=school.la_code,
            phase=school.phase,
            pupils_on_roll=school.pupils_on_roll,
            roll_census_on=school.roll_census_on,
            updated_at=utcnow(),
        ),
        source=SOURCE,
        subject=school.urn,
    )


def service_updated(service: Service) -> CloudEvent:
    return new_event(
        ServiceUpdatedV1(
            service_id=service.id,
            la_code=service.la_code,
            organisation_id=service.organisation_id,
            organisation_type=service.organisation_type,
            practitioner_roles=tuple(service.practitioner_roles),
            taxonomy=tuple(service.taxonomy),
            target_wait_days=service.target_wait_days,
            status=service.status,
            updated_at=service.updated_at,
        ),
        source=SOURCE,
        subject=service.id,
    )
