"""Database helpers: one metadata per service with a shared naming convention, an async engine tuned for
SQLite or PostgreSQL, and the unit of work (one transaction per use case, committed in one place)."""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import AsyncIterator, Callable

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapper, registry
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
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
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine. `transaction()` is the unit of work: it commits once, then runs after-commit hooks
    (for example waking the outbox relay)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._after_commit: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_commit(self, hook: Callable[[], None]) -> None:
        self._after_commit.append(hook)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            async with session.begin():
                yield session
            for hook in self._after_commit:
                hook()

    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
