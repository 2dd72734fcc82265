"""Rebuild insights' read model from a replay of the stream (`tas insights rebuild`).

The facts and tallies are emptied and every event insights handles is read again from the stream, oldest first,
through the same handlers as the durable consumer, all in ONE transaction: a reader sees the old figures until the
new ones are complete, and a rebuild that fails leaves the old ones. Because each fact row's contribution to the
tallies is a pure function of the row (domain/tally.py), the rebuilt figures equal the incremental ones
(tests/insights/test_rebuild.py). Alerts already raised are kept (they record what was sent, not what the facts
say), and so is the audit log.

Run it with insights stopped (scaled to zero): an event the running consumer handles during the rebuild could be
counted twice or lost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import clock
from tas_common.consumer import mark_processed
from tas_common.db import Database
from tas_common.events import CloudEvent
from tas_common.tables import processed_event

from .domain import models
from .events.handlers import DURABLE, HANDLERS

KEPT = {models.Alert.__tablename__}
"""Insights' own tables a rebuild keeps (besides the shared infrastructure: audit log, outbox, ...)."""
BATCH = 500


def read_model_tables() -> list[Any]:
    """The tables a rebuild empties: the facts and the tallies."""
    own = {mapper.class_.__tablename__ for mapper in models.registry.mappers if mapper.class_.__tablename__ not in KEPT}
    return [table for table in models.metadata.sorted_tables if table.name in own]


async def clear(session: AsyncSession) -> None:
    for table in reversed(read_model_tables()):
        await session.execute(delete(table))
    await session.execute(delete(processed_event).where(processed_event.c.consumer == DURABLE))


async def apply(session: AsyncSession, events: Iterable[CloudEvent]) -> int:
    """Hand the events to insights' handlers as the consumer does (an event handled before is skipped, each one
    handled is marked); events of types insights does not handle are ignored. Returns how many were handled."""
    ready = [(event, event.payload()) for event in events]
    ready = [(event, payload) for event, payload in ready if type(payload) in HANDLERS]
    handled = 0
    for event, payload in ready:
        if await mark_processed(session, consumer=DURABLE, event=event, at=clock.now()):
            await HANDLERS[type(payload)](session, payload, event)
            handled += 1
    return handled


@dataclass(frozen=True)
class Rebuilt:
    events: int
    """Events handled (duplicates and events insights does not handle are not counted)."""
    seconds: float

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def rebuild(db: Database, batches: AsyncIterator[list[CloudEvent]]) -> Rebuilt:
    """Empty the read model and apply the replayed events, in one transaction."""
    started = time.perf_counter()
    handled = 0
    async with db.transaction() as session:
        await clear(session)
        async for batch in batches:
            handled += await apply(session, batch)
    return Rebuilt(events=handled, seconds=time.perf_counter() - started)


class StreamIncomplete(Exception):
    """The stream no longer holds its oldest events (aged out after `stream_max_age_days`): a rebuild from it would
    lose the facts they carried."""


async def replay(js: Any, *, stream: str, partial: bool = False) -> AsyncIterator[list[CloudEvent]]:
    """The events insights handles, from the stream's first to its last at the start of the replay, in batches
    (an ephemeral pull consumer: no durable state is touched)."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    info = await js.stream_info(stream)
    if info.state.first_seq > 1 and not partial:
        raise StreamIncomplete(
            f"stream {stream} begins at sequence {info.state.first_seq}: its oldest events have aged out"
        )
    last = info.state.last_seq
    if last == 0:
        return
    subjects = sorted({payload.subject for payload in HANDLERS})
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        filter_subjects=subjects,
        inactive_threshold=60.0,
        mem_storage=True,
    )
    sub = await js.pull_subscribe(subjects[0], stream=stream, config=config)  # filters on all the subjects
    try:
        while True:
            try:
                msgs = await sub.fetch(BATCH, timeout=2.0)
            except NatsTimeout:
                return
            batch = [CloudEvent.from_bytes(m.data) for m in msgs if m.metadata.sequence.stream <= last]
            if batch:
                yield batch
            if not msgs or msgs[-1].metadata.sequence.stream >= last or msgs[-1].metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()
