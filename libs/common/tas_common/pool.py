"""Is a pooled PostgreSQL connection still alive? Asked at every checkout, without a round trip each time.

SQLAlchemy's `pool_pre_ping` asks the server at every checkout, i.e. before every transaction; on asyncpg that ping
is three round trips (BEGIN, an empty statement, ROLLBACK: the dialect wraps it in a transaction for pgbouncer's
transaction mode). Here the checkout asks the driver instead:

- a connection the server ended while it sat in the pool (a restart, a failover, `pg_terminate_backend`, an idle
  timeout) is already closed in asyncpg: PostgreSQL sends its FATAL message and closes the socket, and the event
  loop has seen that before the connection is handed out again. Found closed, it is replaced, and the whole pool's
  older connections with it (SQLAlchemy's InvalidatePoolError: what a failed pre-ping does);
- a connection idle for `IDLE_PING_SECONDS` or more is pinged as before (a peer that vanished without closing the
  socket, a NAT that forgot it), so only connections the load has not been using cost the round trips.

What is left is the same window the pre-ping has: a server that goes away between the checkout and a statement.
That statement fails as a disconnect (`connection_invalidated`, tas_common.db.database_unavailable): a 503 to
retry, a redelivered event, notify's outcome record waiting for the database. The pool is LIFO, so the connections
the load keeps busy stay busy (their prepared statements cached) and the others stay idle until they are needed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine

IDLE_PING_SECONDS = 5.0
_IDLE_SINCE = "tas_idle_since"


def checked_at_checkout(engine: AsyncEngine, *, idle_ping_seconds: float = IDLE_PING_SECONDS) -> None:
    """Install the checks on an asyncpg engine (create it without `pool_pre_ping`)."""
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if record.driver_connection.is_closed():
            raise exc.InvalidatePoolError("the server ended the connection while it was in the pool")
        if idle_since is None or time.monotonic() - idle_since < idle_ping_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:  # what the pre-ping catches (Dialect._do_ping_w_event)
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError("a connection idle in the pool did not answer a ping") from error
            raise
