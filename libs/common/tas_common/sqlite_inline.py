"""An aiosqlite connection that runs statements which cannot wait on the event loop's own thread.

aiosqlite sends every call (cursor(), execute, each fetch, cursor close) to the connection's worker thread and
wakes the event loop when it is done: four or more thread hand-offs per statement, each costing more CPU than
the statement itself (profile of the e2e pipeline: about half the services' CPU). A statement can only *wait*
(busy timeout, fsync) when it takes or gives up a lock, so:

- BEGIN, COMMIT, ROLLBACK, PRAGMA, connect and close still run on the worker thread (the COMMIT's fsync, the
  busy wait for the write lock and WAL checkpoints never block the event loop);
- SELECT runs inline (WAL: readers take no lock that a writer holds);
- INSERT / UPDATE / DELETE / SAVEPOINT / RELEASE run inline only on a connection that holds the write lock
  (its transaction began with BEGIN IMMEDIATE, see db._tune_sqlite), where they cannot wait for anyone; else on
  the thread;
- fetches and cursor() / cursor close run inline (they only compute).

Calls on one connection never overlap (SQLAlchemy awaits each), so the connection is used by one thread at a
time; it is opened with check_same_thread=False for that reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite

_READ = ("SELECT",)
_WRITE = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "RELEASE", "SELECT", "WITH")
_COMPUTE = frozenset({"fetchone", "fetchall", "fetchmany", "cursor"})


class InlineConnection(aiosqlite.Connection):
    _write_locked = False
    _busy_timeout: int | None = None
    """ms; read from the connection the first time `begin_immediate` needs it."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "")
        conn = self._connection
        if self._running and conn is not None:
            if name in ("execute", "executemany") and args and isinstance(args[0], str):
                head = args[0].lstrip()[:10].upper()
                if head.startswith(_READ) or (self._write_locked and conn.in_transaction and head.startswith(_WRITE)):
                    return fn(*args, **kwargs)
                result = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
                if head.startswith("BEGIN"):
                    mode = args[0].upper()
                    self._write_locked = "IMMEDIATE" in mode or "EXCLUSIVE" in mode
                else:
                    self._sync_lock_state()
                return result
            if name in _COMPUTE or (name == "close" and isinstance(getattr(fn, "__self__", None), sqlite3.Cursor)):
                return fn(*args, **kwargs)
        result = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        self._sync_lock_state()
        return result

    def _sync_lock_state(self) -> None:
        try:
            if self._connection is None or not self._connection.in_transaction:
                self._write_locked = False
        except sqlite3.ProgrammingError:  # closed
            self._write_locked = False


def in_transaction(driver_connection: Any) -> bool | None:
    """Whether the sqlite3 connection under `driver_connection` (an InlineConnection) has a transaction open; None
    when it is not one, or is closed."""
    if not isinstance(driver_connection, InlineConnection) or not driver_connection._running:
        return None
    raw = driver_connection._connection
    try:
        return None if raw is None else raw.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return None


async def begin_immediate(connection: InlineConnection) -> None:
    """BEGIN IMMEDIATE. Tried inline first with no busy timeout: when no other connection holds the write lock it
    cannot wait, and takes a few microseconds instead of a thread hand-off. If the lock is busy (another process
    writes, a checkpoint), on the connection's thread with the connection's busy timeout, as before."""
    raw = connection._connection
    if connection._running and raw is not None:
        if connection._busy_timeout is None:
            connection._busy_timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
        raw.execute("PRAGMA busy_timeout=0").close()
        try:
            raw.execute("BEGIN IMMEDIATE").close()
            connection._write_locked = True
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
        finally:
            raw.execute(f"PRAGMA busy_timeout={connection._busy_timeout}").close()
    cursor = await connection._execute(connection._conn.execute, "BEGIN IMMEDIATE")
    cursor.close()


def connect(database: str, **kwargs: Any) -> InlineConnection:
    """`async_creator_fn` for SQLAlchemy's aiosqlite dialect."""
    kwargs["check_same_thread"] = False
    connection = InlineConnection(lambda: sqlite3.connect(database, **kwargs), 64)
    connection._thread.daemon = True
    return connection
