"""Recording the dispatcher's outcomes: each as soon as it is known, those given while a record is being written
together in ONE transaction (so a batch of sends costs one BEGIN … COMMIT on PostgreSQL, not one a message).

An outcome is the exactly-once point of a family message (docs/notify.md): once its provider has answered, a row
left unrecorded is taken over when its lease ends and sent again. So `Recorder.record` returns only when the outcome
is recorded or given up, and the sender keeps the row's lease renewed until then; while the database cannot be
reached (a PostgreSQL restart, a failover) an outcome waits for it, up to RECORD_PATIENCE_SECONDS from when it was
given; any other error is tried RECORD_TRIES times, each outcome of a failed group on its own, so that one outcome's
fault never holds back the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import Database, database_unavailable
from tas_common.tracing import current_traceparent

log = logging.getLogger("tas.notify.dispatch")
RECORD_TRIES = 3
"""Tries to record an outcome that fails for any reason but an unreachable database."""
RECORD_PATIENCE_SECONDS = 120.0
"""How long an outcome waits for a database that cannot be reached before the row is left to be taken over."""


class _HasRow(Protocol):
    @property
    def n(self) -> _Identified: ...


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasRow)


@dataclass(slots=True)
class Waiting(Generic[T]):
    """An outcome waiting to be recorded, and what its sender awaits."""

    item: T
    done: asyncio.Future[None]
    patience_ends: float
    """When it stops waiting for a database that cannot be reached (monotonic)."""
    traceparent: str | None
    """The trace of its send: the events it records join it."""


class Recorder(Generic[T]):
    """Records outcomes with `apply` (given a session and a group of them), a group per transaction, one group at
    a time: what is given while a group is written is the next group."""

    def __init__(self, db: Database, apply: Callable[[AsyncSession, Sequence[Waiting[T]]], Awaitable[None]]) -> None:
        self.db, self.apply = db, apply
        self.waiting: list[Waiting[T]] = []
        self.task: asyncio.Task[None] | None = None

    async def record(self, item: T) -> None:
        waiting = Waiting(
            item,
            asyncio.get_running_loop().create_future(),
            time.monotonic() + RECORD_PATIENCE_SECONDS,
            current_traceparent(),
        )
        self.waiting.append(waiting)
        if self.task is None:
            self.task = asyncio.create_task(self._run())
        await asyncio.shield(waiting.done)  # a cancelled sender's outcome is still recorded

    async def _run(self) -> None:
        group: list[Waiting[T]] = []
        try:
            while self.waiting:
                group, self.waiting = self.waiting, []
                await self._record(group)
        finally:
            self.task = None
            for waiting in group + self.waiting:  # only when this task is cancelled: left to the take-over
                _release(waiting)
            self.waiting = []

    async def _record(self, group: list[Waiting[T]]) -> None:
        tries, pause = 0, 0.2
        while group:
            try:
                async with self.db.transaction() as session:
                    await self.apply(session, group)
            except Exception as exc:
                unavailable = database_unavailable(exc)
                if not unavailable and len(group) > 1:
                    for waiting in group:
                        await self._record([waiting])
                    return
                tries += 1
                now, left = time.monotonic(), []
                for waiting in group:
                    if (unavailable and now < waiting.patience_ends) or tries < RECORD_TRIES:
                        left.append(waiting)
                        continue
                    log.error(
                        "recording a send failed",
                        extra={"notification_id": waiting.item.n.id, "error": type(exc).__name__},
                    )
                    _release(waiting)
                group = left
                if group:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 2.0)
                continue
            for waiting in group:
                _release(waiting)
            return


def _release(waiting: Waiting[T]) -> None:
    if not waiting.done.done():
        waiting.done.set_result(None)
