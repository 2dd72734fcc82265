"""The outbox relay, the idempotent consumer runner and stream provisioning against a real nats-server and a
real database (SQLite, or PostgreSQL in the PostgreSQL pass) holding only the infrastructure tables."""

from __future__ import annotations

import asyncio
import contextlib

import nats
import pytest
from nats.js.errors import NoStreamResponseError
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy import event as sa_event

from tas_common.consumer import ConsumerRunner
from tas_common.consumer_spec import ConsumerSpec
from tas_common.db import Database
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ChildRegisteredV1
from tas_common.metrics import OUTBOX_DUPLICATES, OUTBOX_PUBLISHED
from tas_common.outbox import OutboxRelay, add_event
from tas_common.stream import ensure_stream
from tas_common.tables import attach_infra, outbox

from ..conftest import ON_POSTGRES, eventually
from ..databases import with_tables

metadata = MetaData()
attach_infra(metadata)
effects = Table(
    "effect",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
)


@pytest.fixture
async def db(database_url: str):
    database = await with_tables(database_url, metadata)
    yield database
    await database.dispose()


@pytest.fixture
async def js(nats):
    nc = await nats_connect(nats.url)
    context = nc.jetstream()
    await ensure_stream(context, name="TAS", max_age_seconds=3600)
    yield context
    with contextlib.suppress(ConnectionError):  # a test that restarted the server can leave a reset transport
        await nc.close()


async def nats_connect(url: str):
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)


def child_registered(n: int = 0) -> CloudEvent:
    return new_event(ChildRegisteredV1(child_id=f"child-{n}", school_urn="100000"), source="tests")


async def write_events(db: Database, events: list[CloudEvent]) -> None:
    async with db.transaction() as session:
        for event in events:
            await add_event(session, event)


async def pending(db: Database) -> int:
    async with db.reader() as session:
        return (await session.execute(select(func.count()).where(outbox.c.sent_at.is_(None)))).scalar_one()


async def effect_count(db: Database) -> int:
    async with db.reader() as session:
        return (await session.execute(select(func.count()).select_from(effects))).scalar_one()


async def test_stream_is_provisioned_as_the_design_says(js):
    info = await js.stream_info("TAS")
    assert info.config.subjects == ["tas.>"]
    assert str(getattr(info.config.storage, "value", info.config.storage)) == "file"
    assert info.config.duplicate_window == 3600
    assert info.config.max_age == 3600
    await ensure_stream(js, name="TAS", max_age_seconds=7200)  # re-provisioning updates, never fails
    assert (await js.stream_info("TAS")).config.max_age == 7200


async def test_event_row_exists_only_if_the_callers_transaction_commits(db):
    async def failing_use_case() -> None:
        async with db.transaction() as session:
            await add_event(session, child_registered())
            raise RuntimeError("use case failed after writing its event")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    assert await pending(db) == 0
    await write_events(db, [child_registered()])
    assert await pending(db) == 1


async def test_relay_publishes_with_msg_id_marks_sent_after_puback_and_reports_lag(db, js):
    events = [child_registered(i) for i in range(3)]
    await write_events(db, events)
    relay = OutboxRelay(db=db, js=js, service="tests")
    lag = await relay.lag()
    assert lag.pending == 3 and lag.oldest_age_seconds >= 0
    assert await relay.publish_pending() == 3
    assert (await relay.lag()).pending == 0
    sub = await js.pull_subscribe("tas.caseload.child.registered", durable="check")
    msgs = await sub.fetch(3, timeout=2)
    assert [m.headers["Nats-Msg-Id"] for m in msgs] == [e.id for e in events]
    assert [CloudEvent.from_bytes(m.data).id for m in msgs] == [e.id for e in events]
    # A re-publish of the same rows (e.g. a crash after PubAck, before marking sent) is dropped as a duplicate.
    async with db.transaction() as session:
        await session.execute(outbox.update().values(sent_at=None))
    assert await relay.publish_pending() == 3
    assert (await js.stream_info("TAS")).state.messages == 3


