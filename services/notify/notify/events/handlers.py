"""What notify does with caseload's and referral's events."""
from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer import ConsumerSpec
from tas_common.events import CloudEvent
from tas_common.events.schemas import ConcernLinkedV1, FamilyContactChangedV1

from ..config import NotifySettings
from ..domain import notifications


def consumer_spec(settings: NotifySettings) -> ConsumerSpec:
    async def on_contact_changed(session: AsyncSession, event: CloudEvent) -> None:
        await notifications.upsert_contact(session, change=FamilyContactChangedV1.model_validate(event.data))

    async def on_concern_linked(session: AsyncSession, event: CloudEvent) -> None:
        await notifications.acknowledge_concern(session, linked=ConcernLinkedV1.model_validate(event.data),
                                                event_id=event.id, portal_url=settings.family_portal_url)

    return ConsumerSpec(
        durable="notify",
        handlers={FamilyContactChangedV1.subject: on_contact_changed, ConcernLinkedV1.subject: on_concern_linked},
        max_deliver=settings.consumer_max_deliver, backoff_seconds=settings.consumer_backoff_seconds,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
    )
