"""Providers against local fakes that speak their APIs, failover, rate limits, retries within a budget, and
exactly-once across a crash between the provider call and the commit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, timedelta

import pytest

from notify.domain import scheduling
from notify.domain.dispatch import Dispatcher
from notify.domain.models import Notification
from notify.providers.govuk_notify import NotifySmsProvider
from notify.providers.outbox import SmsOutboxProvider
from notify.providers.ratelimit import TokenBucket
from notify.providers.smtp import SmtpProvider
from notify.providers.twilio import TwilioSmsProvider
from tas_common.db import utcnow

from .helpers import EMAIL, accept_referral, add_contact, new_id, outbox_types, rows


def notify_provider(fake, **kw) -> NotifySmsProvider:
    return NotifySmsProvider(
        base_url=fake.url,
        service_id=kw.get("service_id", fake.service_id),
        secret=kw.get("secret", fake.secret),
        template_id="tmpl-body",
        timeout=5,
    )


def twilio_provider(fake) -> TwilioSmsProvider:
    return TwilioSmsProvider(
        base_url=fake.url,
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        sender="+447700900999",
        status_callback="https://notify.example.org/v1/receipts/twilio",
    )


async def queue_messages(db, settings, *, count: int = 1, channel: str = "sms") -> list[str]:
    ids = []
    for i in range(count):
        child = new_id()
        await add_contact(
            db, child_id=child, channel=channel, mobile=f"07700 900{100 + i:03d}", email=f"p{i}@example.org"
        )
        created = await accept_referral(db, settings, child_id=child)
        ids += [n.id for n in created]
    return ids


@pytest.fixture
def daytime(monkeypatch):
    """Dispatch uses the real clock for quiet hours: pin the hours so the test passes at any time of day."""
    return {"quiet_hours_start": 0, "quiet_hours_end": 0}


async def test_govuk_notify_gets_our_id_as_reference_with_a_valid_jwt(db, make_settings, fake_notify, daytime):
    settings = make_settings(**daytime)
    (nid,) = await queue_messages(db, settings)
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [notify_provider(fake_notify)]})
    assert await dispatcher.dispatch_once() == 1
    (request,) = fake_notify.sends()
    assert request.body["phone_number"] == "+447700900100"
    assert request.body["reference"] == nid and request.body["template_id"] == "tmpl-body"
    assert "has been accepted by" in request.body["personalisation"]["body"]
    (n,) = await rows(db)
    assert (n.status, n.provider, n.provider_ref) == ("sending", "notify", fake_notify.notifications[0]["id"])
    assert await outbox_types(db) == ["tas.notify.notification.sent.v1"]


async def test_wrong_notify_key_is_a_technical_failure_without_retry(db, make_settings, fake_notify, daytime):
    settings = make_settings(**daytime)
    await queue_messages(db, settings)
    bad = notify_provider(fake_notify, secret=new_id())
    await Dispatcher(db=db, settings=settings, routes={"sms": [bad]}).dispatch_once()
    (n,) = await rows(db)
    assert n.status == "technical-failure" and "403" in n.failure_reason
    assert fake_notify.notifications == []


async def test_twilio_gets_form_fields_basic_auth_and_a_status_callback(db, make_settings, fake_twilio, daytime):
    settings = make_settings(**daytime)
    (nid,) = await queue_messages(db, settings)
    await Dispatcher(db=db, settings=settings, routes={"sms": [twilio_provider(fake_twilio)]}).dispatch_once()
    (message,) = fake_twilio.messages
    assert message["To"] == "+447700900100" and message["From"] == "+447700900999"
    assert message["StatusCallback"] == f"https://notify.example.org/v1/receipts/twilio?ref={nid}"
    (n,) = await rows(db)
    assert (n.status, n.provider, n.provider_ref) == ("sending", "twilio", message["sid"])


async def test_failover_to_the_next_provider_when_the_first_is_down(
    db, make_settings, fake_notify, fake_twilio, daytime
):
    settings = make_settings(**daytime)
    await queue_messages(db, settings)
    fake_notify.fail_next = 1
    routes = {"sms": [notify_provider(fake_notify), twilio_provider(fake_twilio)]}
    await Dispatcher(db=db, settings=settings, routes=routes).dispatch_once()
    assert len(fake_notify.sends()) == 1 and fake_notify.notifications == []
    assert len(fake_twilio.messages) == 1
    (n,) = await rows(db)
    assert (n.status, n.provider) == ("sending", "twilio")


async def test_rate_limit_sends_the_overflow_to_the_next_provider_then_waits(
    db, make_settings, fake_notify, fake_twilio, daytime
):
    settings = make_settings(**daytime)
    await queue_messages(db, settings, count=3)
    clock = [100.0]
    buckets = {"notify": TokenBucket(1, clock=lambda: clock[0]), "twilio": TokenBucket(1, clock=lambda: clock[0])}
    routes = {"sms": [notify_provider(fake_notify), twilio_provider(fake_twilio)]}
    dispatcher = Dispatcher(db=db, settings=settings, routes=routes, buckets=buckets)
    await dispatcher.dispatch_once()
    assert (len(fake_notify.notifications), len(fake_twilio.messages)) == (1, 1)
    waiting = [n for n in await rows(db) if n.status == "created"]
    assert len(waiting) == 1 and waiting[0].attempts == 0 and waiting[0].not_before is not None
    clock[0] += 1.0
    await dispatcher.dispatch_once(now=utcnow() + timedelta(seconds=2))
    assert len(fake_notify.notifications) == 2
    assert {n.status for n in await rows(db)} == {"sending"}


def test_token_bucket():
    clock = [0.0]
    bucket = TokenBucket(2, clock=lambda: clock[0])
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]
    assert bucket.seconds_until_token() == pytest.approx(0.5)
    clock[0] = 0.5
    assert bucket.try_take() and not bucket.try_take()


async def test_temporary_failures_retry_with_backoff_then_end_as_technical_failure(
    db, make_settings, fake_notify, daytime
):
    settings = make_settings(send_budget=2, retry_base_seconds=30, **daytime)
    await queue_messages(db, settings)
    fake_notify.fail_next = 5
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [notify_provider(fake_notify)]})
    before = utcnow()
    await dispatcher.dispatch_once()
    (n,) = await rows(db)
    assert (n.status, n.attempts) == ("created", 1)
    assert n.not_before.replace(tzinfo=UTC) >= before + timedelta(seconds=30)
    assert await dispatcher.dispatch_once() == 0  # not due yet
    await dispatcher.dispatch_once(now=utcnow() + timedelta(seconds=31))
    (n,) = await rows(db)
    assert (n.status, n.attempts) == ("technical-failure", 2)
    assert await outbox_types(db) == ["tas.notify.notification.failed.v1"]
    assert len(fake_notify.sends()) == 2


async def test_email_is_multipart_with_escaped_html_and_a_stable_message_id(db, make_settings, smtp, daytime):
    settings = make_settings(**daytime)
    (nid,) = await queue_messages(db, settings, channel="email")
    provider = SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>")
    await Dispatcher(db=db, settings=settings, routes={"email": [provider]}).dispatch_once()
    (mail,) = smtp.messages
    assert mail["Message-ID"] == f"<{nid}@tas.example.org>"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.get_payload()
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert "has been accepted by" in plain.get_payload(decode=True).decode()
    html_text = html.get_payload(decode=True).decode()
    assert "<p>Dear parent or carer,</p>" in html_text
    assert f'<a href="{settings.public_web_url}/family/children/' in html_text
    (n,) = await rows(db)
    assert n.status == "delivered"
    assert await outbox_types(db) == ["tas.notify.notification.sent.v1", "tas.notify.notification.delivered.v1"]


class CrashAfterSend:
    """Wraps a real provider: the provider accepts the message, then the process 'dies' before the commit."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.channel = inner, inner.name, inner.channel

    async def send(self, notification):
        await self.inner.send(notification)
        raise asyncio.CancelledError()

    async def lookup(self, notification):
        return await self.inner.lookup(notification)


