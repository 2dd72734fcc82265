"""Database helpers: one metadata per service with a shared naming convention, an async engine tuned for
SQLite or PostgreSQL, and the unit of work (one transaction per use case, committed in one place)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapper, registry
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from . import clock
from .checkpoint import AUTOCHECKPOINT_PAGES, WalCheckpointer
from .driver import prebind, run_inline
from .pool import checked_at_checkout

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A new row id: a random UUID as text."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The time now (tas_common.clock: tests and `tas demo-data` may set it for the code they run)."""
    return clock.now()


def _as_utc(target: object, *_: object) -> None:
    """SQLite stores timestamps without their zone; TAS writes only UTC, so loaded naive values are UTC."""
    mapper = getattr(type(target), "__mapper__", None)
    if mapper is None:
        return
    for column in mapper.columns:
        if isinstance(column.type, DateTime) and column.key in target.__dict__:
            value = target.__dict__[column.key]
            if isinstance(value, datetime) and value.tzinfo is None:
                set_committed_value(target, column.key, value.replace(tzinfo=UTC))


event.listen(Mapper, "load", _as_utc)
event.listen(Mapper, "refresh", _as_utc)


def make_registry() -> registry:
    """Each service declares `class Table(SQLModel, registry=make_registry())` so that its metadata holds only
    its own tables plus the shared infrastructure tables (see tas_common.tables.attach_infra)."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def create_engine(url: str, *, echo: bool = False, wal_autocheckpoint: int | None = None) -> AsyncEngine:
    """`hide_parameters`: a database error's message (logged, or in a traceback) never carries the bound values,
    which are often a child's or a family's data. `wal_autocheckpoint`: SQLite's automatic checkpoint, in pages
    (checkpoint.py; SQLite's default, 1,000, when None)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        from .sqlite_inline import connect

        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30, "async_creator_fn": connect}
        )
        _tune_sqlite(engine, wal_autocheckpoint)
        return engine
    if parsed.get_driver_name() == "asyncpg":  # alive-checks at checkout without a round trip each (pool.py)
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=10, pool_use_lifo=True
        )
        checked_at_checkout(engine)
        return engine
    return create_async_engine(url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True)


READ_ONLY = "tas_read_only"
_UNIT = "tas_unit"
EVENTS_WRITTEN = "tas_events_written"


def _tune_sqlite(engine: AsyncEngine, wal_autocheckpoint: int | None = None) -> None:
    """WAL for concurrent readers, synchronous=FULL so an acknowledged write survives power loss, and BEGIN
    IMMEDIATE so that two writers queue on the busy timeout instead of failing with 'database is locked'."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if wal_autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # A reader (Database.reader) takes a snapshot without the write lock: WAL lets it run beside the writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    _inline_savepoints(engine.sync_engine.dialect)


def _inline_savepoints(dialect: Dialect) -> None:
    """SQLAlchemy compiles every SAVEPOINT, RELEASE and ROLLBACK TO anew (each savepoint has a new name), through a
    full execution context: ~25% of a group-committed unit of work's CPU (bench/NOTES.md, issue 18). On the
    connection that holds the write lock they run on the sqlite3 connection directly (driver.run_inline); else as
    before. The engine's listeners still see them."""
    for method, verb in (
        ("do_savepoint", "SAVEPOINT"),
        ("do_release_savepoint", "RELEASE SAVEPOINT"),
        ("do_rollback_to_savepoint", "ROLLBACK TO SAVEPOINT"),
    ):
        fallback = getattr(dialect, method)

        def run(connection: Connection, name: str, verb: str = verb, fallback: Callable[..., None] = fallback) -> None:
            if not run_inline(connection, f"{verb} {name}"):
                fallback(connection, name)

        setattr(dialect, method, run)


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
        try:
            if self.connection is None:
                self.connection = await self.db.engine.connect()
            if not self.connection.in_transaction():
                await self.connection.begin()
            async with self._session(self.connection) as session:
                yield session
            done = asyncio.get_running_loop().create_future()
            self.group.append(done)
            if self.queued == 0 or len(self.group) >= self.max_group:
                await asyncio.shield(asyncio.ensure_future(self._commit()))
        except BaseException:
            # This unit is rolled back to its savepoint. With no one else's work open, drop the transaction; if
            # others' work is open and nobody is queued to commit it, commit it now.
            if self.group and (self.queued == 0 or done is not None or self.broken):
                await asyncio.shield(asyncio.ensure_future(self._commit()))
            elif not self.group and self.connection is not None and self.connection.in_transaction():
                await asyncio.shield(asyncio.ensure_future(self._rollback()))
            raise
        finally:
            self.lock.release()
        await asyncio.shield(done)

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
            async with session:
                yield session
                if session.in_transaction():
                    await session.commit()
        except BaseException:
            if grouped and not (
                run_inline(sync, f"ROLLBACK TO SAVEPOINT {_UNIT}") and run_inline(sync, f"RELEASE SAVEPOINT {_UNIT}")
            ):
                self.broken = True  # the transaction is gone (SQLite rolled it back): nobody's work may be confirmed
            raise
        if grouped and not run_inline(sync, f"RELEASE SAVEPOINT {_UNIT}"):
            self.broken = True
            raise RuntimeError("the group commit's transaction was lost")

    async def _commit(self) -> None:
        group, self.group = self.group, []
        try:
            assert self.connection is not None
            if self.broken:
                raise RuntimeError("the group commit's transaction was lost before its COMMIT")
            await self.connection.commit()
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


