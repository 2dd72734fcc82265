"""The directory facts referral announces for other services (insights measures against them; notify keeps the
practitioners' inboxes from them): each school of the register, each service of the local offer and each local
authority as it now stands, published through the outbox whenever one changes (and for the seeded directory by
the migrations that seeded it, 0007 and 0012)."""

from __future__ import annotations

from tas_common.db import utcnow
from tas_common.events import CloudEvent, new_event
from tas_common.events.facts import LocalAuthorityUpdatedV1, SchoolUpdatedV1, ServiceUpdatedV1

from .models import LocalAuthority, School, Service

SOURCE = "tas/referral"


def school_updated(school: School) -> CloudEvent:
    return new_event(
        SchoolUpdatedV1(
            urn=school.urn,
            la_code=school.la_code,
            phase=school.phase,
            pupils_on_roll=school.pupils_on_roll,
            roll_census_on=school.roll_census_on,
            senco_email=school.senco_email,
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
            team_email=service.email,
        ),
        source=SOURCE,
        subject=service.id,
    )


def local_authority_updated(la: LocalAuthority) -> CloudEvent:
    return new_event(
        LocalAuthorityUpdatedV1(
            la_code=la.la_code, name=la.name, send_team_email=la.send_team_email, updated_at=la.updated_at
        ),
        source=SOURCE,
        subject=la.la_code,
    )