async def test_crash_between_notify_call_and_commit_does_not_send_twice(db, make_settings, fake_notify, daytime):
    settings = make_settings(send_lease_seconds=60, **daytime)
    (nid,) = await queue_messages(db, settings)
    real = notify_provider(fake_notify)
    crashing = Dispatcher(db=db, settings=settings, routes={"sms": [CrashAfterSend(real)]})
    with pytest.raises(asyncio.CancelledError):
        await crashing.dispatch_once()
    (n,) = await rows(db)
    assert (n.status, n.provider, n.provider_ref) == ("sending", "notify", None)
    assert len(fake_notify.notifications) == 1
    restarted = Dispatcher(db=db, settings=settings, routes={"sms": [real]})
    assert await restarted.recover() == 0  # the crashed sender's lease has not run out yet
    assert await restarted.recover(now=utcnow() + timedelta(seconds=61)) == 1
    assert len(fake_notify.notifications) == 1  # looked up by reference, not sent again
    assert [r.method for r in fake_notify.requests] == ["POST", "GET"]
    (n,) = await rows(db)
    assert (n.status, n.provider_ref) == ("sending", fake_notify.notifications[0]["id"])
    assert fake_notify.notifications[0]["reference"] == nid
    assert await restarted.recover(now=utcnow() + timedelta(seconds=120)) == 0  # it has a reference now


