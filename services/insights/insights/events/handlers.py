"""What insights does with referral's and caseload's events: keep its facts and tallies (ids, dates, codes)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import ConsumerSpec, Handlers
from tas_common.events import CloudEvent
from tas_common.events.facts import EhcRequestRecordedV1, ReviewProgressRecordedV1, SchoolUpdatedV1, ServiceUpdatedV1
from tas_common.events.schemas import (
    ConcernLinkedV1,
    ConcernRaisedV1,
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralFirstContactRecordedV1,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReferralWithdrawnV1,
)

from ..config import InsightsSettings
from ..domain import directory_facts, ehc_facts, outcome_facts, referral_facts

Move = (
    ReferralSubmittedV1
    | ReferralAcceptedV1
    | ReferralDeclinedV1
    | ReferralRedirectedV1
    | ReferralWithdrawnV1
    | ReferralCompletedV1
    | ReferralFirstContactRecordedV1
)
STATUS: dict[type, str] = {
    ReferralSubmittedV1: "submitted",
    ReferralAcceptedV1: "accepted",
    ReferralDeclinedV1: "declined",
    ReferralRedirectedV1: "redirected",
    ReferralWithdrawnV1: "withdrawn",
    ReferralCompletedV1: "completed",
    ReferralFirstContactRecordedV1: "",
}


async def on_concern_raised(session: AsyncSession, raised: ConcernRaisedV1, event: CloudEvent) -> None:
    await referral_facts.concern_raised(session, raised=raised, at=event.time)


async def on_concern_linked(session: AsyncSession, linked: ConcernLinkedV1, event: CloudEvent) -> None:
    await referral_facts.concern_linked(session, linked=linked)


async def on_referral(session: AsyncSession, referral: Move, event: CloudEvent) -> None:
    await referral_facts.referral_event(session, payload=referral, status=STATUS[type(referral)], at=event.time)


async def on_ehc_request(session: AsyncSession, recorded: EhcRequestRecordedV1, event: CloudEvent) -> None:
    await ehc_facts.request_recorded(session, recorded=recorded)


async def on_review_progress(session: AsyncSession, progress: ReviewProgressRecordedV1, event: CloudEvent) -> None:
    await outcome_facts.progress_recorded(session, progress=progress)


async def on_school(session: AsyncSession, school: SchoolUpdatedV1, event: CloudEvent) -> None:
    await directory_facts.school_updated(session, school=school)


async def on_service(session: AsyncSession, service: ServiceUpdatedV1, event: CloudEvent) -> None:
    await directory_facts.service_updated(session, service=service)


HANDLERS: Handlers = {
    ConcernRaisedV1: on_concern_raised,
    ConcernLinkedV1: on_concern_linked,
    **dict.fromkeys(STATUS, on_referral),
    EhcRequestRecordedV1: on_ehc_request,
    ReviewProgressRecordedV1: on_review_progress,
    SchoolUpdatedV1: on_school,
    ServiceUpdatedV1: on_service,
}
"""Insights' handlers, by the payload type each is given."""

DURABLE = "insights"


def consumer_spec(settings: InsightsSettings) -> ConsumerSpec:
    return ConsumerSpec.configured(settings, durable=DURABLE, handlers=HANDLERS)