class Database:
    """Owns the engine. `transaction()` is the unit of work: it commits once, then runs after-commit hooks
    (for example waking the outbox relay). On a SQLite file, units of work are group-committed (GroupCommit)."""

    def __init__(self, url: str, *, group_commit: bool = True, wal_checkpointer: bool = False) -> None:
        """`wal_checkpointer`: on a SQLite file, checkpoint the log in the background (`self.checkpointer`, whose
        `run` the owner starts: the service runtime) instead of in the commits of requests (checkpoint.py)."""
        self.url = url
        database = make_url(url).database
        on_file = make_url(url).get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
        self.checkpointer = WalCheckpointer(database) if wal_checkpointer and on_file and database else None
        self.engine = create_engine(url, wal_autocheckpoint=AUTOCHECKPOINT_PAGES if self.checkpointer else None)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), class_=AsyncSession, expire_on_commit=False
        )
        self._after_commit: list[tuple[Callable[[], None], str | None]] = []
        if self.checkpointer is not None:
            self.on_commit(self.checkpointer.poke)
        self.group_commit: GroupCommit | None = None
        if group_commit and self.dialect == "sqlite" and database not in (None, "", ":memory:"):
            self.group_commit = GroupCommit(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_commit(self, hook: Callable[[], None], *, when: str | None = None) -> None:
        """Run `hook` after each unit of work commits; with `when`, only after units whose session set
        `session.info[when]` (e.g. EVENTS_WRITTEN), so that a worker is not woken by commits irrelevant to it."""
        self._after_commit.append((hook, when))

    def on_events_committed(self, hook: Callable[[], None]) -> None:
        """After units of work that wrote outbox events (flag set by tas_common.outbox): the relay is not woken by
        the many commits that publish nothing (audited reads, its own marks)."""
        self.on_commit(hook, when=EVENTS_WRITTEN)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self.group_commit is not None:
            async with self.group_commit.unit() as session:
                yield session
        else:
            async with self.sessions() as session:
                yield session
                if session.in_transaction():  # anything the unit did through the session began its transaction
                    await session.commit()
        for hook, when in self._after_commit:
            if when is None or session.info.get(when):
                hook()

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only (anything it writes is never committed); it does not queue for the writer."""
        async with self.read_sessions() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self.group_commit is not None:
            await self.group_commit.close()
        await self.engine.dispose()


UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
"""PostgreSQL shutting down (admin, crash), starting up, too many connections; class 08 is any connection error."""


def database_unavailable(exc: BaseException) -> bool:
    """Whether the exception, or one it was raised from, says the database cannot be reached just now: a
    connection refused or reset, PostgreSQL restarting, a connection the pool had to invalidate, or the pool's
    wait timing out. A programming error (a missing table, a constraint) is not one."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, ConnectionError | sqlalchemy.exc.TimeoutError):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        sqlstate = str(getattr(error, "sqlstate", None) or getattr(error, "pgcode", None) or "")
        if sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES:
            return True
        orig = getattr(error, "orig", None)
        pending.extend([error.__cause__, error.__context__, orig if isinstance(orig, BaseException) else None])
    return False
