"""Idempotent consumer runner on a durable JetStream pull consumer.

For each message: parse the CloudEvent and validate its payload (once: the handler is given the typed payload), and
in ONE database transaction record the event id in the processed-events table (already there: a duplicate, the
handler is not run) and run the handler; ack only after that commit. A service's handlers are one dict, payload
type → handler. A fetched batch of several messages shares one transaction (one commit), in one savepoint, or each
message in a savepoint of its own when one of them fails (`handle_batch`). A handler failure is nak'd with a backoff; on the
last allowed delivery the message goes to `tas.deadletter.<consumer>` (deadletters.py: kept in the stream,
visible to operators) and is terminated, and the consumer goes on with the next one. A message that is not a valid event is
dead-lettered at once: retrying cannot fix it.

An idle runner asks the server for ONE message with a long wait (it answers at the first message, and `stop()`
cancels it); while messages come it fetches batches with a short wait, after lingering a moment
(`ConsumerSpec.linger_seconds`, longer when messages come slowly: `ConsumerSpec.linger_for`) when the last fetch
was not a full batch, so that several messages share a fetch and a transaction.

Nothing but `stop()` ends a runner: a round that fails (NATS gone, the durable consumer deleted, an ack that cannot
be sent) is logged as an outage (outage.py: once, then summaries) and retried, and a dead letter that cannot be
published is retried until it is stored (its message has had its last delivery: dropping it would lose it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError
from pydantic import ValidationError
from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from .consumer_spec import ConsumerSpec, Handler, RetryLater
from .db import Database, utcnow
from .deadletters import DeadLetters
from .driver import DriverStatement
from .events import CloudEvent, EventPayload
from .metrics import CONSUMER_PENDING, EVENT_REDELIVERIES, EVENTS_HANDLED
from .outage import OutageLog
from .tables import processed_event
from .telemetry import Telemetry
from .tracing import message_span

log = logging.getLogger("tas.consumer")

_MARK_COLUMNS = ("consumer", "event_id", "event_type", "processed_at")
_MARK = {
    "sqlite": DriverStatement(sqlite.insert(processed_event).on_conflict_do_nothing(), columns=_MARK_COLUMNS),
    "postgresql": DriverStatement(postgresql.insert(processed_event).on_conflict_do_nothing(), columns=_MARK_COLUMNS),
}
"""The processed-event check and mark in one statement, by the table's key, on the driver's cursor (driver.py), for
the two dialects TAS runs on. A batch's check was once one `IN` list of its event ids: on PostgreSQL the plan a
connection kept from when the table was small read every row of the consumer (the ids as a filter, not an index
condition), 4–9 ms a batch and growing with the table (bench/NOTES.md, issue 18 session 11)."""


async def mark_processed(
    session: AsyncSession, *, consumer: str, event: CloudEvent, at: datetime | None = None
) -> bool:
    """Record `event` as processed by `consumer` in the caller's transaction, before its handler runs (a failing
    handler's rollback takes the row back with its own work). False when it was already: processed before, or
    earlier in the same transaction — the handler is then not run. Every message, alone or in a batch, and the
    insights rebuild go through here."""
    row = {"consumer": consumer, "event_id": event.id, "event_type": event.type, "processed_at": at or utcnow()}
    return await _MARK[session.get_bind().dialect.name].execute(session, row) == 1


_MARK_ALL: dict[tuple[str, int], DriverStatement] = {}
"""Compiled `mark_all_processed` statements, by dialect and number of events (at most a fetch's batch size each)."""


def _mark_all(dialect: str, size: int) -> DriverStatement:
    found = _MARK_ALL.get((dialect, size))
    if found is None:
        insert = postgresql.insert(processed_event) if dialect == "postgresql" else sqlite.insert(processed_event)
        rows = [
            {c: bindparam(f"r{r}_{c}", type_=processed_event.c[c].type) for c in _MARK_COLUMNS} for r in range(size)
        ]
        statement = insert.values(rows).on_conflict_do_nothing().returning(processed_event.c.event_id)
        found = _MARK_ALL[(dialect, size)] = DriverStatement(statement, columns=_MARK_COLUMNS)
    return found


async def mark_all_processed(
    session: AsyncSession, *, consumer: str, events: Sequence[CloudEvent], at: datetime | None = None
) -> list[bool]:
    """`mark_processed` for a batch's events in ONE statement (a multi-row insert that skips the events already
    recorded and returns those it recorded): for each event, in order, True when its handler is to run — False when
    it was processed before, or is an event the batch already holds (delivered twice)."""
    first = list(dict.fromkeys(event.id for event in events))
    if not first:
        return []
    at = at or utcnow()
    by_id = {event.id: event for event in events}
    params: dict[str, object] = {}
    for r, event_id in enumerate(first):
        row = {"consumer": consumer, "event_id": event_id, "event_type": by_id[event_id].type, "processed_at": at}
        params |= {f"r{r}_{column}": value for column, value in row.items()}
    recorded = {row[0] for row in await _mark_all(session.get_bind().dialect.name, len(first)).all(session, params)}
    fresh: list[bool] = []
    for event in events:
        fresh.append(event.id in recorded)
        recorded.discard(event.id)  # a second delivery in the batch is a duplicate
    return fresh


class Ready(NamedTuple):
    """A message ready for its handler."""

    msg: Msg
    event: CloudEvent
    payload: EventPayload
    handler: Handler


class RecentRate:
    """How many messages a second a consumer has fetched over the last `window_seconds` (its linger grows when they
    come slowly: ConsumerSpec.linger_for)."""

    def __init__(self, *, window_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self._fetches: deque[tuple[float, int]] = deque()
        self._messages = 0

    def add(self, messages: int) -> None:
        now = self.clock()
        self._forget_before(now - self.window_seconds)  # full batches (a backlog) add without asking the rate
        self._fetches.append((now, messages))
        self._messages += messages

    def per_second(self) -> float:
        self._forget_before(self.clock() - self.window_seconds)
        return self._messages / self.window_seconds

    def _forget_before(self, since: float) -> None:
        while self._fetches and self._fetches[0][0] < since:
            self._messages -= self._fetches.popleft()[1]


class ConsumerRunner:
    def __init__(
        self,
        *,
        db: Database,
        js: JetStreamContext,
        stream: str,
        spec: ConsumerSpec,
        outage_log_seconds: float = 60.0,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.db = db
        self.telemetry = telemetry
        self.js = js
        self.stream = stream
        self.spec = spec
        self._stopping = asyncio.Event()
        self.recent = RecentRate()
        """The messages it fetched over the last second: its linger grows when they come slowly."""
        self.failing = OutageLog(
            log, f"consumer {spec.durable}", summary_seconds=outage_log_seconds, consumer=spec.durable
        )
        """A round that fails: logged once, then summaries. While it is down the runner is not healthy."""
        self.dead_letters = DeadLetters(
            js=js,
            durable=spec.durable,
            pause=self._pause,
            stopping=self._stopping.is_set,
            max_delay_seconds=self.RETRY_MAX_SECONDS,
            outage_log_seconds=outage_log_seconds,
        )
        self.running = False
        """In its loop (set by `run`): the runtime's /readyz reports a runner that is not."""

    @property
    def healthy(self) -> bool:
        return self.running and not self.failing.down

    @property
    def durable(self) -> str:
        return self.spec.durable

    def config(self) -> ConsumerConfig:
        # ack_wait must exceed the longest backoff so that a nak'd delay is not cut short by redelivery.
        return ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subjects=self.spec.subjects,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=max(self.spec.max_deliver, self.spec.max_deliver_not_yet),  # the client dead-letters
            ack_wait=self.spec.ack_wait_seconds,
            max_ack_pending=1000,
        )

    async def ensure(self) -> None:
        """Create the durable consumer explicitly (or update its configuration). Safe from every replica."""
        try:
            await self.js.consumer_info(self.stream, self.spec.durable)
        except NotFoundError:
            await self.js.add_consumer(self.stream, self.config())
            return
        await self.js.add_consumer(self.stream, self.config())

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Fetch and handle messages until `stop()`; the message in hand is finished before returning."""
        sub: JetStreamContext.PullSubscription | None = None
        rebind = False
        busy = linger = False
        delay = self.RETRY_FIRST_SECONDS
        self.running = True
        try:
            while not self._stopping.is_set():
                try:
                    if sub is None:
                        if rebind:  # the durable consumer was deleted (or its stream re-created): create it again
                            await self.ensure()
                        sub = await self.js.pull_subscribe_bind(self.spec.durable, self.stream)
                    if linger:  # let the next messages gather: one fetch, one transaction for them all
                        await self._pause(self.spec.linger_for(self.recent.per_second()))
                    msgs = await self._fetch(sub, busy=busy)
                    busy = bool(msgs)
                    if busy:
                        self.recent.add(len(msgs))
                    linger = busy and len(msgs) < self.spec.batch_size and self.spec.linger_seconds > 0
                    self._count_redeliveries(msgs)
                    if len(msgs) == 1:
                        await self.handle(msgs[0])
                    elif msgs:
                        await self.handle_batch(msgs)
                    self.failing.recovered()
                    delay = self.RETRY_FIRST_SECONDS
                except Exception as exc:
                    self.failing.failed(exc)
                    if isinstance(exc, APIError) and sub is not None:
                        await self._unsubscribe(sub)
                        sub, rebind = None, True
                    await self._pause(delay)
                    delay = min(delay * 2, self.RETRY_MAX_SECONDS)
        finally:
            self.running = False
            if sub is not None:
                await self._unsubscribe(sub)

    RETRY_FIRST_SECONDS = 0.5
    RETRY_MAX_SECONDS = 5.0

    async def _fetch(self, sub: JetStreamContext.PullSubscription, *, busy: bool) -> list[Msg]:
        """Busy: a batch with the short wait. Idle: ONE message with the long wait, which `stop()` cancels."""
        try:
            if busy:
                return await sub.fetch(self.spec.batch_size, timeout=self.spec.fetch_wait_seconds)
            return await self._long_poll(sub)
        except (TimeoutError, NatsTimeoutError):
            return []

    async def _long_poll(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        """The idle pull for one message, raced with `stop()`. A pull cancelled by stop() stays at the server until
        it expires; a message the server hands it meanwhile lands in the subscription's queue, where the next
        fetch reads it first, or `_unsubscribe` gives it back; after the unsubscribe the server hands it nothing
        (it checks the reply subject's interest). One that reaches this process after the unsubscribe (the
        instant between the two) is redelivered after ack_wait, as after a kill: nothing is lost."""
        pull = asyncio.ensure_future(sub.fetch(1, timeout=self.spec.idle_wait_seconds))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((pull, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            while not pull.done():  # nothing if it is done
                # Again until it ends: Python 3.11's wait_for (inside nats-py's next_msg) swallows a cancel that meets
                # a message arriving (e.g. a status reply), and the fetch would then wait out its expiry.
                pull.cancel()
                await asyncio.wait((pull,), timeout=0.1)
            (outcome,) = await asyncio.gather(pull, return_exceptions=True)
        if isinstance(outcome, list):
            return outcome
        if isinstance(outcome, asyncio.CancelledError) or self._stopping.is_set():
            return []
        raise outcome

    @staticmethod
    async def _unsubscribe(sub: JetStreamContext.PullSubscription) -> None:
        """Unsubscribe, then nak what a cancelled pull left in the subscription's queue (redelivered now, not after
        ack_wait). nats-py has no public way to read that queue without sending a new pull request."""
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        queue = sub._sub._pending_queue
        while not queue.empty():
            msg = queue.get_nowait()
            if not JetStreamContext.is_status_msg(msg):
                with contextlib.suppress(Exception):
                    await msg.nak()

    async def _pause(self, seconds: float) -> None:
        """Wait before a retry; a `stop()` ends the wait."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def _count_redeliveries(self, msgs: list[Msg]) -> None:
        """Every fetched message delivered before, whether it is then handled alone or in a batch."""
        again = sum(1 for msg in msgs if msg.metadata.num_delivered > 1)
        if again:
            EVENT_REDELIVERIES.labels(self.durable).inc(again)

    async def handle(self, msg: Msg) -> None:
        """Handle one message in a span that continues the message's trace (its `traceparent` header)."""
        with self._span(msg):
            await self._handle(msg)

    async def handle_batch(self, msgs: list[Msg]) -> None:
        """Handle a fetched batch in ONE unit of work that commits once; only then is each message acked. The
        handlers first run together in one savepoint (`_all_at_once`); if one of them fails, that savepoint is
        rolled back and the batch runs again with each message's handler and processed-event row in a SAVEPOINT
        of its own (`_one_savepoint_each`): the failing message is rolled back alone (the others' effects stay)
        and is nak'd or dead-lettered as in `handle`. If the batch cannot commit, every message is handled again
        one by one."""
        ready = [r for r in [await self._prepare(msg) for msg in msgs] if r is not None]
        if not ready:
            return
        outcomes: list[bool | Exception] = []  # duplicate?, or the handler's failure
        try:
            async with self.db.transaction() as session:
                together = await self._all_at_once(session, ready)
                # if a message failed: again, each message in a savepoint of its own
                outcomes = together if together is not None else await self._one_savepoint_each(session, ready)
        except Exception as exc:
            log.warning(
                "batch failed; handling one by one", extra={"consumer": self.durable, "error": type(exc).__name__}
            )
            for r in ready:
                await self.handle(r.msg)
            return
        for (msg, event, _, _), outcome in zip(ready, outcomes, strict=False):
            if isinstance(outcome, Exception):
                await self._failed(msg, event, outcome)
                continue
            if self.spec.on_committed is not None:
                await self.spec.on_committed(event)
            await msg.ack()
            EVENTS_HANDLED.labels(self.durable, "duplicate" if outcome else "ok").inc()

    def _span(self, msg: Msg) -> contextlib.AbstractContextManager[str]:
        tracer = self.telemetry.tracer if self.telemetry is not None else None
        return message_span(msg.headers or {}, subject=msg.subject, consumer=self.durable, tracer=tracer)

    async def _all_at_once(self, session: AsyncSession, ready: list[Ready]) -> list[bool | Exception] | None:
        """The common case, where every handler succeeds: the whole batch in ONE savepoint, its events marked
        processed in one statement (`mark_all_processed`). None when a message failed: the savepoint is rolled back,
        nothing of it is kept."""
        outcomes: list[bool | Exception] = []
        try:
            async with session.begin_nested():
                fresh = await mark_all_processed(session, consumer=self.durable, events=[r.event for r in ready])
                for (msg, event, payload, handler), run in zip(ready, fresh, strict=True):
                    if not run:
                        outcomes.append(True)  # a duplicate
                        continue
                    with self._span(msg):
                        await handler(session, payload, event)
                    outcomes.append(False)
        except Exception:
            return None
        return outcomes

    async def _one_savepoint_each(self, session: AsyncSession, ready: list[Ready]) -> list[bool | Exception]:
        """Each message's handler and its processed-event row in a savepoint of its own: a failing message is
        rolled back alone, the others' effects stay."""
        outcomes: list[bool | Exception] = []
        for msg, event, payload, handler in ready:
            with self._span(msg):
                try:
                    async with session.begin_nested():
                        duplicate = not await mark_processed(session, consumer=self.durable, event=event)
                        if not duplicate:
                            await handler(session, payload, event)
                except Exception as exc:
                    outcomes.append(exc)
                    continue
            outcomes.append(duplicate)
        return outcomes

    async def _failed(self, msg: Msg, event: CloudEvent, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered
        outcome = "retry" if isinstance(exc, RetryLater) else "error"
        EVENTS_HANDLED.labels(self.durable, outcome).inc()
        budget = self.spec.max_deliver_not_yet if isinstance(exc, RetryLater) else self.spec.max_deliver
        if deliveries >= budget:
            await self.dead_letters.move(msg, f"{type(exc).__name__}: {exc}", deliveries)
            return
        delay = self.spec.backoff_seconds[min(deliveries - 1, len(self.spec.backoff_seconds) - 1)]
        log.warning(
            "handler failed; will retry",
            extra={
                "consumer": self.durable,
                "event_id": event.id,
                "deliveries": deliveries,
                "error": type(exc).__name__,
            },
        )
        await msg.nak(delay=delay)

    async def _prepare(self, msg: Msg) -> Ready | None:
        """The message's event, its payload validated (the only time) and its handler; None when there is nothing
        to run: a message that is not a valid event, or a version of a handled event this consumer has no handler
        for, is dead-lettered (retrying cannot help); a subject no longer handled (filter changed) is acked."""
        try:
            event = CloudEvent.from_bytes(msg.data)
            payload = event.payload()
        except (ValidationError, ValueError) as exc:
            await self.dead_letters.move(msg, f"invalid event: {type(exc).__name__}", msg.metadata.num_delivered)
            return None
        handler = self.spec.handlers.get(type(payload))
        if handler is not None:
            return Ready(msg, event, payload, handler)
        if payload.subject in self.spec.subjects:
            await self.dead_letters.move(msg, f"no handler for {event.type}", msg.metadata.num_delivered)
        else:
            await msg.ack()
        return None

    async def _handle(self, msg: Msg) -> None:
        ready = await self._prepare(msg)
        if ready is None:
            return
        event = ready.event
        try:
            duplicate = await self._process(event, ready.payload, ready.handler)
        except Exception as exc:
            await self._failed(msg, event, exc)
            return
        if self.spec.on_committed is not None:
            await self.spec.on_committed(event)
        await msg.ack()
        EVENTS_HANDLED.labels(self.durable, "duplicate" if duplicate else "ok").inc()

    async def _process(self, event: CloudEvent, payload: EventPayload, handler: Handler) -> bool:
        async with self.db.transaction() as session:
            if not await mark_processed(session, consumer=self.durable, event=event):
                return True
            await handler(session, payload, event)
        return False

    async def pending(self) -> int:
        info = await self.js.consumer_info(self.stream, self.durable)
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        CONSUMER_PENDING.labels(self.durable).set(pending)
        return pending
