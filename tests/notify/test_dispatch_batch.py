"""The dispatcher's batch path (claim + suppression + first provider in one transaction, outcomes recorded in one
transaction) gives each row the outcome it gets when dispatched alone, and the Core replica and suppression
statements agree with the row-at-a-time reads they replaced."""

from __future__ import annotations

from notify.domain import models, recipients
from notify.domain.dispatch import Dispatcher
from notify.providers.base import Accepted, PermanentFailure, TemporaryFailure
from notify.providers.ratelimit import TokenBucket
from tas_common.db import Database

from ..conftest import migrate, sqlite_url
from .helpers import accept_referral, add_contact, new_id, outbox_types, rows

OUTCOMES = {"ok": "accept", "bounce": "permanent", "busy": "temporary", "crash": "raise", "gone": "accept"}


class ScriptedEmail:
    """An email provider standing in for the relay: what it does depends on the recipient's local part."""

    name, channel = "relay", "email"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def send(self, notification) -> Accepted:
        local = notification.recipient.split("@")[0]
        self.calls.append(local)
        action = OUTCOMES[local]
        if action == "permanent":
            raise PermanentFailure("mailbox does not exist")
        if action == "temporary":
            raise TemporaryFailure("relay busy")
        if action == "raise":
            raise RuntimeError("the process died here")
        return Accepted(provider=self.name, provider_ref=f"<{notification.id}@relay>", delivered=True)


async def scenario(db: Database, settings, *, limit: int) -> tuple[dict, list[str], list[str]]:
    """Five emails (accepted, bounced, temporarily refused, crashing, suppressed since creation), dispatched in
    batches of `limit`; returns each row's end state by recipient, the provider's calls and the events."""
    for local in OUTCOMES:
        child = new_id()
        await add_contact(db, child_id=child, channel="email", email=f"{local}@example.org")
        await accept_referral(db, settings, child_id=child)
    async with db.transaction() as session:
        await recipients.suppress(
            session, channel="email", address="gone@example.org", reason="complaint", source="test"
        )
    provider = ScriptedEmail()
    dispatcher = Dispatcher(db=db, settings=settings, routes={"email": [provider]})
    crashes = 0
    while True:
        try:
            if not await dispatcher.dispatch_once(limit=limit):
                break
        except RuntimeError:
            crashes += 1
    assert crashes == 1
    state = {
        n.recipient.split("@")[0]: (n.status, n.attempts, n.provider, n.failure_reason, n.provider_ref is not None)
        for n in await rows(db)
    }
    return state, sorted(provider.calls), sorted(await outbox_types(db))


async def test_a_batch_gives_each_row_the_outcome_it_gets_alone(tmp_path, make_settings):
    results = []
    for limit in (50, 1):
        url = sqlite_url(tmp_path / f"batch-{limit}.db")
        await migrate("notify", url)
        db = Database(url)
        try:
            results.append(await scenario(db, make_settings(quiet_hours_start=0, quiet_hours_end=0), limit=limit))
        finally:
            await db.dispose()
    batched, alone = results
    assert batched == alone
    state, calls, events = batched
    assert state["ok"] == ("delivered", 1, "relay", None, True)
    assert state["bounce"] == ("permanent-failure", 1, "relay", "relay: mailbox does not exist", False)
    assert state["busy"][:2] == ("created", 1) and state["busy"][3] == "relay: relay busy"
    assert state["crash"] == ("sending", 1, "relay", None, False)  # the provider was recorded before the call
    assert state["gone"] == ("permanent-failure", 1, None, "suppressed: complaint", False)
    assert calls == ["bounce", "busy", "crash", "ok"]  # never the suppressed address
    assert events == sorted(
        [
            "tas.notify.notification.sent.v1",
            "tas.notify.notification.delivered.v1",
            "tas.notify.notification.failed.v1",
            "tas.notify.notification.failed.v1",
        ]
    )


async def test_rate_limited_rows_of_a_batch_are_given_back_uncounted(db, make_settings):
    settings = make_settings(quiet_hours_start=0, quiet_hours_end=0)
    for _i in range(3):
        await add_contact(db, child_id=(child := new_id()), channel="email", email="ok@example.org")
        await accept_referral(db, settings, child_id=child)
    provider = ScriptedEmail()
    clock = [0.0]
    dispatcher = Dispatcher(
        db=db,
        settings=settings,
        routes={"email": [provider]},
        buckets={"relay": TokenBucket(2, clock=lambda: clock[0])},
    )
    assert await dispatcher.dispatch_once() == 3
    assert len(provider.calls) == 2
    by_status = sorted((n.status, n.attempts, n.provider) for n in await rows(db))
    assert by_status == [("created", 0, None), ("delivered", 1, "relay"), ("delivered", 1, "relay")]


async def test_suppression_reasons_match_one_at_a_time_lookups(db):
    async with db.transaction() as session:
        await recipients.suppress(
            session, channel="email", address="Bounced@example.org", reason="hard-bounce", source="test"
        )
        await recipients.suppress(session, channel="sms", address="+447700900321", reason="sms-stop", source="t")
    pairs = [
        ("email", "bounced@example.org"),
        ("email", "BOUNCED@example.org"),
        ("email", "fine@example.org"),
        ("sms", "+447700900321"),
        ("sms", "+447700900322"),
        ("email", "bounced@example.org"),
    ]
    async with db.reader() as session:
        many = await recipients.suppression_reasons(session, addresses=pairs)
        one_by_one = {
            pair: await recipients.suppression_reason(session, channel=pair[0], address=pair[1]) for pair in pairs
        }
    assert many == {pair: reason for pair, reason in one_by_one.items() if reason is not None}
    assert many == {
        ("email", "bounced@example.org"): "hard-bounce",
        ("email", "BOUNCED@example.org"): "hard-bounce",
        ("sms", "+447700900321"): "sms-stop",
    }


async def test_contact_replica_update_replaces_details_and_keeps_the_contacts_opt_out(db):
    child, contact = new_id(), new_id()
    await add_contact(db, child_id=child, contact_id=contact, email="old@example.org", mobile="07700 900111")
    async with db.transaction() as session:
        row = await session.get(models.Contact, contact)
        row.opted_out = True
        session.add(row)
    # a later caseload event: details change, the opt-out stays
    await add_contact(
        db,
        child_id=child,
        contact_id=contact,
        relationship="carer",
        pr=False,
        mobile=None,
        email="new@example.org",
        channel="sms",
        language="cy",
    )
    async with db.reader() as session:
        row = await session.get(models.Contact, contact)
    assert (row.relationship, row.parental_responsibility, row.mobile, row.email) == (
        "carer",
        False,
        None,
        "new@example.org",
    )
    assert (row.opted_out, row.preferred_channel, row.language) == (True, "email", "en")
    assert row.updated_at.tzinfo is not None
