"""What caseload does with other services' events."""
from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer import ConsumerSpec
from tas_common.events import CloudEvent
from tas_common.events.schemas import ConcernRaisedV1

from ..config import CaseloadSettings
from ..domain import children


async def on_concern_raised(session: AsyncSession, event: CloudEvent) -> None:
    await children.register_concern(session, concern=ConcernRaisedV1.model_validate(event.data), event_id=event.id)


def consumer_spec(settings: CaseloadSettings) -> ConsumerSpec:
    return ConsumerSpec(
        durable="caseload", handlers={ConcernRaisedV1.subject: on_concern_raised},
        max_deliver=settings.consumer_max_deliver, backoff_seconds=settings.consumer_backoff_seconds,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
    )
