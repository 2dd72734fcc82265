"""The dispatcher records the outcomes given while a record is being written together, in one transaction
(notify/domain/recording.py): each row still moves exactly as it would alone, an outage keeps every outcome of the
group waiting, and one outcome that cannot be recorded holds back none of the others."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy.event
import sqlalchemy.exc

from notify.domain import lifecycle, scheduling
from notify.domain.dispatch import Dispatcher
from notify.domain.recording import RECORD_TRIES, Recorder
from notify.providers.smtp import SmtpProvider
from tas_common.db import Database, utcnow
from tas_common.driver import padded

from .helpers import outbox_events, rows
from .test_dispatch import queue_messages
from .test_dispatch_outage import DAYTIME, OutageAfterSend, Restarting


async def test_acceptances_recorded_together_move_each_row_with_its_own_reference_and_skip_a_finished_one(
    engine_db, make_settings
):
    db = engine_db
    settings = make_settings(**DAYTIME)
    ids = await queue_messages(db, settings, count=4, channel="email")
    async with db.transaction() as session:
        claimed = await scheduling.claim_due(
            session, limit=10, dialect=db.dialect, settings=settings, owner="me", now=utcnow()
        )
    by_id = {n.id: n for n in claimed}
    finished, relayed, queued, other = (by_id[i] for i in ids)
    async with db.transaction() as session:  # a receipt finished one meanwhile
        await lifecycle.failed(
            session, notification_id=finished.id, status=lifecycle.PERMANENT_FAILURE, reason="x", settings=settings
        )
    acceptances = [
        lifecycle.Acceptance(finished, "smtp", "<ref-finished>", True, None),
        lifecycle.Acceptance(relayed, "smtp", "<ref-relayed>", True, None),
        lifecycle.Acceptance(queued, "notify", "ref-queued", False, None),
        lifecycle.Acceptance(other, "smtp", "<ref-other>", True, None),
    ]
    async with db.transaction() as session:
        await lifecycle.accepted_all(session, acceptances)
    state = {n.id: (n.status, n.provider, n.provider_ref, n.lease_owner) for n in await rows(db)}
    assert state == {
        finished.id: ("permanent-failure", None, None, None),
        relayed.id: ("delivered", "smtp", "<ref-relayed>", None),
        queued.id: ("sending", "notify", "ref-queued", None),
        other.id: ("delivered", "smtp", "<ref-other>", None),
    }
    sent = sorted(e["notification_id"] for e in await outbox_events(db, "tas.notify.notification.sent.v1"))
    delivered = sorted(e["notification_id"] for e in await outbox_events(db, "tas.notify.notification.delivered.v1"))
    assert sent == sorted([relayed.id, queued.id, other.id]) and delivered == sorted([relayed.id, other.id])


async def test_emails_sent_while_the_database_restarts_are_all_recorded_once_it_is_back_and_never_sent_again(
    db, make_settings, smtp
):
    settings = make_settings(send_lease_seconds=60, **DAYTIME)
    ids = await queue_messages(db, settings, count=5, channel="email")
    restarting = Restarting(db)
    smtp_provider = SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>")
    provider = OutageAfterSend(smtp_provider, restarting, transactions=RECORD_TRIES + 1)
    dispatcher = Dispatcher(db=restarting, settings=settings, routes={"email": [provider]})  # type: ignore[arg-type]
    assert await dispatcher.dispatch_once() == 5
    assert restarting.refused >= RECORD_TRIES + 1
    assert {n.status for n in await rows(db)} == {"delivered"} and dispatcher.working == set()
    successor = Dispatcher(db=db, settings=settings, routes={"email": [smtp_provider]})
    assert await successor.recover(now=utcnow() + timedelta(seconds=61)) == 0
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(f"<{i}@tas.example.org>" for i in ids)


@dataclass
class Row:
    id: str


@dataclass
class Item:
    n: Row


async def test_one_outcome_that_cannot_be_recorded_holds_back_none_of_its_group(db):
    tried: Counter[str] = Counter()
    recorded: list[str] = []

    async def apply(session, group):
        ids = [waiting.item.n.id for waiting in group]
        tried.update(ids)
        if "bad" in ids:
            raise sqlalchemy.exc.IntegrityError("UPDATE notification", None, ValueError("a constraint"))
        recorded.extend(ids)

    recorder: Recorder[Item] = Recorder(db, apply)
    await asyncio.gather(*(recorder.record(Item(Row(i))) for i in ("a", "bad", "b", "c")))
    assert sorted(recorded) == ["a", "b", "c"]
    assert tried["bad"] == 1 + RECORD_TRIES  # the group's try, then its own
    assert recorder.task is None and recorder.waiting == []


async def test_a_claim_and_its_provider_marks_beyond_one_in_list_move_every_row_once(engine_db, make_settings):
    """The claim's statements run with IN lists compiled per size up to 64 (tas_common.driver.padded): 70 due rows
    are claimed and marked in two chunks, each exactly once, and a second claim finds none."""
    db, settings = engine_db, make_settings(**DAYTIME)
    ids = await queue_messages(db, settings, count=70, channel="email")
    async with db.transaction() as session:
        claimed = await scheduling.claim_due(
            session, limit=100, dialect=db.dialect, settings=settings, owner="me", now=utcnow()
        )
        marked = await scheduling.mark_attempts(
            session, notification_ids=[n.id for n in claimed], provider="smtp", owner="me"
        )
    assert sorted(n.id for n in claimed) == sorted(ids) == sorted(marked)
    assert {(n.status, n.attempts, n.lease_owner) for n in claimed} == {("sending", 1, "me")}
    assert {(n.status, n.attempts, n.provider) for n in await rows(db)} == {("sending", 1, "smtp")}
    async with db.transaction() as session:
        again = await scheduling.claim_due(
            session, limit=100, dialect=db.dialect, settings=settings, owner="other", now=utcnow()
        )
    assert again == []


async def test_outside_the_quiet_hours_one_statement_picks_and_claims_and_inside_them_an_sms_waits(
    engine_db, make_settings
):
    """In the quiet hours (21:00–08:00 UK time) the due rows are read first and an SMS moved to their end; outside
    them every due row is claimed by ONE statement, oldest first, each once."""
    db = engine_db
    sms = await queue_messages(db, make_settings(**DAYTIME), count=2, channel="sms")
    email = await queue_messages(db, make_settings(**DAYTIME), count=1, channel="email")
    settings = make_settings()  # the quiet hours as configured by default
    night, morning = datetime(2030, 1, 15, 23, 0, tzinfo=UTC), datetime(2030, 1, 16, 9, 0, tzinfo=UTC)
    async with db.transaction() as session:
        at_night = await scheduling.claim_due(
            session, limit=10, dialect=db.dialect, settings=settings, owner="me", now=night
        )
    assert [n.id for n in at_night] == email
    waiting = await rows(db, channel="sms")
    assert {(n.status, scheduling.aware(n.not_before)) for n in waiting} == {
        ("created", datetime(2030, 1, 16, 8, 0, tzinfo=UTC))
    }
    statements: list[str] = []
    async with db.transaction() as session:
        connection = (await session.connection()).sync_connection
        listener = lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split()))  # noqa: E731
        sqlalchemy.event.listen(connection, "before_cursor_execute", listener)
        in_the_morning = await scheduling.claim_due(
            session, limit=10, dialect=db.dialect, settings=settings, owner="me", now=morning
        )
        sqlalchemy.event.remove(connection, "before_cursor_execute", listener)
    assert len(statements) == 1 and "UPDATE notification SET" in statements[0], statements
    assert [n.id for n in in_the_morning] == sms  # oldest first
    assert {(n.status, n.attempts, n.lease_owner) for n in in_the_morning} == {("sending", 1, "me")}
    assert {(n.status, n.attempts, n.lease_owner) for n in await rows(db)} == {("sending", 1, "me")}
    async with db.transaction() as session:
        assert await scheduling.claim_due(session, limit=10, dialect=db.dialect, settings=settings, owner="b") == []


async def test_two_replicas_claiming_at_once_claim_every_due_message_exactly_once(engine_db, make_settings):
    """Two dispatchers, each on its own engine (two notify replicas), claim small rounds of one queue at the same
    time: every message is claimed by exactly one of them, once (FOR UPDATE SKIP LOCKED and the compare-and-set on
    PostgreSQL, the write lock on SQLite)."""
    db, settings = engine_db, make_settings(**DAYTIME)
    ids = await queue_messages(db, settings, count=40, channel="email")
    other = Database(db.url)

    async def ready(database: Database) -> None:
        async with database.reader() as session:
            await session.execute(sqlalchemy.text("SELECT 1"))

    async def drain(database: Database, owner: str) -> list[str]:
        claimed: list[str] = []
        while True:
            async with database.transaction() as session:
                round_ = await scheduling.claim_due(
                    session, limit=3, dialect=database.dialect, settings=settings, owner=owner, now=utcnow()
                )
                await asyncio.sleep(0.005)  # the round's rows stay locked a moment: the other replica claims meanwhile
            assert len(round_) <= 3  # never more than the round's limit
            if not round_:
                return claimed
            claimed += [n.id for n in round_]

    try:
        await asyncio.gather(*(ready(database) for database in (db, other)))  # both connected before they start
        first, second = await asyncio.gather(drain(db, "replica-1"), drain(other, "replica-2"))
    finally:
        await other.dispose()
    assert sorted(first + second) == sorted(ids)  # each once, none left
    if db.dialect == "postgresql":  # both at work side by side (SQLite's single writer may serve one after the other)
        assert first and second
    stored = await rows(db)
    assert {n.attempts for n in stored} == {1}
    assert {n.id for n in stored if n.lease_owner == "replica-1"} == set(first)


def test_padded_gives_the_smallest_size_that_holds_the_values():
    assert padded(["a", "b", "c"]) == (4, ["a", "b", "c", "c"])
    assert padded(["a"]) == (1, ["a"])
    assert padded([]) is None and padded(list(range(65))) is None
