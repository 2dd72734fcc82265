"""Statements run on the driver (tas_common.driver) are the same statements in the same transaction as the session's:
the same stored values, rolled back with the savepoint or unit they ran in, SQLAlchemy's errors, visible to engine
listeners. On SQLite and (TAS_TEST_DATABASE=postgresql) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from tas_common.db import Database
from tas_common.driver import DriverStatement

from ..databases import with_tables

metadata = MetaData()
thing = Table(
    "thing",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("n", Integer, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("born", Date, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("blob", LargeBinary, nullable=True),
)
COLUMNS = [c.name for c in thing.columns]
INSERT = DriverStatement(insert(thing), columns=COLUMNS)
BY_ID = DriverStatement(select(thing.c.id, thing.c.at, thing.c.flag, thing.c.tags).where(thing.c.id == bindparam("id")))


def row(key: str, **more: object) -> dict[str, object]:
    return {
        "id": key,
        "n": 7,
        "at": datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC),
        "born": date(2015, 9, 1),
        "flag": True,
        "tags": ["a", {"b": 1}],
        "blob": b"\x00\xff",
    } | more


@pytest.fixture
async def db(database_url):
    database = await with_tables(database_url, metadata)
    yield database
    await database.dispose()


async def stored(db: Database) -> dict[str, tuple[object, ...]]:
    async with db.reader() as session:
        return {r[0]: tuple(r) for r in (await session.execute(select(thing).order_by(thing.c.id))).all()}


async def ids(db: Database) -> set[str]:
    return set(await stored(db))


async def test_rows_written_on_the_driver_are_stored_as_sqlalchemy_stores_them(db):
    async with db.transaction() as session:
        await session.execute(insert(thing), [row("orm-1"), row("orm-2", n=None, born=None, blob=None, flag=False)])
    async with db.transaction() as session:
        assert await INSERT.execute(session, row("drv-1")) == 1
        await INSERT.execute(session, [row("drv-2", n=None, born=None, blob=None, flag=False)])
        fetched = await BY_ID.first(session, {"id": "drv-1"})
    rows = await stored(db)
    assert rows["drv-1"][1:] == rows["orm-1"][1:] and rows["drv-2"][1:] == rows["orm-2"][1:]
    async with db.reader() as session:
        through_sqlalchemy = (
            await session.execute(
                select(thing.c.id, thing.c.at, thing.c.flag, thing.c.tags).where(thing.c.id == "orm-1")
            )
        ).one()
    assert fetched is not None and fetched[1:] == tuple(through_sqlalchemy)[1:]


async def test_a_constraint_violation_is_sqlalchemys_integrity_error_without_the_values(db):
    async with db.transaction() as session:
        await INSERT.execute(session, row("dup"))
    with pytest.raises(IntegrityError) as raised:
        async with db.transaction() as session:
            await INSERT.execute(session, row("dup", n=424242))
    assert "424242" not in str(raised.value)
    assert await ids(db) == {"dup"}


class Boom(Exception):
    pass


async def test_a_rolled_back_savepoint_takes_the_driver_statements_inside_it(db):
    """Also when the savepoint is begun before the session has used its connection at all."""

    async def writes_in_a_savepoint_then_fails(session, key: str) -> None:
        async with session.begin_nested():
            await INSERT.execute(session, row(key))
            raise Boom

    async with db.transaction() as session:
        with pytest.raises(Boom):
            await writes_in_a_savepoint_then_fails(session, "inside-1")
        await INSERT.execute(session, row("kept"))
        with pytest.raises(Boom):
            await writes_in_a_savepoint_then_fails(session, "inside-2")
        await INSERT.execute(session, row("kept-2"))
    assert await ids(db) == {"kept", "kept-2"}


async def test_a_failing_unit_rolls_back_its_driver_statements_alone(db):
    """Concurrent units (group-committed into one transaction on SQLite), some failing after their writes."""

    async def unit(n: int) -> None:
        async with db.transaction() as session:
            await INSERT.execute(session, row(f"u{n}"))
            await asyncio.sleep(0)
            if n % 4 == 0:
                raise Boom

    results = await asyncio.gather(*(unit(n) for n in range(40)), return_exceptions=True)
    assert [n for n, r in enumerate(results) if isinstance(r, Boom)] == list(range(0, 40, 4))
    assert await ids(db) == {f"u{n}" for n in range(40) if n % 4}


async def test_a_unit_that_mixes_the_orm_and_the_driver_is_one_transaction(db):

    async def mixed_then_fails() -> None:
        async with db.transaction() as session:
            await INSERT.execute(session, row("mixed-1"))
            await session.execute(insert(thing), row("mixed-2"))
            await INSERT.execute(session, row("mixed-3"))
            raise Boom

    with pytest.raises(Boom):
        await mixed_then_fails()
    async with db.transaction() as session:
        await session.execute(insert(thing), row("mixed-4"))
        await INSERT.execute(session, row("mixed-5"))
    assert await ids(db) == {"mixed-4", "mixed-5"}


async def test_engine_listeners_see_driver_statements(db):
    seen: list[str] = []
    listener = lambda _c, _cur, sql, *_: seen.append(sql.split()[0])  # noqa: E731
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with db.transaction() as session:
            await INSERT.execute(session, row("seen"))
            await BY_ID.first(session, {"id": "seen"})
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    assert seen.count("INSERT") == 1 and seen.count("SELECT") == 1


async def test_a_reader_reads_on_the_driver(db):
    async with db.transaction() as session:
        await INSERT.execute(session, row("r"))
    async with db.reader() as session:
        found = await BY_ID.first(session, {"id": "r"})
        missing = await BY_ID.first(session, {"id": "nobody"})
    assert found is not None and found[0] == "r" and missing is None


def test_an_insert_that_leaves_out_a_column_with_a_python_default_is_refused():
    from sqlalchemy.dialects import sqlite

    with_default = Table("d", MetaData(), Column("id", String, primary_key=True), Column("v", String, default="x"))
    with pytest.raises(ValueError, match="Python-side default"):
        DriverStatement(insert(with_default), columns=["id"]).compiled(sqlite.dialect())


async def test_a_row_without_one_of_the_inserts_columns_is_refused_before_the_database(db):
    incomplete = row("no-n")
    del incomplete["n"]
    async with db.transaction() as session:
        with pytest.raises(KeyError, match="'n'"):
            await INSERT.execute(session, incomplete)
    assert await ids(db) == set()
