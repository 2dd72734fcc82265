"""PostgreSQL ending a session under a statement on the driver's cursor (tas_common/driver.py), as a restart or a
failover does: the error must say the database is unreachable (a 503 to retry; notify's outcome waits for it), not
look like a bug (a 500). `make rehearsal`'s `pg_ctl restart -m fast` got one intake a 500 this way: asyncpg's
"the underlying connection is closed" carries no SQLSTATE, and the driver did not ask the dialect whether the
connection was gone. PostgreSQL only (the PostgreSQL pass of `make test-all`): SQLite has no server to end a
session.

And a connection the server ended while it sat in the pool is never handed out: the pool no longer pings before
every transaction (tas_common/pool.py), so the driver's own knowledge that the socket closed has to keep the next
transactions from failing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import literal_column, select, text
from sqlalchemy.exc import DBAPIError

from tas_common.db import Database, database_unavailable
from tas_common.driver import DriverStatement

from ..conftest import ON_POSTGRES, eventually

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="a server that ends sessions: PostgreSQL only")

ONE = DriverStatement(select(literal_column("1")))


async def test_a_session_the_server_ends_mid_transaction_is_an_outage_not_a_bug(database_url: str) -> None:
    db = Database(database_url)
    admin = Database(database_url)  # the same role may end its own sessions

    async def ended_mid_transaction() -> None:
        async with db.transaction() as session:
            assert await ONE.all(session) == [(1,)]
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with admin.transaction() as other:  # what a restart does to every session
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await ONE.all(session)

    try:
        with pytest.raises(DBAPIError) as raised:
            await ended_mid_transaction()
        assert raised.value.connection_invalidated
        assert database_unavailable(raised.value)
        async with db.transaction() as session:  # the pool hands out a live connection afterwards
            assert await ONE.all(session) == [(1,)]
    finally:
        await db.dispose()
        await admin.dispose()


async def test_connections_the_server_ended_while_pooled_are_replaced_before_any_transaction_uses_them(
    database_url: str,
) -> None:
    db = Database(database_url)
    admin = Database(database_url)

    async def transactions_side_by_side(count: int) -> set[int]:
        """`count` transactions open at once, so each holds a pooled connection of its own: their backends' pids."""
        together = asyncio.Barrier(count)

        async def one() -> int:
            async with db.transaction() as session:
                pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                await together.wait()
                return pid

        return set(await asyncio.gather(*(one() for _ in range(count))))

    async def ended(pids: set[int]) -> bool:
        async with admin.reader() as session:
            alive = await session.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"), {"pids": list(pids)}
            )
            return alive.scalar_one() == 0

    try:
        pooled = await transactions_side_by_side(3)
        assert len(pooled) == 3
        async with admin.transaction() as other:  # what a restart or a failover does to every idle session
            for pid in pooled:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await eventually(lambda: ended(pooled), what="the pooled sessions to end")
        again = await transactions_side_by_side(3)  # none of them fails on a connection the server had closed
        assert len(again) == 3 and not again & pooled
    finally:
        await db.dispose()
        await admin.dispose()


async def test_a_burst_of_transactions_reuses_the_connections_it_opened_instead_of_starting_new_server_sessions(
    database_url: str,
) -> None:
    """Twenty transactions side by side, three times: the same twenty server sessions serve every burst. With a
    pool of ten and an overflow of ten, each check-in past ten closed its connection, and every burst started ten new
    server processes (a fork, authentication, a backend's start-up: most of the server's CPU of an intake request)."""
    db = Database(database_url)

    async def burst() -> set[int]:
        started = asyncio.Event()
        inside = 0

        async def one() -> int:
            nonlocal inside
            async with db.transaction() as session:
                inside += 1
                if inside == 20:
                    started.set()
                await asyncio.wait_for(started.wait(), timeout=10)  # all twenty hold a connection at once
                return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

        return set(await asyncio.gather(*(one() for _ in range(20))))

    try:
        first = await burst()
        assert len(first) == 20
        assert await burst() == first and await burst() == first
    finally:
        await db.dispose()
