"""What referral does with other services' events."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer import ConsumerSpec
from tas_common.events import CloudEvent
from tas_common.events.schemas import ConcernLinkedV1, ConsentChangedV1

from ..config import ReferralSettings
from ..domain import concerns, consent


async def on_concern_linked(session: AsyncSession, event: CloudEvent) -> None:
    payload = ConcernLinkedV1.model_validate(event.data)
    await concerns.link_child(session, concern_id=payload.concern_id, child_id=payload.child_id)


async def on_consent_changed(session: AsyncSession, event: CloudEvent) -> None:
    await consent.consent_changed(session, change=ConsentChangedV1.model_validate(event.data), at=event.time)


def consumer_spec(settings: ReferralSettings) -> ConsumerSpec:
    return ConsumerSpec(
        durable="referral",
        handlers={ConcernLinkedV1.subject: on_concern_linked, ConsentChangedV1.subject: on_consent_changed},
        max_deliver=settings.consumer_max_deliver,
        backoff_seconds=settings.consumer_backoff_seconds,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
    )
