"""Insights' alerts told to practitioners: a referral past its service's target to the service's team inbox and to
the referring school's SENCO, an EHC milestone due or overdue to the LA's SEND team (`tas.insights.alerts.raised`).

Addresses come only from referral's directory events (`practitioner_inbox`: a team's or a role's work inbox),
never from a family contact: an alert whose recipient is not a service, a school or an LA sends nothing. Each alert
is told once, ever (`alert_message`, keyed by the alert's key): a redelivered or replayed event, or the same alert
in a later event, sends nothing more. When a recipient has `alert_digest_from` or more alerts not yet told in one
event (one sweep of insights), they go as one digest listing them; otherwise one email each. The messages hold
references, codes and dates only (insights holds no names) and link to the practitioners' pages."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.events import CloudEvent
from tas_common.events.facts import (
    AlertFact,
    AlertsRaisedV1,
    LocalAuthorityUpdatedV1,
    SchoolUpdatedV1,
    ServiceUpdatedV1,
)

from ..config import NotifySettings
from . import lifecycle, links, recipients
from .messages import create_message
from .models import AlertMessage, Notification, PractitionerInbox, new_notification
from .scheduling import aware

RECIPIENT_TYPES = ("service", "school", "la")
"""Whom an alert may be told: a service's team inbox, a school's SENCO, an LA's SEND team. Never a family."""
HEADLINES = {
    "referral_over_target": "A referral has waited past its target for first contact",
    "ehc_decision_due": "An EHC needs assessment decision is due soon",
    "ehc_decision_overdue": "An EHC needs assessment decision is overdue",
    "ehc_final_due": "A final EHC plan is due soon",
    "ehc_final_overdue": "A final EHC plan is overdue",
}
SHORT = {
    "referral_over_target": "past its target for first contact",
    "ehc_decision_due": "needs assessment decision due",
    "ehc_decision_overdue": "needs assessment decision overdue",
    "ehc_final_due": "final plan due",
    "ehc_final_overdue": "final plan overdue",
}
SINGLE, DIGEST = "insights_alert", "insights_alert_digest"
DIGEST_LINES = 10
"""A digest lists this many, then links to the insights page for the rest (a message body holds 2,000 characters)."""


# --- the inboxes, from referral's directory ----------------------------------------------------------------------


async def remember_inbox(session: AsyncSession, *, recipient: str, email: str | None, updated_at: datetime) -> None:
    """Keep the directory's inbox for `recipient` (the newest announcement wins; an older one arriving late, or
    replayed, changes nothing)."""
    row = await session.get(PractitionerInbox, recipient)
    if row is not None and aware(row.updated_at) > aware(updated_at):
        return
    if row is None:
        row = PractitionerInbox(recipient=recipient, updated_at=updated_at)
    row.email, row.updated_at = email, updated_at
    session.add(row)
    await session.flush()


async def directory_changed(
    session: AsyncSession, *, entry: SchoolUpdatedV1 | ServiceUpdatedV1 | LocalAuthorityUpdatedV1
) -> None:
    if isinstance(entry, SchoolUpdatedV1):
        recipient, email = f"school:{entry.urn}", entry.senco_email
    elif isinstance(entry, ServiceUpdatedV1):
        recipient, email = f"service:{entry.service_id}", entry.team_email
    else:
        recipient, email = f"la:{entry.la_code}", entry.send_team_email
    await remember_inbox(session, recipient=recipient, email=email, updated_at=entry.updated_at)


# --- the messages ------------------------------------------------------------------------------------------------


