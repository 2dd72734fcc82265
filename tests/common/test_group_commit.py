"""Group commit on SQLite: concurrent units of work share one COMMIT, each is durable when its transaction()
returns, and a unit that fails is rolled back alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import Database
from tas_common.driver import DriverStatement
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
            await asyncio.sleep(0)  # the others queue behind this unit: one group (the BEGIN may not yield)
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


NOW = datetime.now(UTC)
MARK = DriverStatement(insert(processed_event), columns=["consumer", "event_id", "event_type", "processed_at"])


def driver_connection(db: Database) -> sqlite3.Connection:
    """The sqlite3 connection under the group commit's writer."""
    assert db.group_commit is not None and db.group_commit.connection is not None
    sync = db.group_commit.connection.sync_connection
    assert sync is not None
    raw = getattr(sync.connection.driver_connection, "_connection", None)
    assert isinstance(raw, sqlite3.Connection)
    return raw


async def test_a_unit_on_the_driver_begins_and_commits_as_the_engine_sees_it(tmp_path: Path) -> None:
    """A unit that never touches the ORM is begun and committed on the sqlite3 connection itself; the engine's
    listeners still see its BEGIN, its transaction's begin and commit, and SQLAlchemy's connection ends the unit
    with no transaction open, as the database does."""
    db, path = await migrated(tmp_path)
    seen: list[str] = []
    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *args: seen.append(sql.split()[0]))
    event.listen(engine, "begin", lambda conn: seen.append("begin"))
    event.listen(engine, "commit", lambda conn: seen.append("commit"))
    for n in range(3):
        async with db.transaction() as session:
            await MARK.execute(session, {"consumer": "c", "event_id": f"e{n}", "event_type": "t", "processed_at": NOW})
            assert not session.in_transaction()  # no ORM transaction was begun
        assert committed_ids(path) == {f"e{i}" for i in range(n + 1)}
        assert db.group_commit is not None and db.group_commit.connection is not None
        assert not db.group_commit.connection.in_transaction()
        assert not driver_connection(db).in_transaction
    assert seen == ["BEGIN", "begin", "INSERT", "commit"] * 3
    await db.dispose()


async def test_a_unit_alone_whose_transaction_was_lost_is_not_confirmed(tmp_path: Path) -> None:
    """SQLite rolled the transaction back by itself and the unit did not notice: its COMMIT would commit nothing,
    so the unit is told it failed instead of being confirmed."""
    db, path = await migrated(tmp_path)

    async def unit() -> None:
        async with db.transaction() as session:
            await MARK.execute(session, {"consumer": "c", "event_id": "e1", "event_type": "t", "processed_at": NOW})
            driver_connection(db).execute("ROLLBACK")  # what SQLite does on SQLITE_FULL / SQLITE_IOERR

    with pytest.raises(RuntimeError, match="lost"):
        await unit()
    async with db.transaction() as session:  # the writer recovers
        await write(session, "e2")
    assert committed_ids(path) == {"e2"}
    await db.dispose()


async def test_a_unit_cancelled_anywhere_leaves_no_transaction_behind(tmp_path: Path) -> None:
    """Cancelled after any number of the event loop's turns (queued, in its BEGIN, in its work, committing): the
    writer is left with no transaction of its own (the write lock free for other processes) and the next unit
    commits; what a cancelled unit wrote is committed only if its COMMIT had begun."""
    db, path = await migrated(tmp_path)
    for turns in range(12):

        async def unit(name: str) -> None:
            async with db.transaction() as session:
                await write(session, name)
                await asyncio.sleep(0)

        task = asyncio.create_task(unit(f"cancelled{turns}"))
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await unit(f"after{turns}")
        assert f"after{turns}" in committed_ids(path)
        assert not driver_connection(db).in_transaction
        assert db.group_commit is not None and not db.group_commit.group
        with sqlite3.connect(path, timeout=0) as other:  # another process can take the write lock at once
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    await db.dispose()


def sqlite_temporary_files() -> list[str]:
    """The temporary files SQLite holds open in this process (it unlinks each as soon as it has created it)."""
    targets = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed while we look
            targets.append(os.readlink(fd))
    return [t for t in targets if "etilqs_" in t]


async def test_a_savepoints_rollback_journal_stays_in_memory(tmp_path: Path) -> None:
    """Every grouped unit runs in a SAVEPOINT, whose rollback journal SQLite spilled to a temporary file once it
    passed 64 KiB: a file created, unlinked and written a page at a time for most consumer units at 150 concerns/s
    (bench/NOTES.md, session 10). temp_store=MEMORY keeps it in memory; the WAL still makes each COMMIT durable."""
    db, _ = await migrated(tmp_path)
    async with db.transaction() as session:
        for n in range(400):
            row = {"consumer": "c", "event_id": f"e{n}", "event_type": "t" * 150, "processed_at": datetime.now(UTC)}
            await session.execute(insert(processed_event).values(**row))
    async with db.transaction() as session, session.begin_nested():
        await session.execute(update(processed_event).values(event_type="u" * 150))  # every page changed: ~80 KiB
        assert sqlite_temporary_files() == []
    await db.dispose()