async def test_crash_before_notify_was_called_sends_once_when_taken_over(db, make_settings, fake_notify, daytime):
    settings = make_settings(send_lease_seconds=60, **daytime)
    await queue_messages(db, settings)
    async with db.transaction() as session:
        (n,) = await scheduling.claim_due(session, limit=5, dialect="sqlite", settings=settings, owner="crashed")
    async with db.transaction() as session:
        await scheduling.mark_attempt(session, notification_id=n.id, provider="notify", owner="crashed")
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [notify_provider(fake_notify)]})
    assert await dispatcher.recover(now=utcnow() + timedelta(seconds=61)) == 1
    assert len(fake_notify.notifications) == 1
    assert [r.method for r in fake_notify.requests] == ["GET", "POST"]


async def test_crash_after_smtp_hand_over_resends_with_the_same_message_id(db, make_settings, smtp, daytime):
    settings = make_settings(send_lease_seconds=60, **daytime)
    (nid,) = await queue_messages(db, settings, channel="email")
    real = SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>")
    with pytest.raises(asyncio.CancelledError):
        await Dispatcher(db=db, settings=settings, routes={"email": [CrashAfterSend(real)]}).dispatch_once()
    await Dispatcher(db=db, settings=settings, routes={"email": [real]}).recover(now=utcnow() + timedelta(seconds=61))
    assert [m["Message-ID"] for m in smtp.messages] == [f"<{nid}@tas.example.org>"] * 2
    (n,) = await rows(db)
    assert n.status == "delivered"


async def test_a_claimed_row_is_not_claimed_again(db, make_settings, daytime):
    settings = make_settings(**daytime)
    await queue_messages(db, settings)
    async with db.transaction() as session:
        first = await scheduling.claim_due(session, limit=5, dialect="sqlite", settings=settings, owner="a")
    async with db.transaction() as session:
        second = await scheduling.claim_due(session, limit=5, dialect="sqlite", settings=settings, owner="b")
    assert len(first) == 1 and second == []


async def test_suppressed_after_creation_is_not_sent(db, make_settings, fake_notify, daytime):
    settings = make_settings(**daytime)
    await queue_messages(db, settings)
    from notify.domain import recipients

    async with db.transaction() as session:
        await recipients.suppress(session, channel="sms", address="+447700900100", reason="sms-stop", source="t")
    await Dispatcher(db=db, settings=settings, routes={"sms": [notify_provider(fake_notify)]}).dispatch_once()
    (n,) = await rows(db)
    assert (n.status, n.failure_reason) == ("permanent-failure", "suppressed: sms-stop")
    assert fake_notify.requests == []


