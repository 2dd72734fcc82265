"""A database outage between a provider's answer and its record (a PostgreSQL restart under `make rehearsal`
doubled an email this way): the outcome waits for the database instead of leaving the row to be taken over and
sent again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy.exc

from notify.domain.dispatch import RECORD_TRIES, Dispatcher
from notify.providers.smtp import SmtpProvider
from tas_common.db import Database, utcnow

from .helpers import rows
from .test_dispatch import queue_messages

DAYTIME = {"quiet_hours_start": 0, "quiet_hours_end": 0}
"""No quiet hours: the test passes at any time of day."""


class Restarting:
    """The notify database as its client sees a PostgreSQL restart: for the next `down` transactions the
    connection is gone (the error asyncpg raises through SQLAlchemy, which marks the connection invalidated); then
    it is back. Everything else is the real database."""

    def __init__(self, db: Database) -> None:
        self.db, self.down, self.refused = db, 0, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        if self.down:
            self.down -= 1
            self.refused += 1
            raise sqlalchemy.exc.DBAPIError(
                "COMMIT", None, ConnectionResetError("connection lost"), connection_invalidated=True
            )
        async with self.db.transaction() as session:
            yield session


class OutageAfterSend:
    """Wraps a real provider: the message is handed over, and at that instant the database goes away."""

    def __init__(self, inner: SmtpProvider, database: Restarting, *, transactions: int) -> None:
        self.inner, self.name, self.channel = inner, inner.name, inner.channel
        self.database, self.transactions = database, transactions

    async def send(self, notification):
        accepted = await self.inner.send(notification)
        self.database.down = self.transactions
        return accepted


async def test_an_email_sent_while_the_database_restarts_is_recorded_once_it_is_back_and_never_sent_again(
    db, make_settings, smtp
):
    settings = make_settings(send_lease_seconds=60, **DAYTIME)
    (nid,) = await queue_messages(db, settings, channel="email")
    restarting = Restarting(db)
    smtp_provider = SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>")
    provider = OutageAfterSend(smtp_provider, restarting, transactions=RECORD_TRIES + 1)
    dispatcher = Dispatcher(db=restarting, settings=settings, routes={"email": [provider]})  # type: ignore[arg-type]
    assert await dispatcher.dispatch_once() == 1
    assert restarting.refused == RECORD_TRIES + 1  # more failures than an ordinary error is given
    (n,) = await rows(db)
    assert n.status == "delivered" and dispatcher.working == set()
    # nothing is left for a successor to take over once the lease would have run out: one email, ever
    successor = Dispatcher(db=db, settings=settings, routes={"email": [smtp_provider]})
    assert await successor.recover(now=utcnow() + timedelta(seconds=61)) == 0
    assert [m["Message-ID"] for m in smtp.messages] == [f"<{nid}@tas.example.org>"]


async def test_an_outcome_that_fails_for_another_reason_is_left_to_the_take_over_after_its_tries(
    db, make_settings, smtp
):
    """Not every failure is waited for: one that is not the database being unreachable is tried RECORD_TRIES
    times, then the row is left `sending` under its lease, for the take-over (documented residual risk)."""
    settings = make_settings(send_lease_seconds=60, **DAYTIME)
    await queue_messages(db, settings, channel="email")

    class Broken(Restarting):
        @asynccontextmanager
        async def transaction(self) -> AsyncIterator[Any]:
            if self.down:
                self.down -= 1
                self.refused += 1
                raise sqlalchemy.exc.IntegrityError("UPDATE notification", None, ValueError("a constraint"))
            async with self.db.transaction() as session:
                yield session

    broken = Broken(db)
    smtp_provider = SmtpProvider(host=smtp.host, port=smtp.port, sender="TAS <no-reply@tas.example.org>")
    provider = OutageAfterSend(smtp_provider, broken, transactions=RECORD_TRIES + 5)
    dispatcher = Dispatcher(db=broken, settings=settings, routes={"email": [provider]})  # type: ignore[arg-type]
    assert await dispatcher.dispatch_once() == 1
    assert broken.refused == RECORD_TRIES
    (n,) = await rows(db)
    assert n.status == "sending"