async def test_a_round_publishes_at_most_its_batch_however_many_are_waiting(db, js):
    """A relay's round claims and publishes `batch_size` rows at the most (on PostgreSQL one statement picks, locks
    and marks them: the pick must run once, not again for each row the UPDATE looks at)."""
    await write_events(db, [child_registered(i) for i in range(20)])
    relay = OutboxRelay(db=db, js=js, service="tests", batch_size=7)
    assert [await relay.publish_pending() for _ in range(4)] == [7, 7, 6, 0]
    assert await pending(db) == 0


async def test_a_round_larger_than_one_marking_statement_marks_every_row_it_published_and_no_other(db, js):
    """The relay marks what it published in statements of at most 64 rows (padded to a size compiled once): a round
    of 150 leaves none unsent, and rows written after the round stay unsent for the next."""
    events = [child_registered(i) for i in range(153)]
    await write_events(db, events[:150])
    relay = OutboxRelay(db=db, js=js, service="tests", batch_size=150)
    assert await relay.publish_pending() == 150
    assert await pending(db) == 0
    await write_events(db, events[150:])
    assert await pending(db) == 3
    assert await relay.publish_pending() == 3
    assert await pending(db) == 0
    assert (await js.stream_info("TAS")).state.messages == 153


async def test_rows_from_the_first_without_a_puback_stay_unsent_and_the_failed_one_counts_an_attempt(db, js):
    """A round whose second row JetStream refuses (a subject outside the stream: no responders): the first is marked
    sent, the second counts an attempt and stays unsent, the third (after it) stays unsent untried — on PostgreSQL
    all three were marked sent by the round's claim, so the two are marked unsent again before its commit."""
    first, refused, third = child_registered(1), child_registered(2), child_registered(3)
    await write_events(db, [first])
    async with db.transaction() as session:
        await session.execute(
            insert(outbox).values(
                event_id=refused.id,
                subject="elsewhere.refused",
                event_type=refused.type,
                payload=refused.to_bytes(),
                headers="{}",
                created_at=refused.time,
            )
        )
    await write_events(db, [third])
    relay = OutboxRelay(db=db, js=js, service="tests-refused", publish_timeout=2.0)
    with pytest.raises(NoStreamResponseError):
        await relay.publish_pending()
    async with db.reader() as session:
        rows = (await session.execute(select(outbox.c.event_id, outbox.c.sent_at, outbox.c.attempts))).all()
    state = {event_id: (sent_at is not None, attempts) for event_id, sent_at, attempts in rows}
    assert state == {first.id: (True, 0), refused.id: (False, 1), third.id: (False, 0)}


@pytest.mark.skipif(not ON_POSTGRES, reason="relays of several replicas share one PostgreSQL database")
async def test_relays_of_two_replicas_side_by_side_publish_every_row_once(database_url, js):
    """Two relays, each on its own engine, drain one outbox in small rounds at the same time: every event is published
    by exactly one of them (no PubAck says duplicate) and all end marked sent."""
    events = [child_registered(i) for i in range(120)]
    first, second = await with_tables(database_url, metadata), Database(database_url)
    try:
        await write_events(first, events)
        relays = [OutboxRelay(db=d, js=js, service="tests-replicas", batch_size=7) for d in (first, second)]
        duplicates = OUTBOX_DUPLICATES.labels("tests-replicas")._value.get()

        async def drain(relay: OutboxRelay) -> int:
            total = 0
            while published := await relay.publish_pending():
                total += published
            return total

        counts = await asyncio.gather(*(drain(relay) for relay in relays))
        assert sum(counts) == len(events) and min(counts) > 0, counts  # both took part, none twice
        assert OUTBOX_DUPLICATES.labels("tests-replicas")._value.get() == duplicates
        assert await pending(first) == 0
        assert (await js.stream_info("TAS")).state.messages == len(events)
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.own_nats
async def test_relay_keeps_retrying_while_nats_is_down_and_publishes_after_restart(db, nats):
    nc = await nats_connect(nats.url)
    js = nc.jetstream()
    await ensure_stream(js, name="TAS", max_age_seconds=3600)
    relay = OutboxRelay(db=db, js=js, service="tests", poll_seconds=0.1, publish_timeout=0.5)
    task = asyncio.create_task(relay.run())
    nats.stop()
    await write_events(db, [child_registered(1)])
    relay.wake()

    async def attempted() -> bool:
        async with db.reader() as session:
            return (await session.execute(select(outbox.c.attempts))).scalar_one() >= 1

    await eventually(attempted, what="the relay to try to publish while NATS is down")
    assert await pending(db) == 1  # not marked sent without a PubAck
    nats.start()
    await eventually(lambda: _zero(pending(db)), timeout=15, what="the relay to publish after NATS restarts")
    assert (await js.stream_info("TAS")).state.messages == 1
    relay.stop()
    await task
    await nc.close()