def _day(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def reference(alert: AlertFact) -> str:
    kind = "Referral" if alert.kind == "referral_over_target" else "EHC request"
    return f"{kind} {alert.ref_id[:8].upper()}"


def link(settings: NotifySettings, alert: AlertFact) -> str:
    """The practitioners' page of the referral, else of the child, else the LA's timeliness page."""
    if alert.kind == "referral_over_target":
        return links.practitioner_referral(settings, alert.ref_id)
    if alert.child_id:
        return links.practitioner_child(settings, alert.child_id)
    return links.insights_timeliness(settings, alert.la_code or "")


def digest_line(settings: NotifySettings, alert: AlertFact) -> str:
    when = "was due" if alert.kind.endswith("overdue") or alert.kind == "referral_over_target" else "due by"
    return f"- {reference(alert)}: {SHORT[alert.kind]} ({when} {_day(alert.due_on)})\n  {link(settings, alert)}"


def overview(settings: NotifySettings, recipient_type: str, recipient_id: str) -> str:
    """Where the whole list is: the recipient's insights page (waiting, or the LA's timeliness)."""
    scope = {"service": "service_id", "school": "school_urn"}.get(recipient_type)
    if scope is None:
        return links.insights_timeliness(settings, recipient_id)
    return links.insights_waiting(settings, scope, recipient_id)


async def _untold(session: AsyncSession, alerts: tuple[AlertFact, ...]) -> list[AlertFact]:
    keys = [a.key for a in alerts]
    told = set(
        (
            await session.execute(select(col(AlertMessage.alert_key)).where(col(AlertMessage.alert_key).in_(keys)))
        ).scalars()
    )
    seen: set[str] = set()
    untold = []
    for a in alerts:
        if a.key not in told and a.key not in seen and a.kind in HEADLINES:
            seen.add(a.key)
            untold.append(a)
    return untold


async def _no_address(
    session: AsyncSession, *, raised: AlertsRaisedV1, recipient: str, dedupe_key: str, event_id: str, now: datetime
) -> Notification | None:
    """A row at once `permanent-failure` saying why, so the record shows an alert nobody could be told."""
    refused = new_notification(
        child_id=None,
        contact_id=None,
        trigger_event_id=event_id,
        dedupe_key=dedupe_key,
        recipient_key=recipient,
        template=DIGEST if len(raised.alerts) > 1 else SINGLE,
        template_version=0,
        language="en",
        channel="email",
        recipient="",
        body="",
        created_at=now,
        updated_at=now,
    )
    reason = f"no address: the directory holds no inbox for {recipient}"
    return refused if await lifecycle.insert(session, refused, failure=reason) else None


async def tell(
    session: AsyncSession, *, settings: NotifySettings, raised: AlertsRaisedV1, event: CloudEvent, now: datetime
) -> list[Notification]:
    """The messages for one `alerts.raised` event: one per alert not told before, or one digest listing them."""
    if raised.recipient_type not in RECIPIENT_TYPES:
        return []  # never a family, nor anyone the directory does not name
    recipient = f"{raised.recipient_type}:{raised.recipient_id}"
    untold = await _untold(session, raised.alerts)
    if not untold:
        return []
    digest = len(untold) >= settings.alert_digest_from
    batches: list[tuple[str, list[AlertFact]]]
    if digest:
        keys = "\n".join(sorted(a.key for a in untold)).encode()
        batches = [(f"alerts.digest:{hashlib.sha256(keys).hexdigest()[:40]}", untold)]
    else:
        batches = [(f"alert:{a.key}", [a]) for a in untold]
    inbox = await session.get(PractitionerInbox, recipient)
    address = None
    if inbox is not None and inbox.email:
        try:
            address = recipients.normalise("email", inbox.email)
        except recipients.InvalidRecipient:
            address = None
    created = []
    for dedupe_key, alerts in batches:
        if address is None:
            n = await _no_address(
                session, raised=raised, recipient=recipient, dedupe_key=dedupe_key, event_id=event.id, now=now
            )
        else:
            n = await create_message(
                session,
                settings=settings,
                trigger_event_id=event.id,
                dedupe_key=dedupe_key,
                recipient_key=recipient,
                template=DIGEST if digest else SINGLE,
                language="en",
                channel="email",
                recipient=address,
                child_id=None,
                contact_id=None,
                values=_values(settings, raised, alerts, digest=digest),
                not_before=None,
                now=now,
            )
        if n is None:
            continue
        created.append(n)
        for a in alerts:
            session.add(AlertMessage(alert_key=a.key, notification_id=n.id, created_at=now))
    await session.flush()
    return created


def _values(
    settings: NotifySettings, raised: AlertsRaisedV1, alerts: list[AlertFact], *, digest: bool
) -> dict[str, str | bool]:
    if digest:
        ordered = sorted(alerts, key=lambda a: (a.due_on, a.kind, a.ref_id))
        lines = [digest_line(settings, a) for a in ordered[:DIGEST_LINES]]
        if len(ordered) > DIGEST_LINES:
            more = overview(settings, raised.recipient_type, raised.recipient_id)
            lines.append(f"- and {len(ordered) - DIGEST_LINES} more: see {more}")
        return {"count": str(len(alerts)), "alert_list": "\n".join(lines)}
    alert = alerts[0]
    return {
        "alert": HEADLINES[alert.kind],
        "reference": reference(alert),
        "due_date": _day(alert.due_on),
        "link": link(settings, alert),
    }
