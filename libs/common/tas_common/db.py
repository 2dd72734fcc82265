"""Database helpers: one metadata per service with a shared naming convention, an async engine tuned for
SQLite or PostgreSQL, and the unit of work (one transaction per use case, committed in one place)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapper, registry
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

from . import clock
from .checkpoint import AUTOCHECKPOINT_PAGES, WalCheckpointer
from .driver import in_transaction, run_inline
from .group_commit import GroupCommit, SqliteReaders
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
        # Up to 20 connections, each kept once opened: with an overflow beyond a smaller pool, every check-in past the
        # pool's size closed a connection that the next burst opened again (a new server process each time).
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, pool_size=20, max_overflow=0, pool_use_lifo=True
        )
        checked_at_checkout(engine)
        return engine
    return create_async_engine(url, echo=echo, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True)


READ_ONLY = "tas_read_only"
EVENTS_WRITTEN = "tas_events_written"


def _tune_sqlite(engine: AsyncEngine, wal_autocheckpoint: int | None = None) -> None:
    """WAL for concurrent readers, synchronous=FULL so an acknowledged write survives power loss, and BEGIN
    IMMEDIATE so that two writers queue on the busy timeout instead of failing with 'database is locked'.
    temp_store=MEMORY keeps a SAVEPOINT's rollback journal in memory: on disk SQLite spilled it to a new temporary
    file past 64 KiB (created, unlinked, written a page at a time), which most grouped units did (bench/NOTES.md).
    Durability does not depend on it: that journal only serves ROLLBACK TO within a live connection."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        if wal_autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if in_transaction(conn):  # begun on the driver's connection already (GroupCommit): nothing to emit
            return
        # A reader (Database.reader) takes a snapshot without the write lock: WAL lets it run beside the writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    _inline_savepoints(engine.sync_engine.dialect)
    _skip_empty_ends(engine.sync_engine.dialect)


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


def _skip_empty_ends(dialect: Dialect) -> None:
    """A COMMIT or ROLLBACK with no transaction open on the sqlite3 connection does nothing (sqlite3 says so), but
    through aiosqlite it still costs a thread hand-off: skip it. GroupCommit commits on the driver's connection
    itself and then ends SQLAlchemy's transaction, whose COMMIT then finds nothing open (and needs no greenlet)."""
    for method in ("do_commit", "do_rollback"):
        fallback = getattr(dialect, method)

        def end(dbapi_connection: Any, fallback: Callable[[Any], None] = fallback) -> None:
            if in_transaction(dbapi_connection) is False:
                return
            fallback(dbapi_connection)

        setattr(dialect, method, end)


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
        self._readers = SqliteReaders(self.engine) if on_file else None

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
        if self._readers is not None:
            async with self._readers.snapshot() as session:
                yield session
            return
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
        if self._readers is not None:
            await self._readers.close()
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