class Held:
    """Wraps a real provider: the call waits until the test lets it go (a send in flight)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.channel = inner, inner.name, inner.channel
        self.called, self.go = asyncio.Event(), asyncio.Event()

    async def send(self, notification):
        self.called.set()
        await self.go.wait()
        return await self.inner.send(notification)


async def test_a_live_senders_lease_is_renewed_and_never_taken_over(db, make_settings, smtp, daytime):
    settings = make_settings(send_lease_seconds=10, **daytime)
    await queue_messages(db, settings, channel="email")
    held = Held(SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>"))
    alive = Dispatcher(db=db, settings=settings, routes={"email": [held]})
    other = Dispatcher(db=db, settings=settings, routes={"email": [held.inner]})
    sending = asyncio.create_task(alive.dispatch_once())
    await asyncio.wait_for(held.called.wait(), 10)
    (n,) = await rows(db)
    assert (n.status, n.lease_owner) == ("sending", alive.owner)
    later = utcnow() + timedelta(seconds=30)
    await alive.renew_leases(now=later)  # the live sender renews...
    assert await other.recover(now=later + timedelta(seconds=5)) == 0  # ...so nobody takes its message over
    held.go.set()
    assert await sending == 1
    (n,) = await rows(db)
    assert (n.status, n.lease_owner, n.lease_until) == ("delivered", None, None)
    assert len(smtp.messages) == 1 and alive.working == set()


async def test_an_sms_whose_receipt_never_comes_times_out_to_a_final_status(db, make_settings, fake_notify, daytime):
    settings = make_settings(receipt_timeout_seconds=3600, **daytime)
    await queue_messages(db, settings)
    dispatcher = Dispatcher(db=db, settings=settings, routes={"sms": [notify_provider(fake_notify)]})
    await dispatcher.dispatch_once()
    (n,) = await rows(db)
    assert (n.status, n.provider) == ("sending", "notify")  # accepted; Notify's receipt never comes
    assert await dispatcher.expire_receipts(now=utcnow() + timedelta(minutes=59)) == 0
    assert await dispatcher.expire_receipts(now=utcnow() + timedelta(minutes=61)) == 1
    (n,) = await rows(db)
    assert (n.status, n.failure_reason) == ("technical-failure", "notify: no delivery receipt within 1 h")
    assert await outbox_types(db) == ["tas.notify.notification.sent.v1", "tas.notify.notification.failed.v1"]
    assert len(fake_notify.sends()) == 1  # never sent again


async def test_the_dev_outbox_is_asked_before_an_interrupted_sms_is_written_again(db, make_settings, tmp_path, daytime):
    settings = make_settings(send_lease_seconds=5, **daytime)
    (nid,) = await queue_messages(db, settings)
    outbox = SmsOutboxProvider(tmp_path / "outbox.jsonl")
    with pytest.raises(asyncio.CancelledError):
        await Dispatcher(db=db, settings=settings, routes={"sms": [CrashAfterSend(outbox)]}).dispatch_once()
    with (tmp_path / "outbox.jsonl").open("a") as handle:
        handle.write('{"id": "a line a crash cut sh')  # another message's write, cut short by the crash
    restarted = Dispatcher(db=db, settings=settings, routes={"sms": [SmsOutboxProvider(tmp_path / "outbox.jsonl")]})
    assert await restarted.recover(now=utcnow() + timedelta(seconds=6)) == 1
    lines = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines[:1]] == [nid] and len(lines) == 2
    (n,) = await rows(db)
    assert (n.status, n.provider_ref) == ("delivered", nid)
    await SmsOutboxProvider(tmp_path / "outbox.jsonl").send(n)  # the next line starts on a line of its own
    assert json.loads((tmp_path / "outbox.jsonl").read_text().splitlines()[-1])["id"] == nid


class Refusing:
    """An SMTP server that refuses some recipients at RCPT: `gone@...` for good (550), `full@...` for now (452)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local in ("gone", "full"):
            return "550 5.1.1 no such mailbox" if local == "gone" else "452 4.2.2 mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted"


async def test_smtp_refusals_are_permanent_or_temporary_by_their_code(make_settings, daytime):
    from aiosmtpd.controller import Controller

    from notify.providers.base import PermanentFailure, TemporaryFailure
    from tas_dev.testing import free_port

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    provider = SmtpProvider(host="127.0.0.1", port=controller.port, sender="TAS <no-reply@tas.example.org>")
    try:
        message = Notification(**EMAIL | {"recipient": "gone@example.org"})
        with pytest.raises(PermanentFailure):
            await provider.send(message)
        with pytest.raises(TemporaryFailure) as deferred:
            await provider.send(Notification(**EMAIL | {"recipient": "full@example.org"}))
        assert not deferred.value.ambiguous
        accepted = await provider.send(Notification(**EMAIL | {"recipient": "ok@example.org"}))
        assert accepted.delivered and accepted.provider_ref.endswith("@tas.example.org>")
    finally:
        await provider.aclose()
        controller.stop()
    with pytest.raises(TemporaryFailure) as down:  # nobody listening: nothing can have been sent
        await provider.send(Notification(**EMAIL | {"recipient": "ok@example.org"}))
    assert not down.value.ambiguous
