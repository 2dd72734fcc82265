"""Group commit on SQLite: concurrent units of work share one COMMIT, each is durable when its transaction()
returns, and a unit that fails is rolled back alone."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import Database
from tas_common.errors import NotFound
from tas_common.tables import processed_event


async def migrated(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "gc.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.run_sync(processed_event.metadata.create_all, tables=[processed_event])
    return db, path


async def write(session: AsyncSession, event_id: str) -> None:
    """One unit's write: a processed_event row."""
    row = {"consumer": "c", "event_id": event_id, "event_type": "t", "processed_at": datetime.now(UTC)}
    await session.execute(insert(processed_event).values(**row))


def committed_ids(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT event_id FROM processed_event")}


async def test_concurrent_units_share_commits_and_are_durable_on_return(tmp_path: Path) -> None:
    db, path = await migrated(tmp_path)
    commits = []
    event.listen(db.engine.sync_engine, "commit", lambda conn: commits.append(1))

    async def unit(n: int) -> None:
        async with db.transaction() as session:
            await write(session, f"e{n}")
            await asyncio.sleep(0)
        assert f"e{n}" in committed_ids(path)  # visible to another connection once transaction() returns

    await asyncio.gather(*(unit(n) for n in range(50)))
    assert committed_ids(path) == {f"e{n}" for n in range(50)}
    assert 1 <= len(commits) < 50
    await db.dispose()


async def test_a_failing_unit_rolls_back_alone(tmp_path: Path) -> None:
    db, path = await migrated(tmp_path)

    async def unit(n: int) -> None:
        async with db.transaction() as session:
            await write(session, f"e{n}")
            if n % 3 == 0:
                raise NotFound("no such thing")

    results = await asyncio.gather(*(unit(n) for n in range(30)), return_exceptions=True)
    failed = {n for n, r in enumerate(results) if isinstance(r, NotFound)}
    assert failed == {n for n in range(30) if n % 3 == 0}
    assert committed_ids(path) == {f"e{n}" for n in range(30) if n % 3}
    async with db.transaction() as session:  # the writer is still usable afterwards
        assert len((await session.execute(select(processed_event.c.event_id))).all()) == 20
    await db.dispose()


async def test_a_unit_alone_commits_at_once(tmp_path: Path) -> None:
    db, path = await migrated(tmp_path)
    with pytest.raises(NotFound):
        async with db.transaction():
            raise NotFound("nothing written")
    async with db.transaction() as session:
        await write(session, "only")
    assert committed_ids(path) == {"only"}
    await db.dispose()


async def test_a_group_whose_transaction_was_lost_is_not_confirmed(tmp_path: Path) -> None:
    """SQLite may roll a whole transaction back by itself (disk full, I/O error): a unit that finds its savepoint
    gone fails, and the units before it in the same group are told so instead of being confirmed."""
    db, path = await migrated(tmp_path)

    async def unit(n: int) -> None:
        async with db.transaction() as session:
            await write(session, f"e{n}")
            if n == 2:
                raw = (await session.connection()).sync_connection.connection.driver_connection._connection
                raw.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL / SQLITE_IOERR
                raise NotFound("the disk is full")

    results = await asyncio.gather(*(unit(n) for n in range(3)), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert committed_ids(path) == set()
    await unit(9)  # the writer recovers
    assert committed_ids(path) == {"e9"}
    await db.dispose()
