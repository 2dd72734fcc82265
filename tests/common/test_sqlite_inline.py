"""SQLite statements that cannot wait run on the event loop's thread (tas_common.sqlite_inline); those that can
wait (BEGIN IMMEDIATE behind another writer's lock, COMMIT's fsync) still run on the connection's thread, so a
writer waiting for the lock never stalls the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, insert, select, text

from tas_common.db import Database
from tas_common.driver import DriverStatement
from tas_common.tables import processed_event


async def migrated(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "inline.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.engine.begin() as conn:
        await conn.run_sync(processed_event.metadata.create_all, tables=[processed_event])
    return db, path


def row(n: int) -> dict[str, object]:
    return {"consumer": "c", "event_id": f"e{n}", "event_type": "t", "processed_at": datetime.now(UTC)}


async def test_a_writer_waiting_for_the_lock_leaves_the_event_loop_running(tmp_path: Path) -> None:
    db, path = await migrated(tmp_path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute(
        "INSERT INTO processed_event (consumer, event_id, event_type, processed_at) "
        "VALUES ('c', 'other', 't', '2026-01-01 00:00:00')"
    )

    async def write() -> None:
        async with db.transaction() as session:
            await session.execute(insert(processed_event).values(row(1)))

    writer = asyncio.create_task(write())
    await asyncio.sleep(0.05)  # the writer is now in BEGIN IMMEDIATE's busy wait
    assert not writer.done()
    # Only a running event loop gets here and releases the lock: were the busy wait inline, the writer would
    # time out (30 s) before this line ran.
    async with db.reader() as session:
        assert (await session.execute(select(processed_event.c.event_id))).all() == []
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, timeout=20)
    async with db.reader() as session:
        ids = {r[0] for r in (await session.execute(select(processed_event.c.event_id))).all()}
    assert ids == {"other", "e1"}
    # BEGIN IMMEDIATE is tried inline without a busy timeout first: the writer keeps its own afterwards.
    assert db.group_commit is not None and db.group_commit.connection is not None
    async with db.transaction() as session:
        await session.execute(insert(processed_event).values(row(2)))
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar_one() == 30000
    await db.dispose()


async def test_reads_and_writes_under_the_write_lock_run_on_the_event_loop_thread(tmp_path: Path) -> None:
    db, path = await migrated(tmp_path)
    await db.engine.dispose()  # new connections, with the function below

    @event.listens_for(db.engine.sync_engine, "connect")
    def _thread_function(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.create_function("thread_id", 0, lambda: str(threading.get_ident()))

    loop_thread = str(threading.get_ident())
    async with db.reader() as session:
        assert (await session.execute(text("SELECT thread_id()"))).scalar_one() == loop_thread
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO processed_event (consumer, event_id, event_type, processed_at) "
                "VALUES ('c', thread_id(), 't', '2026-01-01 00:00:00')"
            )
        )
    with sqlite3.connect(path) as conn:  # committed (on the connection's own thread), and written inline
        assert conn.execute("SELECT event_id FROM processed_event").fetchall() == [(loop_thread,)]
    await db.dispose()


SEEN = DriverStatement(select(processed_event.c.event_id))


async def seen_ids(session) -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in await SEEN.all(session)}


async def test_a_read_is_a_snapshot_begun_and_ended_on_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader's deferred BEGIN and its ROLLBACK run on the sqlite3 connection itself (no hand-off to aiosqlite's
    thread): it sees what was committed when it began, not what commits while it reads, nothing a writer has open,
    and anything it writes is never committed; it leaves no transaction open, so a checkpoint can take the whole
    log at once."""
    db, path = await migrated(tmp_path)
    async with db.transaction() as session:
        await session.execute(insert(processed_event).values(row(1)))
    async with db.reader() as reader:  # a first read connects (on the thread): the next ones are counted
        assert await seen_ids(reader) == {"e1"}
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
    handed_off: list[str] = []
    to_thread = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed_off.append(getattr(fn, "__name__", "?"))
        return await to_thread(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    async with db.reader() as reader:
        assert await seen_ids(reader) == {"e1"}
        assert handed_off == []
        async with db.transaction() as session:  # a write committed while the read is open
            await session.execute(insert(processed_event).values(row(2)))
        assert await seen_ids(reader) == {"e1"}  # the snapshot holds
    assert statements.count("BEGIN") == 1 and statements[0] == "BEGIN"
    async with db.reader() as reader:
        assert await seen_ids(reader) == {"e1", "e2"}
        # through the ORM too, on the same snapshot
        assert set((await reader.execute(select(processed_event.c.event_id))).scalars()) == {"e1", "e2"}
        await reader.execute(insert(processed_event).values(row(3)))  # never committed
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # 0: nobody held it back
        assert {r[0] for r in other.execute("SELECT event_id FROM processed_event")} == {"e1", "e2"}
    await db.dispose()


async def test_readers_side_by_side_each_have_a_connection_and_a_few_are_kept(tmp_path: Path) -> None:
    db, _ = await migrated(tmp_path)
    async with db.transaction() as session:
        await session.execute(insert(processed_event).values(row(1)))
    inside = 0
    most = 0

    async def read() -> set[str]:
        nonlocal inside, most
        async with db.reader() as reader:
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            found = await seen_ids(reader)
            inside -= 1
            return found

    results = await asyncio.gather(*(read() for _ in range(10)))
    assert most == 10 and all(r == {"e1"} for r in results)
    assert db._readers is not None and 0 < len(db._readers.idle) <= db._readers.keep
    kept = list(db._readers.idle)
    with contextlib.suppress(LookupError):
        async with db.reader():
            raise LookupError("a read that fails still gives its connection back clean")
    assert sorted(map(id, db._readers.idle)) == sorted(map(id, kept))
    for connection in db._readers.idle:
        assert not connection.in_transaction()
        assert not connection.sync_connection.connection.driver_connection._connection.in_transaction  # type: ignore[union-attr]
    await db.dispose()
