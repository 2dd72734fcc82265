"""What referral does with events: other services' (a concern linked to a child, consent, a review scheduled) and
its own referral decisions, which become webhook deliveries for the MIS client that pushed the concern."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import ConsumerSpec, Handlers
from tas_common.events import CloudEvent
from tas_common.events.schemas import (
    ConcernLinkedV1,
    ConsentChangedV1,
    ReferralAcceptedV1,
    ReferralDeclinedV1,
    ReferralEventBase,
    ReferralRedirectedV1,
    ReviewScheduledV1,
)

from ..config import ReferralSettings
from ..domain import concerns, consent, webhooks


async def on_concern_linked(session: AsyncSession, linked: ConcernLinkedV1, event: CloudEvent) -> None:
    concern = await concerns.link_child(
        session, concern_id=linked.concern_id, child_id=linked.child_id, family_member_ids=linked.family_contact_ids
    )
    if concern is not None and concern.mis_client is not None:  # only an MIS hears of it (a webhook)
        await webhooks.concern_linked(session, concern_id=linked.concern_id, event_id=event.id, at=event.time)


async def on_consent_changed(session: AsyncSession, change: ConsentChangedV1, event: CloudEvent) -> None:
    await consent.consent_changed(session, change=change, at=event.time)


async def _decided(session: AsyncSession, referral: ReferralEventBase, status: str, event: CloudEvent) -> None:
    await webhooks.referral_decided(
        session,
        concern_id=referral.concern_id,
        referral_id=referral.referral_id,
        service_id=referral.service_id,
        status=status,
        safeguarding=referral.safeguarding,
        event_id=event.id,
        at=event.time,
    )


async def on_referral_accepted(session: AsyncSession, r: ReferralAcceptedV1, event: CloudEvent) -> None:
    await _decided(session, r, "accepted", event)


async def on_referral_declined(session: AsyncSession, r: ReferralDeclinedV1, event: CloudEvent) -> None:
    await _decided(session, r, "declined", event)


async def on_referral_redirected(session: AsyncSession, r: ReferralRedirectedV1, event: CloudEvent) -> None:
    await _decided(session, r, "redirected", event)


async def on_review_scheduled(session: AsyncSession, review: ReviewScheduledV1, event: CloudEvent) -> None:
    await webhooks.review_scheduled(
        session,
        child_id=review.child_id,
        review_id=review.review_id,
        scheduled_for=review.scheduled_for,
        event_id=event.id,
        at=event.time,
    )


HANDLERS: Handlers = {
    ConcernLinkedV1: on_concern_linked,
    ConsentChangedV1: on_consent_changed,
    ReferralAcceptedV1: on_referral_accepted,
    ReferralDeclinedV1: on_referral_declined,
    ReferralRedirectedV1: on_referral_redirected,
    ReviewScheduledV1: on_review_scheduled,
}
"""Referral's handlers, by the payload type each is given."""


def consumer_spec(settings: ReferralSettings) -> ConsumerSpec:
    return ConsumerSpec.configured(settings, durable="referral", handlers=HANDLERS)
