"""SQLite statements that cannot wait run on the event loop's thread (tas_common.sqlite_inline); those that can
wait (BEGIN IMMEDIATE behind another writer's lock, COMMIT's fsync) still run on the connection's thread, so a
writer waiting for the lock never stalls the event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, insert, select, text

from tas_common.db import Database
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
