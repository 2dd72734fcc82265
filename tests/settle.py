"""`settled(runtimes)`: wait until nothing is in flight anywhere in the system under test.

A test that checks that something did NOT happen (no second email, nothing sent to the family) waits for this
instead of sleeping: once every outbox row is published, every consumer has handled and acked what the stream
holds for it, and notify has no message due or being handed to a provider, an effect that was going to happen
has happened. Each hop makes its next stage visible before it clears its own (a relay marks a row sent after the
PubAck; a consumer acks after the commit that wrote its outbox rows or its notifications; the dispatcher marks a
message sent after the SMTP sink stored it), so a pass that finds every stage empty, twice in a row, is a fact
and not a guess."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, text

from tas_common.db import utcnow
from tas_common.tables import outbox

NOTIFY_IN_FLIGHT = text(
    "SELECT count(*) FROM notification WHERE (status = 'created' AND (not_before IS NULL OR not_before <= :now))"
    " OR (status = 'sending' AND provider_ref IS NULL)"
)
"""A message due to be sent, or claimed and not yet accepted by a provider (a `sending` message with a provider
reference waits for a receipt, which no clock brings)."""
CASELOAD_IN_FLIGHT = text("SELECT count(*) FROM signin_challenge WHERE dispatched_at IS NULL")
"""A sign-in code asked for that caseload's dispatcher has not handed on (or found nobody for) yet."""


async def in_flight(runtime: Any) -> list[str]:
    """What this service still has in flight, named (empty when it has nothing)."""
    name = runtime.settings.service_name
    busy: list[str] = []
    async with runtime.db.reader() as session:
        unsent = (
            await session.execute(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
        ).scalar_one()
        if unsent:
            busy.append(f"{name}: {unsent} outbox rows unsent")
        if name == "caseload":
            asked = (await session.execute(CASELOAD_IN_FLIGHT)).scalar_one()
            if asked:
                busy.append(f"caseload: {asked} sign-in codes not yet dispatched")
        if name == "notify":
            due = (await session.execute(NOTIFY_IN_FLIGHT, {"now": utcnow()})).scalar_one()
            if due:
                busy.append(f"notify: {due} messages due or being sent")
    if runtime.js is None:
        return [*busy, f"{name}: not connected to NATS"]
    for runner in runtime.runners:
        info = await runtime.js.consumer_info(runner.stream, runner.durable)
        if info.num_pending or info.num_ack_pending:
            busy.append(f"{runner.durable}: {info.num_pending} pending, {info.num_ack_pending} unacked")
    return busy


async def settled(runtimes: Iterable[Any], *, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Return once two passes in a row find nothing in flight in any of `runtimes`; fail after `timeout`."""
    runtimes = list(runtimes)
    deadline = time.monotonic() + timeout
    clean = 0
    while True:
        busy = [item for runtime in runtimes for item in await in_flight(runtime)]
        clean = 0 if busy else clean + 1
        if clean >= 2:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for the system to settle: {busy}")
        await asyncio.sleep(interval)
