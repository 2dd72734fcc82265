"""What notify does with caseload's and referral's events: keep its replicas (contacts, child scope, team) and
create the messages each trigger calls for, in the handler's transaction (so a redelivered event creates nothing
twice; a second event about the same fact is caught by the notification's de-duplication key)."""

from __future__ import annotations

from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import ConsumerSpec, Handlers
from tas_common.db import utcnow
from tas_common.events import CloudEvent
from tas_common.events.facts import AlertsRaisedV1, LocalAuthorityUpdatedV1, SchoolUpdatedV1, ServiceUpdatedV1
from tas_common.events.schemas import (
    ConcernLinkedV1,
    FamilyContactChangedV1,
    FamilyContactRestrictionChangedV1,
    FamilySignInCodeIssuedV1,
    PlanPublishedV1,
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReferralWithdrawnV1,
    ReviewScheduledV1,
    TeamMemberAddedV1,
    TeamMemberRemovedV1,
)

from ..config import NotifySettings
from ..domain import practitioner_alerts, replicas, sign_in, triggers

Outcome = ReferralAcceptedV1 | ReferralDeclinedV1 | ReferralRedirectedV1 | ReferralWithdrawnV1 | ReferralCompletedV1
OUTCOMES: dict[type[Outcome], str] = {
    ReferralAcceptedV1: "accepted",
    ReferralDeclinedV1: "declined",
    ReferralRedirectedV1: "redirected",
    ReferralWithdrawnV1: "withdrawn",
    ReferralCompletedV1: "completed",
}


async def on_contact_changed(session: AsyncSession, change: FamilyContactChangedV1, event: CloudEvent) -> None:
    await replicas.upsert_contact(session, change=change)


async def on_restriction_changed(
    session: AsyncSession, change: FamilyContactRestrictionChangedV1, event: CloudEvent
) -> None:
    await replicas.restriction_changed(session, change=change, now=utcnow())


async def on_sign_in_code(
    session: AsyncSession, issued: FamilySignInCodeIssuedV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await sign_in.send_code(session, settings=settings, issued=issued, event_id=event.id, now=utcnow())


async def on_member_added(session: AsyncSession, member: TeamMemberAddedV1, event: CloudEvent) -> None:
    await replicas.team_member_changed(session, member=member, added=True)


async def on_member_removed(session: AsyncSession, member: TeamMemberRemovedV1, event: CloudEvent) -> None:
    await replicas.team_member_changed(session, member=member, added=False)


async def on_concern_linked(
    session: AsyncSession, linked: ConcernLinkedV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await triggers.acknowledge_concern(session, settings=settings, linked=linked, event_id=event.id, now=utcnow())


async def on_referral_submitted(
    session: AsyncSession, referral: ReferralSubmittedV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await triggers.referral_submitted(session, settings=settings, referral=referral, event_id=event.id, now=utcnow())


async def on_referral_outcome(
    session: AsyncSession, referral: Outcome, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await triggers.referral_outcome(
        session, settings=settings, kind=OUTCOMES[type(referral)], referral=referral, event_id=event.id, now=utcnow()
    )


async def on_plan_published(
    session: AsyncSession, plan: PlanPublishedV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await triggers.plan_published(session, settings=settings, plan=plan, event_id=event.id, now=utcnow())


async def on_review_scheduled(
    session: AsyncSession, review: ReviewScheduledV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await triggers.review_scheduled(session, settings=settings, review=review, event_id=event.id, now=utcnow())


async def on_directory(
    session: AsyncSession, entry: SchoolUpdatedV1 | ServiceUpdatedV1 | LocalAuthorityUpdatedV1, event: CloudEvent
) -> None:
    await practitioner_alerts.directory_changed(session, entry=entry)


async def on_alerts_raised(
    session: AsyncSession, raised: AlertsRaisedV1, event: CloudEvent, *, settings: NotifySettings
) -> None:
    await practitioner_alerts.tell(session, settings=settings, raised=raised, event=event, now=utcnow())


def handlers(settings: NotifySettings) -> Handlers:
    """Notify's handlers, by the payload type each is given; the triggers' settings are bound here."""
    return {
        FamilyContactChangedV1: on_contact_changed,
        FamilyContactRestrictionChangedV1: on_restriction_changed,
        FamilySignInCodeIssuedV1: partial(on_sign_in_code, settings=settings),
        TeamMemberAddedV1: on_member_added,
        TeamMemberRemovedV1: on_member_removed,
        ConcernLinkedV1: partial(on_concern_linked, settings=settings),
        ReferralSubmittedV1: partial(on_referral_submitted, settings=settings),
        ReferralAcceptedV1: partial(on_referral_outcome, settings=settings),
        ReferralDeclinedV1: partial(on_referral_outcome, settings=settings),
        ReferralRedirectedV1: partial(on_referral_outcome, settings=settings),
        ReferralWithdrawnV1: partial(on_referral_outcome, settings=settings),
        ReferralCompletedV1: partial(on_referral_outcome, settings=settings),
        PlanPublishedV1: partial(on_plan_published, settings=settings),
        ReviewScheduledV1: partial(on_review_scheduled, settings=settings),
        SchoolUpdatedV1: on_directory,
        ServiceUpdatedV1: on_directory,
        LocalAuthorityUpdatedV1: on_directory,
        AlertsRaisedV1: partial(on_alerts_raised, settings=settings),
    }


def consumer_spec(settings: NotifySettings) -> ConsumerSpec:
    return ConsumerSpec.configured(settings, durable="notify", handlers=handlers(settings))
