"""Insights' alerts reach practitioners by email through the real system: referral's directory gives notify the
inboxes (a service's team, a school's SENCO, an LA's SEND team), insights' sweep raises the alerts, notify emails
each once (a digest when there are many) through its lifecycle and the SMTP sink, and never a family. A redelivered
or replayed alert, or the same alert in a new event, sends nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from insights.domain import alerts
from sqlalchemy import select

from tas_common import clock
from tas_common.events import CloudEvent, new_event
from tas_common.events.facts import AlertsRaisedV1
from tas_common.outbox import add_event
from tas_common.tables import outbox
from tas_dev.testing import concern_body

from ..conftest import eventually

pytestmark = [pytest.mark.insights, pytest.mark.settings(insights={"alert_interval_seconds": 3600})]

SENCO = {"role": "senco", "org_type": "school", "org_id": "school-100000", "school_urns": ["100000"]}
LA = {"role": "send_officer", "org_type": "local_authority", "org_id": "la-999", "sub": "so-1", "la_code": "999"}
SALT_INBOX = "salt.referrals@example.org"
LA_INBOX = "send.team@fictional-borough.example.org"


def _body(message: Message) -> str:
    plain = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    payload = plain.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(plain.get_content_charset() or "utf-8")


def _subject(message: Message) -> str:
    return " ".join(str(message["Subject"]).split())  # unfolded


def _to(messages: list[Message]) -> list[str]:
    return sorted(str(m["To"]) for m in messages)


async def _alert_emails(system) -> list[Message]:
    """The emails at the sink that are insights' alerts (the families and the team get other messages too)."""
    from notify.domain.models import Notification

    async with system.runtime("notify").db.reader() as session:
        ids = set(
            (
                await session.execute(
                    select(Notification.id).where(Notification.template.like("insights_alert%"))  # type: ignore[attr-defined]
                )
            ).scalars()
        )
    return [m for m in system.smtp.messages if m["X-TAS-Notification-Id"] in ids]


async def _count(system, n: int) -> list[Message]:
    async def enough():
        found = await _alert_emails(system)
        return found if len(found) >= n else None

    return await eventually(enough, timeout=30, what=f"{n} alert emails")


async def _late_referral(system, senco, serial: int, days_ago: int) -> tuple[str, str]:
    """A concern and a referral to speech and language therapy made `days_ago` (its target is 126 days)."""
    with clock.at(datetime.now(UTC) - timedelta(days=days_ago)):
        concern = (await system.referral.post("/v1/concerns", json=concern_body(serial), headers=senco)).json()
        made = await system.referral.post(
            "/v1/referrals", json={"concern_id": concern["id"], "service_ids": ["999-salt"]}, headers=senco
        )
    assert made.status_code == 201, made.text
    return concern["id"], made.json()["items"][0]["id"]


async def _insights_holds(system, referrals: int, ehc: int) -> None:
    from insights.domain.models import EhcRequest, Referral

    async def held():
        async with system.runtime("insights").db.reader() as session:
            waiting = (await session.execute(select(Referral).where(Referral.waiting))).scalars().all()
            requests = (await session.execute(select(EhcRequest))).scalars().all()
        return len(waiting) == referrals and len(requests) == ehc

    await eventually(held, timeout=30, what="insights to hold the referrals and EHC requests")


async def _sweep(system) -> None:
    """Insights' own sweep, now (its timer is an hour in this test, so the test says when)."""
    async with system.runtime("insights").db.transaction() as session:
        await alerts.sweep(session, as_of=clock.now(), due_within_days=7, digest_from=4)


