"""What notify does with caseload's and referral's events: keep its replicas (contacts, child scope, team) and
create the messages each trigger calls for, in the handler's transaction (so a redelivered event creates nothing
twice; a second event about the same fact is caught by the notification's de-duplication key)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer import ConsumerSpec
from tas_common.db import utcnow
from tas_common.events import CloudEvent
from tas_common.events.schemas import (
    ConcernLinkedV1,
    FamilyContactChangedV1,
    PlanPublishedV1,
    ReferralAcceptedV1,
    ReferralDeclinedV1,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReviewScheduledV1,
    TeamMemberAddedV1,
    TeamMemberRemovedV1,
)

from ..config import NotifySettings
from ..domain import replicas, triggers

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def consumer_spec(settings: NotifySettings) -> ConsumerSpec:
    async def on_contact_changed(session: AsyncSession, event: CloudEvent) -> None:
        await replicas.upsert_contact(session, change=FamilyContactChangedV1.model_validate(event.data))

    async def on_concern_linked(session: AsyncSession, event: CloudEvent) -> None:
        await triggers.acknowledge_concern(
            session,
            settings=settings,
            linked=ConcernLinkedV1.model_validate(event.data),
            event_id=event.id,
            now=utcnow(),
        )

    def on_referral(kind: str, model: type[ReferralAcceptedV1 | ReferralDeclinedV1 | ReferralRedirectedV1]) -> Handler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            await triggers.referral_outcome(
                session,
                settings=settings,
                kind=kind,
                referral=model.model_validate(event.data),
                event_id=event.id,
                now=utcnow(),
            )

        return handle

    async def on_referral_submitted(session: AsyncSession, event: CloudEvent) -> None:
        await triggers.referral_submitted(
            session,
            settings=settings,
            referral=ReferralSubmittedV1.model_validate(event.data),
            event_id=event.id,
            now=utcnow(),
        )

    async def on_plan_published(session: AsyncSession, event: CloudEvent) -> None:
        await triggers.plan_published(
            session, settings=settings, plan=PlanPublishedV1.model_validate(event.data), event_id=event.id, now=utcnow()
        )

    async def on_review_scheduled(session: AsyncSession, event: CloudEvent) -> None:
        await triggers.review_scheduled(
            session,
            settings=settings,
            review=ReviewScheduledV1.model_validate(event.data),
            event_id=event.id,
            now=utcnow(),
        )

    async def on_member_added(session: AsyncSession, event: CloudEvent) -> None:
        await replicas.team_member_changed(session, member=TeamMemberAddedV1.model_validate(event.data), added=True)

    async def on_member_removed(session: AsyncSession, event: CloudEvent) -> None:
        await replicas.team_member_changed(session, member=TeamMemberRemovedV1.model_validate(event.data), added=False)

    return ConsumerSpec(
        durable="notify",
        handlers={
            FamilyContactChangedV1.subject: on_contact_changed,
            ConcernLinkedV1.subject: on_concern_linked,
            ReferralSubmittedV1.subject: on_referral_submitted,
            ReferralAcceptedV1.subject: on_referral("accepted", ReferralAcceptedV1),
            ReferralDeclinedV1.subject: on_referral("declined", ReferralDeclinedV1),
            ReferralRedirectedV1.subject: on_referral("redirected", ReferralRedirectedV1),
            PlanPublishedV1.subject: on_plan_published,
            ReviewScheduledV1.subject: on_review_scheduled,
            TeamMemberAddedV1.subject: on_member_added,
            TeamMemberRemovedV1.subject: on_member_removed,
        },
        max_deliver=settings.consumer_max_deliver,
        backoff_seconds=settings.consumer_backoff_seconds,
        ack_wait_seconds=settings.consumer_ack_wait_seconds,
    )
