"""SQLite's units of work and reads (tas_common.db.Database.transaction / reader). Group commit: units of work share
one writer connection and one COMMIT (one fsync) per group, each acknowledged only after the COMMIT that covers it.
Readers: a snapshot on a kept connection, begun and ended on the sqlite3 connection itself."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from .driver import in_transaction, prebind, run_inline
from .sqlite_inline import InlineConnection, begin_immediate
from .sqlite_inline import in_transaction as _open_on_driver

if TYPE_CHECKING:
    from .db import Database

_UNIT = "tas_unit"


def _inline(connection: AsyncConnection) -> InlineConnection | None:
    """The open InlineConnection (sqlite_inline) under the group's connection, if it is one."""
    sync = connection.sync_connection
    aio = sync.connection.driver_connection if sync is not None else None
    return aio if isinstance(aio, InlineConnection) and _open_on_driver(aio) is not None else None


def _open(connection: AsyncConnection) -> bool:
    """SQLAlchemy's transaction, or one begun on the driver's connection only (a cancelled GroupCommit._begin)."""
    return connection.in_transaction() or bool(
        connection.sync_connection is not None and in_transaction(connection.sync_connection)
    )


class GroupCommit:
    """Group commit for SQLite: units of work run one after another on one writer connection, each inside its
    own SAVEPOINT of a shared transaction, and one COMMIT (one fsync, synchronous=FULL) makes a whole group
    durable. A unit's `transaction()` returns only after the COMMIT that covers it, so nothing is acknowledged
    before it is on disk; a unit that raises is rolled back to its savepoint and leaves the others alone.

    The unit that finds nobody queued behind it (or fills the group) commits; under no load every unit commits
    alone, as before. Queuing on an asyncio lock also replaces SQLite's busy-wait (sleeps of up to 100 ms
    between retries of BEGIN IMMEDIATE) with a fair FIFO queue, which is what kept the tail latency high."""

    def __init__(self, db: Database, *, max_group: int = 200) -> None:
        self.db = db
        self.max_group = max_group
        self.lock = asyncio.Lock()
        self.queued = 0
        self.connection: AsyncConnection | None = None
        self.group: list[asyncio.Future[None]] = []
        self.broken = False
        """A unit's savepoint could not be rolled back or released: the shared transaction is not what the units
        wrote, so the next COMMIT fails the whole group instead of confirming it."""
        self._background: set[asyncio.Future[None]] = set()

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        self.queued += 1
        try:
            await self.lock.acquire()
        except BaseException:
            self.queued -= 1
            self._commit_if_abandoned()
            raise
        self.queued -= 1
        done: asyncio.Future[None] | None = None
        ending: asyncio.Future[None] | None = None
        try:
            if self.connection is None:
                self.connection = await self.db.engine.connect()
            if not self.connection.in_transaction():
                await self._begin(self.connection)
            async with self._session(self.connection) as session:
                yield session
            done = asyncio.get_running_loop().create_future()
            self.group.append(done)
            if self.queued == 0 or len(self.group) >= self.max_group:
                ending = self._holding_lock(self._commit())
                await asyncio.shield(ending)
        except BaseException:
            # This unit is rolled back to its savepoint. With no one else's work open, drop the transaction; if
            # others' work is open and nobody is queued to commit it, commit it now.
            if ending is not None:
                pass  # cancelled while committing: the COMMIT goes on, and gives the lock back when it is done
            elif self.group and (self.queued == 0 or done is not None or self.broken):
                ending = self._holding_lock(self._commit())
                await asyncio.shield(ending)
            elif not self.group and self.connection is not None and _open(self.connection):
                ending = self._holding_lock(self._rollback())
                await asyncio.shield(ending)
            raise
        finally:
            if ending is None:
                self.lock.release()
        await asyncio.shield(done)

    def _holding_lock(self, ending: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        """Run the group's COMMIT (or ROLLBACK) as a task of its own that gives the writer's lock back when it is
        done: a unit cancelled while it waits (the caller went away) neither interrupts it nor lets the next unit
        begin before it has ended."""
        task = asyncio.ensure_future(ending)
        task.add_done_callback(lambda _: self.lock.release())
        return task

    @contextlib.asynccontextmanager
    async def _session(self, connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
        """The unit's session on the group's connection. A savepoint only protects others' open work: a unit alone
        in the transaction joins it directly (on failure the whole transaction, holding only this unit's work, is
        rolled back). A unit that joins a group runs in a SAVEPOINT emitted on the sqlite3 connection itself
        (driver.run_inline, a few microseconds); its session, if the unit uses the ORM at all, begins a savepoint of
        its own inside it. The session is not begun up front: statements run on the driver (tas_common.driver) use
        the unit's connection directly, so a unit that never touches the ORM costs no ORM transaction."""
        sync = connection.sync_connection
        assert sync is not None
        grouped = bool(self.group)
        if grouped and not run_inline(sync, f"SAVEPOINT {_UNIT}"):
            raise RuntimeError("the group commit's connection does not hold the write lock")
        session = AsyncSession(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint" if grouped else "rollback_only",
        )
        prebind(session, sync)
        try:
            try:
                yield session
                if session.in_transaction():
                    await session.commit()
            finally:
                if session.in_transaction():
                    await session.close()
                else:  # nothing open: closing does no I/O, so no greenlet (and no task, as `async with` makes)
                    session.sync_session.close()
        except BaseException:
            if grouped and not (
                run_inline(sync, f"ROLLBACK TO SAVEPOINT {_UNIT}") and run_inline(sync, f"RELEASE SAVEPOINT {_UNIT}")
            ):
                self.broken = True  # the transaction is gone (SQLite rolled it back): nobody's work may be confirmed
            raise
        if grouped and not run_inline(sync, f"RELEASE SAVEPOINT {_UNIT}"):
            self.broken = True
            raise RuntimeError("the group commit's transaction was lost")

    async def _begin(self, connection: AsyncConnection) -> None:
        """BEGIN IMMEDIATE on the sqlite3 connection's thread (it may wait for another writer's lock), then
        SQLAlchemy's transaction for it, which emits nothing more (`_on_begin` sees it open): no greenlet, no
        execution context. Engine listeners see the BEGIN statement and the transaction's begin, as before."""
        sync, aio = connection.sync_connection, _inline(connection)
        if aio is None or sync is None:
            await connection.begin()
            return
        if _open_on_driver(aio):  # a BEGIN whose unit was cancelled before this point: nothing of it was confirmed
            await aio.rollback()
        listeners = sync.dispatch.before_cursor_execute
        if listeners:
            listeners(sync, None, "BEGIN IMMEDIATE", (), None, False)
        try:
            await begin_immediate(aio)
        except sqlite3.Error as error:
            raise sqlalchemy.exc.DBAPIError.instance(
                "BEGIN IMMEDIATE", (), error, sqlite3.Error, hide_parameters=True, dialect=sync.dialect
            ) from error
        sync.begin()

    async def _end(self, connection: AsyncConnection) -> None:
        """COMMIT on the sqlite3 connection's thread (its fsync), then SQLAlchemy's transaction ends: its `commit`
        listeners run and the dialect's COMMIT finds nothing left to do (`_skip_empty_ends`). A transaction SQLite
        rolled back by itself (disk full, I/O error) is not reported committed."""
        sync, aio = connection.sync_connection, _inline(connection)
        if aio is None or sync is None:
            await connection.commit()
            return
        if not _open_on_driver(aio):
            raise RuntimeError("the group commit's transaction was lost before its COMMIT")
        try:
            await aio.commit()
        except sqlite3.Error as error:
            raise sqlalchemy.exc.DBAPIError.instance(
                "COMMIT", (), error, sqlite3.Error, hide_parameters=True, dialect=sync.dialect
            ) from error
        sync.commit()

    async def _commit(self) -> None:
        group, self.group = self.group, []
        try:
            assert self.connection is not None
            if self.broken:
                raise RuntimeError("the group commit's transaction was lost before its COMMIT")
            await self._end(self.connection)
        except BaseException as exc:
            await self._rollback(close=True)
            for future in group:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("commit interrupted"))
            return
        for future in group:
            if not future.done():
                future.set_result(None)

    async def _rollback(self, *, close: bool = False) -> None:
        self.broken = False
        connection = self.connection
        if connection is None:
            return
        try:
            await connection.rollback()
            aio = _inline(connection)
            if aio is not None and _open_on_driver(
                aio
            ):  # begun on the driver, SQLAlchemy's transaction not yet (a cancelled _begin)
                await aio.rollback()
        except Exception:
            close = True
        if close:
            self.connection = None
            with contextlib.suppress(Exception):
                await connection.close()

    def _commit_if_abandoned(self) -> None:
        """A queued unit was cancelled: if it was the one expected to commit the open group, commit it now."""
        if self.queued == 0 and self.group:
            task = asyncio.ensure_future(self._flush())
            self._background.add(task)  # a task nobody references may be collected before it runs
            task.add_done_callback(self._background.discard)

    async def _flush(self) -> None:
        async with self.lock:
            if self.group:
                await self._commit()

    async def close(self) -> None:
        async with self.lock:
            if self.group:
                await self._commit()
            if self.connection is not None:
                await self.connection.close()
                self.connection = None


class SqliteReaders:
    """`Database.reader()` on a SQLite file. A deferred BEGIN takes no lock and a read transaction's ROLLBACK gives
    back only its snapshot, so neither can wait: both run on the sqlite3 connection itself, and SQLAlchemy's
    transaction is begun and ended beside them without a statement of its own (`_on_begin`, `_skip_empty_ends`).
    The session is prebound to the connection, so a read that runs on the driver (tas_common.driver) costs no ORM
    transaction; one through the ORM joins the snapshot. Up to `keep` connections are kept between reads, so a
    read costs no pool checkout either. Before: two or three aiosqlite thread hand-offs, a pool checkout and
    check-in and three greenlet spawns per read (the outbox relay reads at every round)."""

    def __init__(self, engine: AsyncEngine, *, keep: int = 4) -> None:
        self.engine = engine
        self.keep = keep
        self.idle: list[AsyncConnection] = []

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        connection = self.idle.pop() if self.idle else await self.engine.connect()
        sync, aio = connection.sync_connection, _inline(connection)
        if sync is None or aio is None or aio._connection is None:  # not an InlineConnection: SQLAlchemy's own way
            await connection.close()
            async with AsyncSession(self.engine.execution_options(tas_read_only=True)) as session:
                yield session
            return
        raw = aio._connection
        try:
            listeners = sync.dispatch.before_cursor_execute
            if listeners:
                listeners(sync, None, "BEGIN", (), None, False)
            raw.execute("BEGIN").close()
            sync.begin()
            session = AsyncSession(bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only")
            prebind(session, sync)
            try:
                yield session
            finally:
                if session.in_transaction():
                    await session.close()
                else:
                    session.sync_session.close()
        finally:
            if self._end(connection, raw) and len(self.idle) < self.keep:
                self.idle.append(connection)
            else:
                await connection.close()

    @staticmethod
    def _end(connection: AsyncConnection, raw: sqlite3.Connection) -> bool:
        """Roll the snapshot back (inline: it waits for nobody) and end SQLAlchemy's transaction; whether the
        connection may be kept."""
        try:
            if raw.in_transaction:
                raw.rollback()
            sync = connection.sync_connection
            if sync is not None and sync.in_transaction():
                sync.rollback()  # the dialect's ROLLBACK finds nothing open: no I/O
            return not connection.invalidated
        except Exception:
            return False

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()