async def test_alerts_are_emailed_once_to_the_practitioners_inboxes_never_to_a_family(system, token):
    senco, la = token(**SENCO), token(**LA)
    from notify.domain.models import AlertMessage, Notification, PractitionerInbox

    async def inboxes():
        async with system.runtime("notify").db.reader() as session:
            rows = {r.recipient: r.email for r in (await session.execute(select(PractitionerInbox))).scalars()}
        wanted = ("service:999-salt", "school:100000", "la:999")
        return rows if all(rows.get(k) for k in wanted) else None

    known = await eventually(inboxes, timeout=30, what="notify to learn the inboxes from referral's directory")
    senco_inbox = known["school:100000"]
    assert (known["service:999-salt"], known["la:999"]) == (SALT_INBOX, LA_INBOX)
    assert senco_inbox.startswith("senco@") and senco_inbox.endswith(".example.org")

    # one referral past its target (200 days, target 126), and an EHC request whose 6-week decision is overdue
    concern_id, first = await _late_referral(system, senco, 9500, days_ago=200)

    async def linked():
        return (await system.referral.get(f"/v1/concerns/{concern_id}", headers=senco)).json().get("child_id")

    child = await eventually(linked, what="the child")
    requested = datetime.now(UTC).date() - timedelta(days=60)
    made = await system.caseload.post(
        f"/v1/children/{child}/ehc-requests", json={"requested_on": requested.isoformat()}, headers=la
    )
    assert made.status_code == 201, made.text
    await _insights_holds(system, referrals=1, ehc=1)
    await _sweep(system)

    await _count(system, 3)
    await system.settled()
    sent = await _alert_emails(system)
    assert _to(sent) == sorted([SALT_INBOX, senco_inbox, LA_INBOX])
    by_to = {str(m["To"]): m for m in sent}
    to_team = _body(by_to[SALT_INBOX])
    assert _subject(by_to[SALT_INBOX]) == (
        f"A referral has waited past its target for first contact: Referral {first[:8].upper()}"
    )
    assert f"/referrals/{first}" in to_team and "Reference: Referral " in to_team
    to_la = _body(by_to[LA_INBOX])
    assert _subject(by_to[LA_INBOX]).startswith("An EHC needs assessment decision is overdue: EHC request ")
    assert f"/children/{child}" in to_la
    assert f"{(requested + timedelta(days=42)).day} " in to_la  # the statutory date, 42 days from the request
    print(
        f"\n--- one alert at the sink ---\nTo: {by_to[LA_INBOX]['To']}\nSubject: {_subject(by_to[LA_INBOX])}\n\n{to_la}"
    )

    # four more late referrals: one sweep finds four for the team and four for the SENCO → one digest each
    later = [(await _late_referral(system, senco, 9510 + n, days_ago=150 + n))[1] for n in range(4)]
    await _insights_holds(system, referrals=5, ehc=1)
    await _sweep(system)
    await _count(system, 5)
    await system.settled()
    digests = [m for m in await _alert_emails(system) if m not in sent]
    assert _to(digests) == sorted([SALT_INBOX, senco_inbox])
    for digest in digests:
        assert _subject(digest) == "4 waits and deadlines need attention"
        text = _body(digest)
        assert all(f"Referral {r[:8].upper()}: past its target for first contact" in text for r in later)
        assert first[:8].upper() not in text  # told already, alone
    print(
        f"\n--- one digest at the sink ---\nTo: {digests[0]['To']}\nSubject: {_subject(digests[0])}\n\n{_body(digests[0])}"
    )

    # the same alerts again: redelivered (the same event, no de-duplication header) and replayed (a new event id)
    async with system.runtime("insights").db.reader() as session:
        raised = [CloudEvent.from_bytes(r.payload) for r in (await session.execute(select(outbox))).all()]
    raised = [e for e in raised if e.type == "tas.insights.alerts.raised.v1"]
    assert len(raised) == 5
    js = system.runtime("insights").js
    for event in raised:
        await js.publish(event.nats_subject, event.to_bytes())
    async with system.runtime("insights").db.transaction() as session:
        for event in raised:
            await add_event(session, new_event(event.payload(), source="tas/insights", subject="replay"))
        # and one addressed to no directory entry (a family is never a recipient type)
        family = AlertsRaisedV1(recipient_type="family", recipient_id="contact-1", alerts=event.payload().alerts)
        await add_event(session, new_event(family, source="tas/insights", subject="family"))
        # and one for a service the directory holds no inbox for: recorded as failed, with why
        unknown = AlertsRaisedV1(
            recipient_type="service",
            recipient_id="no-such-service",
            alerts=tuple(a.model_copy(update={"key": f"{a.key}:x"}) for a in event.payload().alerts[:1]),
        )
        await add_event(session, new_event(unknown, source="tas/insights", subject="unknown"))
    await system.settled()
    assert len(await _alert_emails(system)) == 5

    async with system.runtime("notify").db.reader() as session:
        rows = (await session.execute(select(Notification).where(Notification.template.like("insights_alert%")))).all()
        told = (await session.execute(select(AlertMessage))).scalars().all()
    failed = [n for (n,) in rows if n.status != "delivered"]
    assert [(n.recipient_key, n.status, n.failure_reason) for n in failed] == [
        (
            "service:no-such-service",
            "permanent-failure",
            "no address: the directory holds no inbox for service:no-such-service",
        )
    ]
    assert len(rows) == 6 and len(told) == 1 + 1 + 1 + 4 + 4 + 1

    # never a family: no alert went to a family contact named in the concerns (they were told of the concern)
    family = {c["email"] for s in (9500, 9510, 9511, 9512, 9513) for c in concern_body(s)["family_contacts"]}
    assert family & {str(m["To"]) for m in system.smtp.messages}  # the families' own messages reached the sink
    assert not family & {n.recipient for (n,) in rows} and {n.recipient_key.split(":")[0] for (n,) in rows} == {
        "service",
        "school",
        "la",
    }
