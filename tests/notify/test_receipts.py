"""Receipts against a real (migrated) database: what a provider's word does to a message, its history and the
suppression list."""

from __future__ import annotations

import json

from sqlmodel import select

from notify.domain import reading, receipts
from notify.domain.models import Contact, Notification, Suppression

from .helpers import add_contact, new_id, outbox_events, outbox_types, rows

RELAY_TOKEN = "relay-token-0123456789"


async def seed(db, **values) -> Notification:
    defaults = {
        "child_id": new_id(),
        "contact_id": new_id(),
        "trigger_event_id": new_id(),
        "dedupe_key": new_id(),
        "recipient_key": new_id(),
        "template": "referral_accepted",
        "template_version": 1,
        "language": "en",
        "channel": "email",
        "recipient": "parent@example.org",
        "body": "b",
        "attempts": 1,
    }
    n = Notification(**{**defaults, **values})
    async with db.transaction() as session:
        session.add(n)
    return n


async def smtp_receipt(db, settings, payload: dict):
    async with db.transaction() as session:
        return await receipts.handle(
            session,
            provider="smtp",
            settings=settings,
            url="https://notify.example.org/v1/receipts/smtp",
            body=json.dumps(payload).encode(),
            headers={"authorization": f"Bearer {RELAY_TOKEN}"},
            query={},
        )


async def test_a_bounce_after_delivery_is_an_event_on_the_message_not_a_new_status(db, make_settings):
    settings = make_settings(smtp_receipt_token=RELAY_TOKEN)
    n = await seed(db, status="delivered", provider="smtp", provider_ref=f"<{new_id()}@tas.example.org>")
    outcome = await smtp_receipt(db, settings, {"message_id": n.provider_ref, "status": "bounced"})
    assert (outcome.matched, outcome.status, outcome.suppressed) == (True, "delivered", True)
    await smtp_receipt(db, settings, {"notification_id": n.id, "status": "bounced"})  # the relay says it again
    (row,) = await rows(db)
    assert (row.status, row.failure_reason) == ("delivered", None)  # a final status never changes
    assert await outbox_types(db) == []  # no second verdict (.failed) after .delivered
    async with db.reader() as session:
        suppressed = {s.address: s.reason for s in (await session.exec(select(Suppression))).all()}
        assert suppressed == {"parent@example.org": "hard-bounce"}  # it still feeds suppression
        history = await reading.history(session, notification_ids=[n.id])
    assert [(e.kind, e.detail) for e in history[n.id]] == [("bounced", "smtp: hard bounce")]


async def test_a_bounce_of_a_message_still_sending_fails_it(db, make_settings):
    settings = make_settings(smtp_receipt_token=RELAY_TOKEN)
    n = await seed(db, status="sending", provider="smtp")
    outcome = await smtp_receipt(db, settings, {"notification_id": n.id, "status": "bounced"})
    assert outcome.status == "permanent-failure"
    (row,) = await rows(db)
    assert (row.status, row.failure_reason) == ("permanent-failure", "smtp: hard bounce")
    assert await outbox_types(db) == ["tas.notify.notification.failed.v1"]


async def test_a_bounce_tells_caseload_about_every_contact_with_that_address(db, make_settings):
    settings = make_settings(smtp_receipt_token=RELAY_TOKEN)
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="email", email="parent@example.org", mobile=None)
    n = await seed(db, status="delivered", provider="smtp", contact_id=contact, child_id=child)
    await smtp_receipt(db, settings, {"notification_id": n.id, "status": "bounced"})
    published = await outbox_events(db, "tas.notify.contact.preferences_changed.v1")
    assert [(e["contact_id"], e["suppressed"], e["reachable"]) for e in published] == [
        (contact, [{"channel": "email", "reason": "hard-bounce"}], False)
    ]
    (family,) = await outbox_events(db, "tas.notify.family.reachability_changed.v1")
    assert family == {
        "child_id": child,
        "reachable": False,
        "contacts": [{"contact_id": contact, "reasons": ["email: hard-bounce", "no sms address"]}],
    }
    async with db.reader() as session:
        row = await session.get(Contact, contact)
    assert row.email_block is None  # a bounce is about the address: a new address will work
