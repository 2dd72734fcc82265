"""Sign-in codes in notify: sealed until the moment a provider gets them, forgotten after, never sent once expired,
not stopped by an opt-out from notifications, and nothing while the child's family contact is restricted."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from notify.domain import replicas, sign_in
from notify.domain.dispatch import Dispatcher
from notify.domain.models import Notification
from notify.providers.outbox import SmsOutboxProvider
from tas_common.db import utcnow
from tas_common.events.schemas import FamilyContactRestrictionChangedV1, FamilySignInCodeIssuedV1

from .helpers import add_contact, new_id, rows


def issued(settings, *, child_id: str, contact_id: str, code: str = "246810", minutes: int = 10):
    challenge = new_id()
    box = sign_in.code_box(settings)
    return FamilySignInCodeIssuedV1(
        challenge_id=challenge,
        contact_id=contact_id,
        child_id=child_id,
        channel="sms",
        sealed_code=box.seal(code, aad=challenge),
        expires_at=utcnow() + timedelta(minutes=minutes),
    )


async def send_code(session, settings, *, child_id: str, contact_id: str) -> Notification | None:
    """Notify's use case for one new sign_in_code_issued event (a fresh code, a new event id)."""
    return await sign_in.send_code(
        session,
        settings=settings,
        issued=issued(settings, child_id=child_id, contact_id=contact_id),
        event_id=new_id(),
        now=utcnow(),
    )


async def test_the_code_is_opened_only_to_send_it_and_forgotten_after(db, make_settings, tmp_path):
    settings = make_settings(quiet_hours_start=0, quiet_hours_end=23)  # quiet nearly all day: a code goes
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="sms", mobile="07700 900611", opted_out=True)
    async with db.transaction() as session:
        n = await send_code(session, settings, child_id=child, contact_id=contact)
    assert n is not None and n.not_before is None and "246810" not in n.body and n.secret
    outbox = tmp_path / "codes.jsonl"
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [SmsOutboxProvider(outbox)]})
    assert await dispatcher.dispatch_once() == 1
    (sent,) = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert "246810" in sent["body"] and sent["to"] == "+447700900611"  # an opt-out does not stop a code asked for
    (row,) = await rows(db, contact_id=contact)
    assert row.status == "delivered" and row.secret is None and "246810" not in row.body


async def test_an_expired_code_is_not_sent_and_nothing_goes_while_contact_is_restricted(db, make_settings, tmp_path):
    settings = make_settings()
    child = new_id()
    contact = await add_contact(db, child_id=child, channel="sms", mobile="07700 900612")
    async with db.transaction() as session:
        await send_code(session, settings, child_id=child, contact_id=contact)
        # the code expires before the dispatcher gets to it
        await session.exec(
            update(Notification).where(Notification.contact_id == contact).values(expires_at=utcnow() - timedelta(1))
        )
    outbox = tmp_path / "codes.jsonl"
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [SmsOutboxProvider(outbox)]})
    await dispatcher.dispatch_once()
    (expired,) = await rows(db, contact_id=contact)
    assert expired.status == "permanent-failure" and "expired" in expired.failure_reason and expired.secret is None
    assert not outbox.exists()
    # while the child's family contact is restricted: no code, and what was waiting is cancelled
    other = await add_contact(db, child_id=child, channel="sms", mobile="07700 900613")
    async with db.transaction() as session:
        waiting = await send_code(session, settings, child_id=child, contact_id=other)
        assert waiting is not None
        await replicas.restriction_changed(
            session,
            change=FamilyContactRestrictionChangedV1(
                child_id=child, restricted=True, source="practitioner", changed_at=utcnow()
            ),
            now=utcnow(),
        )
        refused = await send_code(session, settings, child_id=child, contact_id=other)
    assert refused is None
    (cancelled,) = await rows(db, contact_id=other)
    assert cancelled.status == "cancelled" and cancelled.secret is None
    # an older change arriving late does not undo the newer one
    async with db.transaction() as session:
        await replicas.restriction_changed(
            session,
            change=FamilyContactRestrictionChangedV1(
                child_id=child, restricted=False, source="practitioner", changed_at=utcnow() - timedelta(hours=1)
            ),
            now=utcnow(),
        )
        assert await replicas.family_contact_restricted(session, child)
