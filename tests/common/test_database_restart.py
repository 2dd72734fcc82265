"""PostgreSQL ending a session under a statement on the driver's cursor (tas_common/driver.py), as a restart or a
failover does: the error must say the database is unreachable (a 503 to retry; notify's outcome waits for it), not
look like a bug (a 500). `make rehearsal`'s `pg_ctl restart -m fast` got one intake a 500 this way: asyncpg's
"the underlying connection is closed" carries no SQLSTATE, and the driver did not ask the dialect whether the
connection was gone. PostgreSQL only (the PostgreSQL pass of `make test-all`): SQLite has no server to end a
session."""

from __future__ import annotations

import pytest
from sqlalchemy import literal_column, select, text
from sqlalchemy.exc import DBAPIError

from tas_common.db import Database, database_unavailable
from tas_common.driver import DriverStatement

from ..conftest import ON_POSTGRES

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
