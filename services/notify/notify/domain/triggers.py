"""Triggers: what each event from referral and caseload tells whom. Family messages go to the child's contacts
who may be told (never for a safeguarding item); a new referral goes to the receiving service's team inbox. Each
runs in the event handler's transaction, so a redelivered event creates nothing twice.

Every family message links to the exact page it is about (links.py) and says which child (first name only), which
service, and how to contact the school (family_words.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.events.schemas import (
    ConcernLinkedV1,
    PlanPublishedV1,
    ReferralEventBase,
    ReferralSubmittedV1,
    ReviewScheduledV1,
)

from ..config import NotifySettings
from . import family_words, lifecycle, links, recipients
from .messages import create_message, notify_family
from .models import Notification
from .replicas import link_concern, remember_child_scope
from .scheduling import aware, format_when
from .templates import Value

REFERRAL_TEMPLATES = {
    "accepted": "referral_accepted",
    "declined": "referral_declined",
    "redirected": "referral_redirected",
    "withdrawn": "referral_withdrawn",
    "completed": "referral_completed",
}
PLAN_TEMPLATES = {"shared_for_comment": "plan_shared_for_comment", "agreed": "plan_agreed"}


async def acknowledge_concern(
    session: AsyncSession, *, settings: NotifySettings, linked: ConcernLinkedV1, event_id: str, now: datetime
) -> list[Notification]:
    """Tell the family that the school asked for support, unless the concern is a safeguarding one."""
    restricted, words = await link_concern(session, linked=linked)
    if linked.safeguarding:
        return []
    return await notify_family(
        session,
        settings=settings,
        child_id=linked.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"concern.linked:{linked.concern_id}",
        template="concern_acknowledged",
        values=lambda language: words.values(language, link=links.child(settings, linked.child_id)),
        now=now,
        contact_ids=linked.family_contact_ids,
        restricted=restricted,
    )


async def referral_outcome(
    session: AsyncSession,
    *,
    settings: NotifySettings,
    kind: str,
    referral: ReferralEventBase,
    event_id: str,
    now: datetime,
) -> list[Notification]:
    """Referral accepted / declined / redirected / withdrawn / completed → the family, linking to the referral's
    page. Nothing for a safeguarding referral, nor for one not yet linked to a child (there is no family to
    address)."""
    if referral.child_id is None:
        return []
    await remember_child_scope(
        session, child_id=referral.child_id, school_urn=referral.school_urn, la_code=None, only_if_unknown=True
    )
    if referral.safeguarding:
        return []
    child_id = referral.child_id
    words = await family_words.about(session, child_id=child_id)
    link = links.referral(settings, child_id, referral.referral_id)
    return await notify_family(
        session,
        settings=settings,
        child_id=child_id,
        trigger_event_id=event_id,
        dedupe_key=f"referral.{kind}:{referral.referral_id}",
        template=REFERRAL_TEMPLATES[kind],
        values=lambda language: words.values(language, link=link, service_name=referral.service_name),
        now=now,
    )


async def plan_published(
    session: AsyncSession, *, settings: NotifySettings, plan: PlanPublishedV1, event_id: str, now: datetime
) -> list[Notification]:
    template = PLAN_TEMPLATES.get(plan.status)
    if template is None or plan.family_contact_restricted:  # (and notify_family checks the replica)
        return []
    words = await family_words.about(session, child_id=plan.child_id)
    link = links.plan(settings, plan.child_id, plan.version)
    return await notify_family(
        session,
        settings=settings,
        child_id=plan.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"plan.{plan.status}:{plan.plan_id}:v{plan.version}",
        template=template,
        values=lambda language: words.values(language, link=link),
        now=now,
    )


async def review_scheduled(
    session: AsyncSession, *, settings: NotifySettings, review: ReviewScheduledV1, event_id: str, now: datetime
) -> list[Notification]:
    """Tell the family now, and remind them `review_reminder_days` before (a `not_before` row). A review moved
    to another time cancels the reminders for the old time that have not gone."""
    if review.family_contact_restricted:  # (and notify_family checks the replica)
        return []
    when = aware(review.scheduled_for)
    stamp = when.astimezone(utcnow().tzinfo).strftime("%Y%m%dT%H%M")
    await lifecycle.cancel_unsent(
        session,
        dedupe_prefix=f"review.reminder:{review.review_id}:",
        keep=f"review.reminder:{review.review_id}:{stamp}",
        reason="review moved",
        now=now,
    )

    words = await family_words.about(session, child_id=review.child_id)
    link = links.review(settings, review.child_id, review.review_id)

    def values(language: str) -> dict[str, Value]:
        return {
            **words.values(language, link=link),
            "review_date": format_when(when, language=language, settings=settings),
        }

    created = await notify_family(
        session,
        settings=settings,
        child_id=review.child_id,
        trigger_event_id=event_id,
        dedupe_key=f"review.scheduled:{review.review_id}:{stamp}",
        template="review_scheduled",
        values=values,
        now=now,
    )
    remind_at = when - timedelta(days=settings.review_reminder_days)
    if remind_at > now:
        created += await notify_family(
            session,
            settings=settings,
            child_id=review.child_id,
            trigger_event_id=event_id,
            dedupe_key=f"review.reminder:{review.review_id}:{stamp}",
            template="review_reminder",
            values=values,
            now=now,
            not_before=remind_at,
        )
    return created


async def referral_submitted(
    session: AsyncSession, *, settings: NotifySettings, referral: ReferralSubmittedV1, event_id: str, now: datetime
) -> list[Notification]:
    """A new referral → the receiving service's team inbox (an email address from the local offer)."""
    if referral.child_id is not None:
        await remember_child_scope(
            session, child_id=referral.child_id, school_urn=referral.school_urn, la_code=None, only_if_unknown=True
        )
    if not referral.service_contact_email:
        return []
    try:
        address = recipients.normalise("email", referral.service_contact_email)
    except recipients.InvalidRecipient:
        return []
    n = await create_message(
        session,
        settings=settings,
        trigger_event_id=event_id,
        dedupe_key=f"referral.submitted:{referral.referral_id}",
        recipient_key=f"inbox:{referral.service_id}",
        template="referral_received",
        language="en",
        channel="email",
        recipient=address,
        child_id=referral.child_id,
        contact_id=None,
        now=now,
        not_before=None,
        values={
            "link": f"{settings.practitioner_portal_url}/{referral.referral_id}",
            "reference": referral.referral_id[:8].upper(),
            "urgent": referral.urgency in ("urgent", "emergency"),
        },
    )
    return [n] if n is not None else []
