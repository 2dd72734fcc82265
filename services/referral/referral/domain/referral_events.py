"""The events a referral's moves emit (the catalogue: docs/events.md)."""

from __future__ import annotations

from tas_common.events import CloudEvent, EventPayload, new_event
from tas_common.events.schemas import ReferralFirstContactRecordedV1, ReferralSubmittedV1

from .models import Concern, Referral, Service

SOURCE = "tas/referral"


def event_fields(referral: Referral, concern: Concern, service: Service | None = None) -> dict[str, object]:
    return {
        "referral_id": referral.id,
        "concern_id": referral.concern_id,
        "child_id": concern.child_id,
        "service_id": referral.service_id,
        "school_urn": referral.school_urn,
        "safeguarding": referral.safeguarding,
        "service_name": service.name if service is not None else None,
        "organisation_name": service.organisation_name if service is not None else None,
        "service_contact_email": service.email if service is not None else None,
    }


def as_event(payload: EventPayload, referral: Referral) -> CloudEvent:
    return new_event(payload, source=SOURCE, subject=referral.id)


def submitted_event(referral: Referral, concern: Concern, service: Service) -> CloudEvent:
    return as_event(
        ReferralSubmittedV1(
            **event_fields(referral, concern, service),
            service_org_id=service.organisation_id,
            service_org_type=service.organisation_type,
            urgency=referral.urgency,
            la_code=referral.la_code,
            target_wait_days=service.target_wait_days,
        ),
        referral,
    )


def first_contact_event(referral: Referral, concern: Concern) -> CloudEvent:
    assert referral.first_contact_at is not None
    return as_event(
        ReferralFirstContactRecordedV1(**event_fields(referral, concern), first_contact_at=referral.first_contact_at),
        referral,
    )
