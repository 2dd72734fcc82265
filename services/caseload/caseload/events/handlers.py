"""What caseload does with other services' events. Each handler runs in the consumer runner's transaction (the
processed-events table makes a redelivery a no-op); on top of that each records its fact once, so that the same
fact carried by another event id changes nothing either."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import ConsumerSpec, Handlers
from tas_common.events import CloudEvent
from tas_common.events.schemas import (
    ConcernRaisedV1,
    ConcernUpdatedV1,
    ContactPreferencesChangedV1,
    FamilyReachabilityChangedV1,
    NotificationDeliveredV1,
    NotificationFailedV1,
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralEventBase,
    ReferralRedirectedV1,
    ReferralSubmittedV1,
    ReferralWithdrawnV1,
)

from ..config import CaseloadSettings
from ..domain import concern_intake, concern_updates, family, organisations, team
from ..domain.chronology import add_fact_once
from ..domain.models import Child


async def on_concern_raised(session: AsyncSession, concern: ConcernRaisedV1, event: CloudEvent) -> None:
    await concern_intake.register_concern(session, concern=concern, event_id=event.id)


async def on_concern_updated(session: AsyncSession, change: ConcernUpdatedV1, event: CloudEvent) -> None:
    await concern_updates.concern_updated(session, change=change, event_id=event.id)


async def _child_of(session: AsyncSession, referral: ReferralEventBase) -> Child:
    """The referral's child: by id when referral knew it, else through the concern caseload linked it to."""
    return await concern_updates.child_of_concern(session, child_id=referral.child_id, concern_id=referral.concern_id)


def _sensitivity(referral: ReferralEventBase) -> str:
    return "restricted" if referral.safeguarding else "team"


async def _referral_fact(
    session: AsyncSession,
    event: CloudEvent,
    referral: ReferralEventBase,
    kind: str,
    summary: str,
    *,
    org_id: str | None = None,
    org_type: str | None = None,
) -> Child | None:
    """Write the chronology entry for a referral decision once; None when this fact is already recorded."""
    child = await _child_of(session, referral)
    written = await add_fact_once(
        session,
        child_id=child.id,
        kind=kind,
        ref_id=referral.referral_id,
        summary=summary,
        sensitivity=_sensitivity(referral),
        ref_type="referral",
        source_event_id=event.id,
        org_id=org_id,
        org_type=org_type,
    )
    return child if written else None


async def on_referral_submitted(session: AsyncSession, r: ReferralSubmittedV1, event: CloudEvent) -> None:
    await organisations.remember(
        session, org_id=r.service_org_id, name=r.organisation_name, org_type=r.service_org_type
    )
    await _referral_fact(
        session,
        event,
        r,
        "referral_submitted",
        f"Referral to service {r.service_id} ({r.service_org_id}) submitted ({r.urgency})",
        org_id=r.service_org_id,
        org_type=r.service_org_type,
    )


async def on_referral_accepted(session: AsyncSession, r: ReferralAcceptedV1, event: CloudEvent) -> None:
    await organisations.remember(
        session, org_id=r.practitioner_org_id, name=r.organisation_name, org_type=r.practitioner_org_type
    )
    child = await _referral_fact(
        session,
        event,
        r,
        "referral_accepted",
        f"Referral to service {r.service_id} accepted by {r.practitioner_name} ({r.practitioner_org_id})",
        org_id=r.practitioner_org_id,
        org_type=r.practitioner_org_type,
    )
    if child is not None:
        await team.join(
            session,
            child=child,
            sub=r.practitioner_sub,
            name=r.practitioner_name,
            org_id=r.practitioner_org_id,
            org_type=r.practitioner_org_type,
            role=r.practitioner_role,
            referral_id=r.referral_id,
            added_by=f"referral:{r.referral_id}",
            event_id=event.id,
            service_name=r.service_name,
            contact_email=r.service_contact_email,
        )


