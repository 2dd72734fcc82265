"""The audit chain detects an edited, a deleted and an appended-out-of-band row."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import MetaData, delete, event, func, select, update

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import Database
from tas_common.driver import DriverStatement
from tas_common.tables import attach_infra, audit_log

from ..conftest import ON_POSTGRES
from ..databases import with_tables

PRINCIPAL = Principal(sub="senco-1", org_id="school-100000", org_type=OrgType.school, roles=frozenset({"senco"}))


@pytest.fixture
async def db(database_url):
    metadata = MetaData()
    attach_infra(metadata)
    database = await with_tables(database_url, metadata)
    async with database.transaction() as session:
        for n in range(5):
            await audit.record(
                session,
                actor=PRINCIPAL if n % 2 else None,
                action="read",
                resource_type="child",
                resource_id=f"child-{n}",
                child_id=f"child-{n}",
            )
    yield database
    await database.dispose()


async def breaks(db):
    async with db.reader() as session:
        return await audit.verify_chain(session)


async def test_an_untouched_chain_verifies(db):
    assert await breaks(db) == []


async def test_an_edited_row_is_detected(db):
    async with db.transaction() as session:
        await session.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="someone-else"))
    found = await breaks(db)
    assert [b.seq for b in found] == [3] and "edited" in found[0].problem


async def test_a_deleted_row_is_detected(db):
    async with db.transaction() as session:
        await session.execute(delete(audit_log).where(audit_log.c.seq == 2))
    assert 3 in [b.seq for b in await breaks(db)]


async def test_a_rehashed_edit_still_breaks_the_next_link(db):
    """Someone who edits a row and recomputes its hash still breaks the following row's prev_hash."""
    async with db.transaction() as session:
        row = (await session.execute(audit_log.select().where(audit_log.c.seq == 2))).one()._asdict()
        row["reason"] = "covering tracks"
        await session.execute(
            update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(reason=row["reason"], hash=audit._digest(row["prev_hash"], row))
        )
    assert [b.seq for b in await breaks(db)] == [3]


async def _read(db, n: int, *, actor=PRINCIPAL) -> None:
    async with db.transaction() as session:
        await audit.record(
            session, actor=actor, action="read", resource_type="child", resource_id=f"c-{n}", child_id=f"c-{n}"
        )


async def _rows(db) -> int:
    async with db.reader() as session:
        return len((await session.execute(audit_log.select())).all())


class Boom(Exception):
    pass


async def test_a_unit_rolled_back_after_appending_leaves_the_next_append_on_the_real_head(db):
    """The process remembers the head it appended; the unit that appended it is rolled back (alone, and inside a
    group of concurrent units): later appends must link to the row before it, not to the rolled-back one."""

    async def appends_then_fails(n: int) -> None:
        async with db.transaction() as session:
            await audit.record(session, actor=None, action="read", resource_type="child", resource_id=f"x-{n}")
            raise Boom

    async def failing(n: int) -> None:
        with pytest.raises(Boom):
            await appends_then_fails(n)

    await failing(0)
    await _read(db, 100)
    await asyncio.gather(*(failing(n) if n % 3 == 0 else _read(db, n) for n in range(1, 30)))
    await _read(db, 101)
    assert await breaks(db) == []
    assert await _rows(db) == 5 + 1 + len([n for n in range(1, 30) if n % 3]) + 1


async def test_a_savepoint_rolled_back_inside_a_unit_does_not_fork_the_chain(db):

    async def appends_in_a_savepoint_then_fails(session) -> None:
        async with session.begin_nested():
            await audit.record(session, actor=None, action="read", resource_type="child", resource_id="gone")
            raise Boom

    async with db.transaction() as session:
        await audit.record(session, actor=None, action="read", resource_type="child", resource_id="kept-1")
        with pytest.raises(Boom):
            await appends_in_a_savepoint_then_fails(session)
        await audit.record(session, actor=None, action="read", resource_type="child", resource_id="kept-2")
    assert await breaks(db) == []
    assert await _rows(db) == 7


async def test_rows_appended_by_another_writer_are_linked_to(db, database_url):
    """Another process (the `tas` CLI, another replica: here another engine with its own memory of the head) appends
    between this process's appends; and a batch appends many rows after it."""
    other = Database(database_url)
    try:
        await _read(db, 1)
        await _read(other, 2)
        await _read(db, 3)
        await _read(other, 4)
        async with db.transaction() as session:
            await audit.record_many(
                session,
                actor=PRINCIPAL,
                entries=[{"action": "read", "resource_type": "child", "resource_id": f"b-{n}"} for n in range(4)],
            )
        await _read(other, 5)
    finally:
        await other.dispose()
    assert await breaks(db) == []
    assert await _rows(db) == 5 + 5 + 4


async def test_an_append_after_this_process_own_append_reads_no_head(db):
    """The point of remembering the head: the next append is one statement (PostgreSQL: the chain's lock taken in it,
    by tas_audit_head_locked()), with no read of the head and no lock statement first."""
    await _read(db, 1)
    statements: list[str] = []
    listener = lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split())[:60])  # noqa: E731
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        await _read(db, 2)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    audit_statements = [s for s in statements if "audit" in s or "advisory" in s]
    assert len(audit_statements) == 1 and audit_statements[0].startswith("INSERT INTO audit_log"), statements
    assert await breaks(db) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="the chain's lock is PostgreSQL's advisory lock")
async def test_units_appending_in_a_statement_of_their_own_keep_the_chain_whole(db, database_url):
    """On PostgreSQL an append is one statement that takes the chain's lock, reads the head and hashes the row in the
    database (`audit.appending`), so a use case may make it one CTE of a statement of its own (referral's intake).
    Units of two engines (two replicas) side by side, half appending that way and half with `record`, make one
    unbroken chain whose every hash `verify_chain` recomputes in Python; none runs a lock statement of its own."""
    own = DriverStatement(select(func.count()).select_from(audit.appending("a_").cte("appended")))
    other = Database(database_url)

    async def unit(database: Database, n: int) -> list[str]:
        statements: list[str] = []
        listener = lambda _c, _cur, sql, *_: statements.append(sql)  # noqa: E731
        async with database.transaction() as session:
            connection = await session.connection()
            event.listen(connection.sync_connection, "before_cursor_execute", listener)
            if n % 2:
                params = audit.appending_params(
                    actor=PRINCIPAL, action="read", resource_type="child", resource_id=f"u-{n}", prefix="a_"
                )
                assert await own.scalar(session, params) == 1
            else:
                await audit.record(session, actor=None, action="read", resource_type="child", resource_id=f"u-{n}")
        return statements

    try:
        units = await asyncio.gather(*(unit(db if n % 4 < 2 else other, n) for n in range(24)))
    finally:
        await other.dispose()
    assert [len(statements) for statements in units] == [1] * 24
    assert not [s for statements in units for s in statements if "advisory" in s]
    assert await breaks(db) == []
    assert await _rows(db) == 5 + 24


@pytest.mark.skipif(not ON_POSTGRES, reason="the chain's lock is PostgreSQL's advisory lock")
async def test_many_rows_of_one_unit_follow_one_another_in_the_chain(db):
    """`record_many` on PostgreSQL: the first row linked by the database, the rest to it, under the one lock."""
    async with db.transaction() as session:
        await audit.record_many(
            session,
            actor=PRINCIPAL,
            entries=[{"action": "read", "resource_type": "child", "resource_id": f"m-{n}"} for n in range(3)],
        )
    await _read(db, 9)
    assert await breaks(db) == []
    assert await _rows(db) == 5 + 3 + 1
