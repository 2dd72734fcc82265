"""A service's SQLite log is checkpointed in the background (tas_common/checkpoint.py), not in the commits of its
requests: the connections' automatic checkpoint is moved far out only while the checkpointer is configured, and the
checkpointer copies every committed page into the file after commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from tas_common.checkpoint import AUTOCHECKPOINT_PAGES
from tas_common.db import Database

from ..conftest import eventually


async def autocheckpoint(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def test_the_checkpointer_checkpoints_after_commits_and_stops(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    plain = Database(url)
    assert plain.checkpointer is None and await autocheckpoint(plain) == 1000  # SQLite's own, unchanged
    await plain.dispose()
    db = Database(url, wal_checkpointer=True)
    assert db.checkpointer is not None and await autocheckpoint(db) == AUTOCHECKPOINT_PAGES
    stopping = asyncio.Event()
    task = asyncio.create_task(db.checkpointer.run(stopping))
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        for n in range(30):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": "x" * 2000 * n})

        async def all_checkpointed() -> bool:
            last = db.checkpointer.last if db.checkpointer else None
            return last is not None and last[1] > 30 and last[1] == last[2]  # every page of the log in the file

        await eventually(all_checkpointed, what="the log checkpointed after the commits")
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)
        await db.dispose()
    assert await asyncio.to_thread(rows, tmp_path / "c.db") == 30


def rows(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])


def test_a_database_in_memory_or_on_postgresql_has_no_checkpointer() -> None:
    assert Database("sqlite+aiosqlite:///:memory:", wal_checkpointer=True).checkpointer is None
    assert Database("postgresql+asyncpg://u:p@127.0.0.1:1/x", wal_checkpointer=True).checkpointer is None


async def test_a_checkpoint_that_fails_is_logged_and_the_checkpointer_goes_on(tmp_path: Path, caplog) -> None:
    """A database the checkpointer cannot open (here: its directory is gone) costs a warning per try, never the
    service: the task keeps running, tries again after the next commit, and stops when asked."""
    from tas_common.checkpoint import WalCheckpointer

    checkpointer = WalCheckpointer(str(tmp_path / "missing" / "c.db"), delay_seconds=0.01)
    stopping = asyncio.Event()
    task = asyncio.create_task(checkpointer.run(stopping))
    try:
        for expected in (1, 2):
            checkpointer.poke()

            async def warned(n: int = expected) -> bool:
                return sum(r.getMessage() == "WAL checkpoint failed" for r in caplog.records) >= n

            await eventually(warned, what=f"failed checkpoint {expected} logged")
            assert not task.done()
        assert checkpointer.last is None
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)