async def test_the_running_relay_publishes_each_event_once_and_marks_several_rounds_in_one_transaction(db, js):
    """Events committed one after another, each waking the relay: every one is published once (no read takes a row
    published and not yet marked again), all end marked sent, a round is not followed by an empty one, and on SQLite
    the marks of several rounds share a transaction (on PostgreSQL each round marks what it claimed in its own)."""
    relay = OutboxRelay(db=db, js=js, service="tests-rounds")
    db.on_events_committed(relay.wake)
    marking: list[str] = []
    reads: list[str] = []

    def count_marks(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            marking.append(statement)
        if statement.lstrip().upper().startswith("SELECT OUTBOX.SEQ") or "SKIP LOCKED" in statement.upper():
            reads.append(statement)  # SQLite's read, PostgreSQL's claim

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", count_marks)
    duplicates = OUTBOX_DUPLICATES.labels("tests-rounds")._value.get()
    published = OUTBOX_PUBLISHED.labels("tests-rounds")._value.get()
    task = asyncio.create_task(relay.run())
    events = [child_registered(i) for i in range(40)]
    for one in events:
        await write_events(db, [one])
        await asyncio.sleep(0.002)  # the relay's round runs between the commits
    await eventually(lambda: _zero(pending(db)), what="every event marked sent")
    relay.stop()
    await task
    assert (await js.stream_info("TAS")).state.messages == len(events)
    assert OUTBOX_DUPLICATES.labels("tests-rounds")._value.get() == duplicates  # nothing was published twice
    assert OUTBOX_PUBLISHED.labels("tests-rounds")._value.get() - published == len(events)
    # a round that published less than a batch is followed by another only when an event came meanwhile
    assert len(reads) < 1.5 * len(events), f"{len(reads)} reads of the outbox for {len(events)} events"
    if db.dialect == "sqlite":
        assert 1 <= len(marking) < len(events) / 2, f"{len(marking)} marking statements for {len(events)} rounds"


async def test_a_lingering_relay_publishes_what_came_during_its_linger_in_one_round_and_stop_ends_it(db, js):
    """OutboxRelay(linger_seconds=…) (notify's): the first event goes at once; the ones committed while the relay
    lingers after it go together in the next round; `stop()` ends a long linger at once, marking what was sent."""
    relay = OutboxRelay(db=db, js=js, service="tests-linger", linger_seconds=0.5)
    db.on_events_committed(relay.wake)
    rounds: list[int] = []
    publish = relay._publish

    async def counted(rows):
        rounds.append(len(rows))
        return await publish(rows)

    relay._publish = counted  # type: ignore[method-assign]
    one_round = relay._round
    empty_rounds: list[int] = []

    async def round_counted() -> int:
        published = await one_round()
        if not published:
            empty_rounds.append(1)
        return published

    async def idle() -> bool:
        return bool(empty_rounds)

    relay._round = round_counted  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    await write_events(db, [child_registered(1)])
    await eventually(lambda: _published(js, 1), what="the first event, at once")
    for n in range(2, 5):  # three commits while the relay lingers
        await write_events(db, [child_registered(n)])
    await eventually(lambda: _published(js, 4), what="the three, after the linger")
    assert rounds == [1, 3]
    # JetStream has the three before the relay's round has ended (on PostgreSQL it commits after the PubAcks), then
    # it lingers 0.5 s and finds nothing: only then is it idle
    await eventually(idle, what="the relay's round after its linger, which finds nothing")

    relay.linger_seconds = 60.0
    await write_events(db, [child_registered(5)])
    await eventually(lambda: _published(js, 5), what="the fifth, at once: the relay was idle")
    started = asyncio.get_running_loop().time()
    relay.stop()  # it is lingering 60 s after that round
    await asyncio.wait_for(task, timeout=5)
    assert asyncio.get_running_loop().time() - started < 5
    assert await pending(db) == 0


async def _published(js, count: int) -> bool:
    return (await js.stream_info("TAS")).state.messages >= count


async def test_a_stopped_relay_marks_what_it_published_before_it_returns(db, js):
    relay = OutboxRelay(db=db, js=js, service="tests-stop", poll_seconds=30)
    db.on_events_committed(relay.wake)
    task = asyncio.create_task(relay.run())
    await write_events(db, [child_registered(1), child_registered(2)])

    async def published() -> bool:
        return (await js.stream_info("TAS")).state.messages == 2

    await eventually(published, what="the relay to publish")
    relay.stop()
    await task
    assert await pending(db) == 0


async def _zero(count) -> bool:
    return await count == 0


def runner_for(
    db: Database,
    js,
    handler,
    *,
    max_deliver: int = 3,
    not_yet: int = 5,
    on_committed=None,
    ack_wait: float = 5.0,
    idle_wait: float = 1.0,
    linger: float = 0.0,
    linger_longest: float = 0.0,
):
    spec = ConsumerSpec(
        durable="tests",
        handlers={ChildRegisteredV1: handler},
        max_deliver=max_deliver,
        max_deliver_not_yet=not_yet,
        backoff_seconds=[0.1, 0.2],
        ack_wait_seconds=ack_wait,
        idle_wait_seconds=idle_wait,
        linger_seconds=linger,
        linger_longest_seconds=linger_longest,
        on_committed=on_committed,
    )
    return ConsumerRunner(db=db, js=js, stream="TAS", spec=spec)


async def record_effect(session, payload, event: CloudEvent) -> None:
    await session.execute(insert(effects).values(event_id=event.id))


async def test_consumer_is_created_explicitly_with_bounded_delivery(db, js):
    runner = runner_for(db, js, record_effect, max_deliver=4, not_yet=7)
    await runner.ensure()
    info = await js.consumer_info("TAS", "tests")
    assert info.config.durable_name == "tests"
    assert info.config.max_deliver == 7  # the larger budget, a "not yet"'s; the runner dead-letters an error at 4
    assert str(getattr(info.config.ack_policy, "value", info.config.ack_policy)) == "explicit"
    assert (
        info.config.filter_subjects == [ChildRegisteredV1.subject]
        or info.config.filter_subject == ChildRegisteredV1.subject
    )


async def test_consumer_that_dies_after_commit_before_ack_does_not_repeat_the_effect(db, js):
    """The effect and the processed-event row commit together; the ack is lost with the dying consumer;
    JetStream redelivers after ack_wait; the second delivery finds the event processed and only acks."""
    died = asyncio.Event()

    async def die_before_ack(event: CloudEvent) -> None:
        died.set()
        raise asyncio.CancelledError  # the process dies here: committed, not acked

    first = runner_for(db, js, record_effect, on_committed=die_before_ack, ack_wait=1.0)
    await first.ensure()
    event = child_registered()
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    task = asyncio.create_task(first.run())
    await asyncio.wait_for(died.wait(), timeout=5)
    await asyncio.gather(task, return_exceptions=True)
    assert await effect_count(db) == 1

    acked = asyncio.Event()

    async def note_ack(_: CloudEvent) -> None:
        acked.set()

    second = runner_for(db, js, record_effect, on_committed=note_ack, ack_wait=1.0)
    task = asyncio.create_task(second.run())
    await asyncio.wait_for(acked.wait(), timeout=10)  # redelivered after ack_wait ...
    second.stop()
    await task
    assert await effect_count(db) == 1  # ... and the effect was not repeated
    info = await js.consumer_info("TAS", "tests")
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def _equals(count, expected: int) -> bool:
    return await count == expected


async def test_a_reader_is_not_blocked_by_an_open_write_transaction(db):
    """WAL + deferred BEGIN for readers: a read sees the last committed state while a writer holds the lock."""
    await write_events(db, [child_registered()])
    async with db.transaction() as writer:
        await add_event(writer, child_registered(2))  # the write lock is held and this row is uncommitted
        count = await asyncio.wait_for(pending(db), timeout=2)  # would wait 30 s on the busy timeout if blocked
    assert count == 1
    assert await pending(db) == 2


@pytest.mark.own_nats
async def _true(value: bool) -> bool:
    return value


async def test_a_deleted_durable_consumer_is_reported_then_created_again(db, js):
    """A runner that cannot fetch is not healthy (the runtime's /readyz says so, tests/common/test_http.py); once
    the stream is back it creates its durable consumer again and goes on."""
    runner = runner_for(db, js, record_effect)
    await runner.ensure()
    task = asyncio.create_task(runner.run())
    await eventually(lambda: _true(runner.healthy), what="the runner to start")
    await js.delete_stream("TAS")
    await eventually(lambda: _true(not runner.healthy), what="the runner to notice its consumer is gone")
    await ensure_stream(js, name="TAS", max_age_seconds=3600)
    await eventually(lambda: _true(runner.healthy), timeout=15, what="the runner to create its consumer again")
    event = child_registered()
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    await eventually(lambda: _equals(effect_count(db), 1), what="the event handled by the re-created consumer")
    runner.stop()
    await task


async def test_redeliveries_are_counted_in_the_batch_path_too(db, js):
    """Issue 12.16: `tas_event_redeliveries_total` counted only messages handled one by one."""
    runner = runner_for(db, js, record_effect)
    await runner.ensure()
    events = [child_registered(n) for n in range(3)]
    for event in events:
        await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    sub = await js.pull_subscribe_bind("tests", "TAS")
    for msg in await sub.fetch(3, timeout=5):  # delivered once, not acknowledged: all three come again
        await msg.nak()
    await sub.unsubscribe()
    before = REGISTRY.get_sample_value("tas_event_redeliveries_total", {"consumer": "tests"}) or 0.0
    task = asyncio.create_task(runner.run())
    await eventually(lambda: _equals(effect_count(db), 3), what="the three redelivered events handled")
    runner.stop()
    await task
    assert REGISTRY.get_sample_value("tas_event_redeliveries_total", {"consumer": "tests"}) == before + 3


async def _waiting(js, count: int) -> bool:
    return (await js.consumer_info("TAS", "tests")).num_waiting == count


async def test_stop_ends_the_idle_pull_at_once_and_a_later_message_is_not_held_by_it(db, js):
    """An idle runner waits at the server for ONE message (a long poll, here of 60 s). `stop()` ends the runner at
    once, and a message published afterwards goes to the next runner now: not to the stopped runner's pull, which
    is still at the server, where it would wait out ack_wait (60 s) before being redelivered."""
    first = runner_for(db, js, record_effect, ack_wait=60.0, idle_wait=60.0)
    await first.ensure()
    task = asyncio.create_task(first.run())
    await eventually(lambda: _waiting(js, 1), what="the idle runner's pull at the server")
    first.stop()
    await asyncio.wait_for(task, timeout=10)  # not the pull's 60 s
    event = child_registered()
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    second = runner_for(db, js, record_effect, ack_wait=60.0, idle_wait=60.0)
    task = asyncio.create_task(second.run())
    await eventually(lambda: _equals(effect_count(db), 1), timeout=20, what="the event handled by the next runner")
    second.stop()
    await asyncio.wait_for(task, timeout=10)
    info = await js.consumer_info("TAS", "tests")
    assert info.num_ack_pending == 0 and info.num_pending == 0 and info.num_redelivered == 0


def record_fetches(runner: ConsumerRunner) -> list[int]:
    """The number of messages of each fetch the runner handles (one transaction each)."""
    sizes: list[int] = []
    handle, handle_batch = runner.handle, runner.handle_batch

    async def one(msg) -> None:
        sizes.append(1)
        await handle(msg)

    async def batch(msgs) -> None:
        sizes.append(len(msgs))
        await handle_batch(msgs)

    runner.handle, runner.handle_batch = one, batch  # type: ignore[method-assign]
    return sizes


async def fetch_sizes_of_four(db, js, *, gap: float, linger: float, linger_longest: float = 0.0) -> list[int]:
    """The sizes of the fetches a runner handles four events in: the first published to the idle runner, the three
    others `gap` seconds apart once it has handled the first."""
    first_handled = asyncio.Event()

    async def handler(session, payload, event: CloudEvent) -> None:
        await record_effect(session, payload, event)
        first_handled.set()

    runner = runner_for(db, js, handler, linger=linger, linger_longest=linger_longest)
    sizes = record_fetches(runner)
    await runner.ensure()
    task = asyncio.create_task(runner.run())
    await eventually(lambda: _waiting(js, 1), what="the idle runner's pull at the server")
    events = [child_registered(n) for n in range(4)]
    await js.publish(events[0].nats_subject, events[0].to_bytes(), headers={"Nats-Msg-Id": events[0].id})
    await asyncio.wait_for(first_handled.wait(), timeout=5)
    for event in events[1:]:
        await asyncio.sleep(gap)
        await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    await eventually(lambda: _equals(effect_count(db), 4), what="the four events handled")
    runner.stop()
    await asyncio.wait_for(task, timeout=10)
    return sizes


async def test_a_busy_consumer_lingers_so_that_messages_arriving_meanwhile_share_one_fetch_and_transaction(db, js):
    """The first message of an idle consumer is handled at once; the three that follow, 50 ms apart, arrive while
    the consumer lingers after it and are handled as ONE batch. Without the linger each is fetched alone."""
    assert await fetch_sizes_of_four(db, js, gap=0.05, linger=1.0) == [1, 3]


async def test_a_consumer_whose_messages_come_slowly_lingers_longer_so_that_they_still_share_a_fetch(db, js):
    """The shortest linger is 50 ms, and the messages after the first come 200 ms apart: each would be fetched
    alone. At the one message a second the consumer has seen, it lingers for LINGER_MESSAGES to arrive, up to the
    longest (1.5 s here), and the three are handled as ONE batch."""
    assert await fetch_sizes_of_four(db, js, gap=0.2, linger=0.05, linger_longest=1.5) == [1, 3]


async def test_stop_ends_a_lingering_consumer_at_once(db, js):
    runner = runner_for(db, js, record_effect, linger=60.0)
    await runner.ensure()
    task = asyncio.create_task(runner.run())
    event = child_registered()
    await js.publish(event.nats_subject, event.to_bytes(), headers={"Nats-Msg-Id": event.id})
    await eventually(lambda: _equals(effect_count(db), 1), what="the event handled")
    runner.stop()
    await asyncio.wait_for(task, timeout=5)  # not the linger's 60 s