async def on_referral_declined(session: AsyncSession, r: ReferralDeclinedV1, event: CloudEvent) -> None:
    await _referral_fact(
        session, event, r, "referral_declined", f"Referral to service {r.service_id} declined: {r.reason}"
    )


async def on_referral_redirected(session: AsyncSession, r: ReferralRedirectedV1, event: CloudEvent) -> None:
    await _referral_fact(
        session,
        event,
        r,
        "referral_redirected",
        f"Referral to service {r.service_id} redirected to service {r.to_service_id}: {r.reason}",
    )


async def _closed(session: AsyncSession, event: CloudEvent, r: ReferralEventBase, kind: str, summary: str) -> None:
    child = await _referral_fact(session, event, r, kind, summary)
    if child is not None:
        await team.referral_closed(session, child=child, referral_id=r.referral_id, reason=summary, event_id=event.id)


async def on_referral_withdrawn(session: AsyncSession, r: ReferralWithdrawnV1, event: CloudEvent) -> None:
    await _closed(session, event, r, "referral_withdrawn", f"Referral to service {r.service_id} withdrawn: {r.reason}")


async def on_referral_completed(session: AsyncSession, r: ReferralCompletedV1, event: CloudEvent) -> None:
    await _closed(
        session,
        event,
        r,
        "referral_completed",
        f"Referral to service {r.service_id} completed" + (f": {r.outcome}" if r.outcome else ""),
    )


async def _notification(
    session: AsyncSession, event: CloudEvent, kind: str, summary: str, notification_id: str, child_id: str | None
) -> None:
    if child_id is None:
        return  # not about a child (nothing for the timeline); nor is one caseload does not hold (add_fact_once)
    await add_fact_once(
        session,
        child_id=child_id,
        kind=kind,
        summary=summary,
        ref_type="notification",
        ref_id=notification_id,
        source_event_id=event.id,
        org_type="notify",
    )


async def on_notification_delivered(session: AsyncSession, n: NotificationDeliveredV1, event: CloudEvent) -> None:
    await _notification(
        session,
        event,
        "notification_delivered",
        f"Family notification ({n.template}) by {n.channel} delivered",
        n.notification_id,
        n.child_id,
    )


async def on_notification_failed(session: AsyncSession, n: NotificationFailedV1, event: CloudEvent) -> None:
    await _notification(
        session,
        event,
        "notification_failed",
        f"Family notification ({n.template}) by {n.channel} failed" + (f": {n.reason}" if n.reason else ""),
        n.notification_id,
        n.child_id,
    )


async def on_contact_preferences_changed(
    session: AsyncSession, change: ContactPreferencesChangedV1, event: CloudEvent
) -> None:
    await family.apply_preferences(session, change=change, event_id=event.id)


async def on_family_reachability_changed(
    session: AsyncSession, change: FamilyReachabilityChangedV1, event: CloudEvent
) -> None:
    await family.family_reachability(session, change=change, event_id=event.id)


HANDLERS: Handlers = {
    ConcernRaisedV1: on_concern_raised,
    ConcernUpdatedV1: on_concern_updated,
    ReferralSubmittedV1: on_referral_submitted,
    ReferralAcceptedV1: on_referral_accepted,
    ReferralDeclinedV1: on_referral_declined,
    ReferralRedirectedV1: on_referral_redirected,
    ReferralWithdrawnV1: on_referral_withdrawn,
    ReferralCompletedV1: on_referral_completed,
    NotificationDeliveredV1: on_notification_delivered,
    NotificationFailedV1: on_notification_failed,
    ContactPreferencesChangedV1: on_contact_preferences_changed,
    FamilyReachabilityChangedV1: on_family_reachability_changed,
}
"""Caseload's handlers, by the payload type each is given."""


def consumer_spec(settings: CaseloadSettings) -> ConsumerSpec:
    return ConsumerSpec.configured(settings, durable="caseload", handlers=HANDLERS)
