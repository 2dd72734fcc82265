"""Transactional outbox: events are written in the caller's transaction and published by a relay.

The relay publishes each row with `Nats-Msg-Id` = event id (JetStream drops a duplicate inside the stream's
one-hour window), marks it sent only after the PubAck, and keeps retrying while NATS is unreachable. On PostgreSQL
rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas can run a relay each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from nats.js import JetStreamContext, api
from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from .db import EVENTS_WRITTEN, Database, utcnow
from .driver import SIZES, DriverStatement, on_asyncpg, padded
from .events import CloudEvent
from .metrics import OUTBOX_DUPLICATES, OUTBOX_LAG_SECONDS, OUTBOX_PENDING, OUTBOX_PUBLISHED
from .outage import OutageLog
from .tables import outbox
from .tracing import current_traceparent

log = logging.getLogger("tas.outbox")
COLUMNS = ("event_id", "subject", "event_type", "payload", "headers", "created_at")
"""The columns of an outbox row as `pending_row` builds it (the others have server defaults)."""
_INSERT = DriverStatement(insert(outbox), columns=COLUMNS)
"""Compiled once and run on the driver (tas_common.driver): an event row costs a few microseconds to write."""
_UNSENT_QUERY = (
    select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload, outbox.c.headers)
    .where(outbox.c.sent_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(bindparam("limit"))
)
_UNSENT = DriverStatement(_UNSENT_QUERY)
_PICKED = (
    select(outbox.c.seq)
    .where(outbox.c.sent_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
    .cte("picked")
    .prefix_with("MATERIALIZED")
)
_CLAIM = DriverStatement(
    update(outbox)
    .where(outbox.c.seq.in_(select(_PICKED.c.seq)))
    .values(sent_at=bindparam("now", type_=outbox.c.sent_at.type))
    .returning(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.payload, outbox.c.headers)
)
"""PostgreSQL: the round's rows, locked (`SKIP LOCKED`: another relay's are left to it) and marked sent in the
round's transaction, in one statement; the transaction commits only after their PubAcks (`_publish_claimed`). The
pick is a MATERIALIZED CTE, run once: as an `IN (subquery)` the planner may rescan it for each row the UPDATE looks
at, and each rescan would skip the rows the statement has just locked and take `limit` more (notify's claim did,
bench/NOTES.md issue 18 session 13)."""
_MARK_SENT = {
    size: DriverStatement(
        update(outbox)
        .where(outbox.c.seq.in_([bindparam(f"s{k}", type_=outbox.c.seq.type) for k in range(size)]))
        .values(sent_at=bindparam("now", type_=outbox.c.sent_at.type))
    )
    for size in SIZES
}
_MARK_FAILED = DriverStatement(
    update(outbox)
    .where(outbox.c.seq == bindparam("seq"))
    .values(attempts=outbox.c.attempts + 1, last_error=bindparam("error", type_=outbox.c.last_error.type))
)
"""The relay's statements, built once and run on the driver: it runs them for every round, i.e. at every commit
that writes an event (the statements through the ORM session were most of the relay's CPU, bench/NOTES.md)."""
MARK_AFTER_ROWS = SIZES[-1]
MARK_WITHIN_SECONDS = 0.25
MARK_IDLE_SECONDS = 0.02
"""When the SQLite relay marks what it published (OutboxRelay._publish_then_mark)."""
STALL_FREE = 1_000
"""Below this many unacknowledged publishes nats-py's semaphore (4,000 by default) cannot make a publish wait."""


def _traced(event: CloudEvent) -> CloudEvent:
    """An event without a `traceparent` of its own gets the current one (tracing.py), so that it joins the trace of
    the request or message that caused it."""
    if not (event.model_extra or {}).get("traceparent") and current_traceparent():
        return event.model_copy(update={"traceparent": current_traceparent()})
    return event


def _row(event: CloudEvent, headers: dict[str, str] | None, now: datetime) -> dict[str, object]:
    extra = event.model_extra or {}
    trace = {"traceparent": extra["traceparent"]} if extra.get("traceparent") else {}
    return {
        "event_id": event.id,
        "subject": event.nats_subject,
        "event_type": event.type,
        "payload": event.to_bytes(),
        "headers": json.dumps({**trace, **(headers or {})}),
        "created_at": now,
    }


def pending_row(
    session: AsyncSession, event: CloudEvent, *, headers: dict[str, str] | None = None
) -> dict[str, object]:
    """The outbox row `add_event` writes (`COLUMNS`), for a use case that inserts it in a statement of its own (on
    PostgreSQL a CTE beside its other inserts: one round trip). The session is marked as having written an event,
    so that the relay is woken after the commit, exactly as by `add_event`."""
    session.info[EVENTS_WRITTEN] = True
    return _row(_traced(event), headers, utcnow())


async def add_event(session: AsyncSession, event: CloudEvent, *, headers: dict[str, str] | None = None) -> None:
    """Write `event` in the session's transaction. It is published after, and only if, that transaction commits.

    An event without a `traceparent` of its own gets the current one (tracing.py), so that it joins the trace of
    the request or message that caused it."""
    await _INSERT.execute(session, pending_row(session, event, headers=headers))


async def add_events(session: AsyncSession, events: list[CloudEvent], *, traced: bool = False) -> None:
    """`add_event` for many events in one multi-row insert (batch use cases); order is kept. With `traced`, each
    event without a `traceparent` gets the current one, exactly as `add_event` does."""
    if not events:
        return
    now = utcnow()
    session.info[EVENTS_WRITTEN] = True
    await _INSERT.execute(session, [_row(_traced(e) if traced else e, None, now) for e in events])


@dataclass(frozen=True)
class OutboxLag:
    pending: int
    oldest_age_seconds: float


class OutboxRelay:
    def __init__(
        self,
        *,
        db: Database,
        js: JetStreamContext,
        service: str,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        publish_timeout: float = 5.0,
        outage_log_seconds: float = 60.0,
        linger_seconds: float = 0.0,
    ) -> None:
        self.db = db
        self.js = js
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.linger_seconds = linger_seconds
        """After a round that published events but less than a batch, wait this long before the next round, so
        that the events committed meanwhile go in one (one claim or mark transaction, one pipelined publish); `stop()`
        ends the wait. 0: the next round at once. For a service none of whose events anyone waits on (notify)."""
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._unmarked: list[int] = []
        """SQLite: rows published (PubAck received) and not yet marked sent (`_publish_then_mark`)."""
        self._unmarked_since = 0.0
        self.failing = OutageLog(log, "outbox relay", summary_seconds=outage_log_seconds)

    def wake(self) -> None:
        self._wake.set()

    def stop_requested(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish in rounds: again at once after a full batch (more may be waiting) or when an event was committed
        during the round (the wake-up is cleared before the round reads, so none is lost); else wait for one, at most
        `poll_seconds`. A round that published less than a batch is not followed by a round that finds nothing
        (on PostgreSQL that was a transaction of three round trips after every round)."""
        failures = 0
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    published = await self._round()
                    failures = 0
                    self.failing.recovered()
                    if published >= self.batch_size:
                        continue
                    if published and self.linger_seconds > 0:
                        await self._linger()  # then a round at once: it takes what came meanwhile
                        continue
                    if self._unmarked and (await self._quiet_for(MARK_IDLE_SECONDS) or self._marks_due()):
                        await self._mark_published()  # no new event came (or they waited long enough): mark now
                except Exception as exc:
                    failures += 1
                    self.failing.failed(exc)
                    await asyncio.sleep(min(0.2 * 2 ** min(failures, 5), 5.0))
                    continue
                if self.stop_requested():
                    break
                if not self._unmarked:
                    await self._quiet_for(self.poll_seconds)
        finally:
            if self._unmarked:
                with contextlib.suppress(Exception):  # else they are published again at the next start (duplicates)
                    await self._mark_published()

    async def _linger(self) -> None:
        """Wait `linger_seconds`, whatever is committed meanwhile; `stop()` ends the wait."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), timeout=self.linger_seconds)

    async def _quiet_for(self, seconds: float) -> bool:
        """Wait up to `seconds` for a wake-up (an event committed, or stop); True when none came."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in order and mark them sent; returns how many were published."""
        published = await self._round()
        await self._mark_published()
        return published

    async def _round(self) -> int:
        if self.db.dialect == "postgresql":
            return await self._publish_claimed()
        return await self._publish_then_mark()

    async def _publish_claimed(self) -> int:
        """PostgreSQL: the rows are claimed — locked FOR UPDATE SKIP LOCKED, so that several replicas' relays never
        publish the same row at once — and marked sent in ONE statement (`_CLAIM`), in a transaction that commits
        after the publish: BEGIN, the claim, COMMIT are the round's three round trips (a SELECT and then an UPDATE
        were four). Nothing is marked sent unless it has its PubAck: the rows from the first without one are marked
        unsent again before the COMMIT (still locked: no other relay can take them meanwhile), and a crash or a lost
        connection before the COMMIT rolls every mark back. A row's `sent_at` is the time of its claim.

        The round runs on a pooled connection of the engine (its checkout's checks, tas_common/pool.py) but in
        asyncpg's own transaction, without an ORM session: at 150 concerns/s a round carries one or two events, and
        the session's lifecycle (begin, commit, close through SQLAlchemy's greenlets) was about a quarter of a round's
        CPU (bench/NOTES.md, issue 18 session 10)."""
        async with self.db.engine.connect() as connection:
            sync = connection.sync_connection
            assert sync is not None
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            async with driver.transaction():
                claimed = await on_asyncpg(sync, driver, _CLAIM, {"limit": self.batch_size, "now": utcnow()})
                rows = sorted(claimed)
                sent, error = await self._publish(rows)
                if len(sent) < len(rows):
                    unsent = [row[0] for row in rows[len(sent) :]]
                    await self._mark(partial(on_asyncpg, sync, driver), unsent, error, unsent=True)
        return self._done(sent, error)

    async def _publish_then_mark(self) -> int:
        """SQLite (one process per database, so one relay): read the batch without taking the write lock, publish
        it, then mark it sent in a short transaction. Publishing inside the write transaction would make every
        request wait for the NATS round trips. A crash between publish and mark republishes the rows, and
        JetStream drops them as duplicates by Nats-Msg-Id.

        The marks of several rounds share one transaction: rows published but not yet marked (`_unmarked`, skipped
        by the next reads) are marked once MARK_AFTER_ROWS have gathered, the oldest was published
        MARK_WITHIN_SECONDS ago, a publish failed, or no new event came for MARK_IDLE_SECONDS (`run`). At 150
        concerns/s a round carries one or two events, and its own marking transaction (BEGIN IMMEDIATE, UPDATE,
        COMMIT with its fsync) cost about as much CPU as the publish (bench/NOTES.md, issue 18). What a crash can
        republish stays bounded as before (a round was up to `batch_size` rows)."""
        skip = set(self._unmarked)
        async with self.db.reader() as session:
            rows = await _UNSENT.all(session, {"limit": self.batch_size + len(skip)})
        rows = [row for row in rows if row[0] not in skip][: self.batch_size]
        if not rows:
            return 0
        sent, error = await self._publish(rows)
        if sent and not self._unmarked:
            self._unmarked_since = asyncio.get_running_loop().time()
        self._unmarked += sent
        if error is not None or len(self._unmarked) >= MARK_AFTER_ROWS or self._marks_due():
            await self._mark_published(error)
        return self._done(sent, error)

    def _marks_due(self) -> bool:
        return bool(self._unmarked) and asyncio.get_running_loop().time() - self._unmarked_since >= MARK_WITHIN_SECONDS

    async def _mark_published(self, error: tuple[int, Exception] | None = None) -> None:
        """Mark the published rows sent (and a failed one's attempt) in one transaction; if it fails they stay
        remembered, and are marked at the next try."""
        if not self._unmarked and error is None:
            return
        async with self.db.transaction() as session:
            await self._mark(partial(_in_session, session), self._unmarked, error)
        self._unmarked = []

    async def _publish(self, rows: Sequence[tuple[Any, ...]]) -> tuple[list[int], tuple[int, Exception] | None]:
        """Publish the batch pipelined: every message is written first, in order, on the one connection (so
        JetStream stores them in that order), then the PubAcks are awaited in the same order. Rows count as sent
        only up to the first failure; from there on they stay unsent and the next round publishes them again in
        order, and JetStream drops (by `Nats-Msg-Id`) any of them it had already stored. One PubAck round trip per
        batch instead of one per event (the relay was ~10% of a service's CPU, bench/NOTES.md). Order holds under
        timeouts and disconnects (they affect every message after the first one hit); only a rejection of one
        message that JetStream accepts the next after (none applies to the TAS stream's configuration) could let a
        later event be stored before it."""
        acks: list[tuple[int, asyncio.Future[api.PubAck]]] = []
        error: tuple[int, Exception] | None = None
        for seq, event_id, subject, payload, stored_headers in rows:
            headers = {**json.loads(stored_headers), "Nats-Msg-Id": event_id}
            # No stall timeout: nats-py waits for its pending-publish semaphore through asyncio.wait_for, which with a
            # timeout costs a turn of the event loop for every message; a round's acks (at most `batch_size`, all
            # awaited or cancelled before the next round) stay far below the semaphore's 4,000, so it cannot stall.
            stall = None if self.js.publish_async_pending() < STALL_FREE else self.publish_timeout
            try:
                acks.append((seq, await self.js.publish_async(subject, payload, headers=headers, wait_stall=stall)))
            except Exception as exc:
                error = (seq, exc)
                break
        if acks:  # ONE wait for every PubAck: a wait_for per ack cost a turn of the event loop each, so a saturated
            # referral (32 requests at ~1,100/s on PostgreSQL) left its relay ~70 events/s (bench/NOTES.md, session 9)
            await asyncio.wait([future for _, future in acks], timeout=self.publish_timeout)
        sent: list[int] = []
        for i, (seq, future) in enumerate(acks):
            failure = _failure(future)
            if failure is not None:
                for _, later in acks[i + 1 :]:
                    later.cancel()
                return sent, (seq, failure)
            if future.result().duplicate:  # published before (e.g. by a relay that died before marking it sent)
                OUTBOX_DUPLICATES.labels(self.service).inc()
            sent.append(seq)
        return sent, error

    @staticmethod
    async def _mark(
        run: Callable[[DriverStatement, dict[str, Any]], Awaitable[object]],
        rows: list[int],
        error: tuple[int, Exception] | None,
        *,
        unsent: bool = False,
    ) -> None:
        """Count the failed row's attempt, and mark `rows` sent now (or, `unsent`, not sent: `sent_at` NULL); `run`
        runs a statement with its parameters (in a session's transaction, or on asyncpg's: `_publish_claimed`)."""
        if error is not None:
            seq, exc = error
            await run(_MARK_FAILED, {"seq": seq, "error": f"{type(exc).__name__}: {exc}"[:500]})
        now = None if unsent else utcnow()
        for start in range(0, len(rows), SIZES[-1]):
            fitted = padded(rows[start : start + SIZES[-1]])
            assert fitted is not None
            size, seqs = fitted
            await run(_MARK_SENT[size], {"now": now, **{f"s{k}": s for k, s in enumerate(seqs)}})

    def _done(self, sent: list[int], error: tuple[int, Exception] | None) -> int:
        if sent:
            OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        if error is not None:
            raise error[1]
        return len(sent)

    async def lag(self) -> OutboxLag:
        return await outbox_lag(self.db, self.service)


async def _in_session(session: AsyncSession, statement: DriverStatement, params: dict[str, Any]) -> int:
    return await statement.execute(session, params)


def _failure(future: asyncio.Future[api.PubAck]) -> Exception | None:
    """Why a publish has no PubAck after the round's wait (None: it has one)."""
    if not future.done():
        return TimeoutError("no PubAck in time")
    if future.cancelled():
        return RuntimeError("the wait for the PubAck was cancelled")
    failure = future.exception()
    if failure is None or isinstance(failure, Exception):
        return failure
    return RuntimeError(repr(failure))


async def outbox_lag(db: Database, service: str) -> OutboxLag:
    """Unsent rows and the age of the oldest; also sets the outbox gauges (works while NATS is down)."""
    async with db.reader() as session:
        pending, oldest = (
            await session.execute(select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None)))
        ).one()
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=utcnow().tzinfo)
        age = max(0.0, (utcnow() - oldest).total_seconds())
    OUTBOX_PENDING.labels(service).set(pending)
    OUTBOX_LAG_SECONDS.labels(service).set(age)
    return OutboxLag(pending=pending, oldest_age_seconds=age)
