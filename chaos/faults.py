"""Fault injection: kill -9 one part at a chosen instant, restart it, and time how long the backlog it left takes
to reach the families."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .ledger import Copy, Kill, delivered_recipients
from .load import Concern, Driver

Probe = Callable[[], Awaitable[bool]]


async def wait_for(probe: Probe, *, timeout: float, interval: float = 0.005) -> bool:
    """Poll `probe` until true (True) or until `timeout` (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await probe():
            return True
        await asyncio.sleep(interval)
    return False


@dataclass
class Fault:
    """How to hurt one part: `when` picks the instant (e.g. while notify has messages claimed and not yet
    recorded); `confirm`, checked right after the kill, says whether the kill caught what it was aimed at (if not,
    the part is restarted and the kill tried again, up to `tries` times)."""

    target: str
    kill: Callable[[], None]
    restart: Callable[[], None]
    """Blocking: returns once the part answers again (run in a thread)."""
    when: Probe | None = None
    confirm: Probe | None = None
    aim: str = "mid-load"
    down_s: float = 1.0
    tries: int = 5
    blocking: bool = False
    """`kill` takes a while (a restart of PostgreSQL): run it in a thread so that the load goes on meanwhile."""
    in_doubt: Callable[[], Awaitable[frozenset[str]]] | None = None
    """Read after the kill and before the restart (so it still sees the killed process, not its successor): the
    sends the killed part may have made without recording them (Kill.in_doubt)."""


async def inject(
    fault: Fault,
    *,
    concerns: Sequence[Concern],
    copies: Callable[[], list[Copy]],
    earlier: set[str] | None = None,
    aim_timeout: float = 20.0,
) -> tuple[Kill, set[str]]:
    """Kill at the aimed instant and restart; returns the kill and its backlog: the families of concerns
    acknowledged before the kill that had no message yet, less those already in an `earlier` kill's backlog
    (`drained` then times how long they wait)."""
    for attempt in range(1, fault.tries + 1):
        aimed = fault.when is None or await wait_for(fault.when, timeout=aim_timeout)
        killed_at = time.monotonic()
        if fault.blocking:
            await asyncio.to_thread(fault.kill)
        else:
            fault.kill()
        caught = aimed and (fault.confirm is None or await fault.confirm())
        if caught or not aimed or attempt == fault.tries:
            break
        await asyncio.to_thread(fault.restart)  # the moment passed before the kill landed: try again
    in_doubt = await fault.in_doubt() if fault.in_doubt is not None else frozenset()
    backlog = {c.recipient for c in concerns if c.acked_at is not None and c.acked_at < killed_at}
    backlog -= delivered_recipients(copies())
    backlog -= earlier or set()
    kill = Kill(
        fault.target,
        killed_at,
        backlog=len(backlog),
        detail=f"{fault.aim}{'' if caught else ' (aim missed)'}{f', attempt {attempt}' if attempt > 1 else ''}"
        + (f"; {len(in_doubt)} send(s) claimed and unrecorded" if fault.in_doubt is not None else ""),
        in_doubt=in_doubt,
    )
    await asyncio.sleep(fault.down_s)
    await asyncio.to_thread(fault.restart)
    kill.ready_at = time.monotonic()
    return kill, backlog


async def drained(kill: Kill, backlog: set[str], *, copies: Callable[[], list[Copy]], timeout: float) -> None:
    """Set `kill.drained_at` when every family of the backlog has its message (left unset after `timeout`)."""

    async def backlog_delivered() -> bool:
        return not (backlog - delivered_recipients(copies()))

    if await wait_for(backlog_delivered, timeout=timeout, interval=0.2):
        kill.drained_at = time.monotonic()


class Pacing(Protocol):
    gap_s: float
    """Load between a restart and the next kill."""
    tail_s: float
    """Load after the last restart."""
    drain_timeout: float
    final_timeout: float


async def under_load(
    faults: Sequence[Fault],
    *,
    driver: Driver,
    concerns: list[Concern],
    copies: Callable[[], list[Copy]],
    settled: Callable[[list[Concern]], Awaitable[bool]],
    pacing: Pacing,
    interval: float = 0.5,
    aim: Callable[[Fault], Awaitable[None]] | None = None,
) -> tuple[list[Kill], list[Concern]]:
    """Send the load while each fault is injected in turn (`aim` may re-aim one just before), watch each kill's
    backlog drain, end the load, and wait until everything sent has `settled`. Returns the kills and the concerns
    sent, for ledger.check."""
    stop = asyncio.Event()
    load = asyncio.create_task(driver.run(concerns, stop))
    kills: list[Kill] = []
    watching = []
    owed: set[str] = set()
    for fault in faults:
        await asyncio.sleep(pacing.gap_s)
        if aim is not None:
            await aim(fault)
        kill, backlog = await inject(fault, concerns=concerns, copies=copies, earlier=owed)
        owed |= backlog
        if load.done():
            kill.detail += "; after the load ended"
        kills.append(kill)
        watching.append(asyncio.create_task(drained(kill, backlog, copies=copies, timeout=pacing.drain_timeout)))
    await asyncio.sleep(pacing.tail_s)
    stop.set()
    await load
    sent = [c for c in concerns if c.attempts]
    await wait_for(lambda: settled(sent), timeout=pacing.final_timeout, interval=interval)
    await asyncio.sleep(1.0)  # a late duplicate (a redelivery, a second send) gets the chance to show itself
    for task in watching:
        task.cancel()
    return kills, sent
