"""What referral does with other services' events."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer import ConsumerSpec, Handlers
from tas_common.events import CloudEvent
from tas_common.events.schemas import ConcernLinkedV1, ConsentChangedV1

from ..config import ReferralSettings
from ..domain import concerns, consent


async def on_concern_linked(session: AsyncSession, linked: ConcernLinkedV1, event: CloudEvent) -> None:
    await concerns.link_child(
        session, concern_id=linked.concern_id, child_id=linked.child_id, family_member_ids=linked.family_contact_ids
    )


async def on_consent_changed(session: AsyncSession, change: ConsentChangedV1, event: CloudEvent) -> None:
    await consent.consent_changed(session, change=change, at=event.time)


HANDLERS: Handlers = {
    ConcernLinkedV1: on_concern_linked,
    ConsentChangedV1: on_consent_changed,
}
"""Referral's handlers, by the payload type each is given."""


def consumer_spec(settings: ReferralSettings) -> ConsumerSpec:
    return ConsumerSpec(
        durable="referral",
        handlers=HANDLERS,
        max_deliver=settings.consumer_max_deliver,
        backoff_seconds=settings.consumer_backoff_seconds,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
    )
