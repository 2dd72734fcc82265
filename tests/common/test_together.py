"""NewRows (tas_common.together): a use case's new rows in several tables, its audit row and its events written
together — on PostgreSQL in one statement — in order, with a row referring to one added before it."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, event, select
from sqlalchemy.exc import IntegrityError

from tas_common import audit
from tas_common.db import EVENTS_WRITTEN
from tas_common.events import new_event
from tas_common.events.schemas import ChildRegisteredV1
from tas_common.tables import attach_infra, audit_log, outbox
from tas_common.together import NewRows

from ..conftest import ON_POSTGRES
from ..databases import with_tables

metadata = MetaData()
household = Table("household", metadata, Column("id", String, primary_key=True), Column("name", String))
member = Table(
    "member",
    metadata,
    Column("id", String, primary_key=True),
    Column("household_id", String, ForeignKey("household.id"), nullable=False),
    Column("mobile", String),
)
attach_infra(metadata)


@pytest.fixture
async def db(database_url):
    database = await with_tables(database_url, metadata)
    yield database
    await database.dispose()


def registered(n: int):
    return new_event(
        ChildRegisteredV1(child_id=f"child-{n}", school_urn="100000", la_code="909", concern_id=f"concern-{n}"),
        source="tas/test",
        subject=f"child-{n}",
    )


async def test_rows_audit_row_and_events_are_written_together_in_order(db):
    events = [registered(n) for n in range(3)]
    statements: list[str] = []
    listener = lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split())[:40])  # noqa: E731
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with db.transaction() as session:
            rows = NewRows()
            rows.add(household, {"id": "h1", "name": "Abbott"})
            for n in range(3):  # each refers to the household added before it, in the same write
                rows.add(member, {"id": f"m{n}", "household_id": "h1", "mobile": f"+4477009000{n:02d}"})
            await rows.write(
                session,
                audited={"action": "create", "resource_type": "household", "resource_id": "h1", "reason": "test"},
                events=events,
            )
            assert session.info.get(EVENTS_WRITTEN)  # the relay is woken after the commit
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    if ON_POSTGRES:
        assert len(statements) == 1, statements  # one round trip: every insert and the audit row
    else:
        assert len(statements) >= 4, statements  # a multi-row insert a table, the audit row, the events
    async with db.reader() as session:
        assert (await session.execute(select(member.c.id).order_by(member.c.id))).scalars().all() == ["m0", "m1", "m2"]
        stored = (await session.execute(select(outbox.c.event_id).order_by(outbox.c.seq))).scalars().all()
        assert stored == [e.id for e in events]
        audited = (await session.execute(select(audit_log.c.resource_id, audit_log.c.actor))).all()
        assert [tuple(row) for row in audited] == [("h1", "system")]
        assert await audit.verify_chain(session) == []


async def test_a_row_changed_before_the_write_is_written_changed_and_write_forgets_what_it_wrote(db):
    async with db.transaction() as session:
        rows = NewRows()
        rows.add(household, {"id": "h1", "name": "Abbott"})
        first = rows.add(member, {"id": "m1", "household_id": "h1", "mobile": None})
        assert rows.holds(first) and not rows.holds({"id": "m1", "household_id": "h1", "mobile": None})
        first["mobile"] = "+447700900001"  # e.g. a second contact merged into it
        await rows.write(session)
        assert not rows.holds(first)
        rows.add(member, {"id": "m2", "household_id": "h1", "mobile": None})
        await rows.write(session)  # only what was added since
    async with db.reader() as session:
        stored = (await session.execute(select(member.c.id, member.c.mobile).order_by(member.c.id))).all()
    assert [tuple(row) for row in stored] == [("m1", "+447700900001"), ("m2", None)]


async def test_a_failing_write_leaves_nothing(db):
    async def write_a_member_of_no_household() -> None:
        async with db.transaction() as session:
            rows = NewRows()
            rows.add(member, {"id": "m1", "household_id": "no-such-household", "mobile": None})
            await rows.write(
                session,
                audited={"action": "create", "resource_type": "member", "resource_id": "m1"},
                events=[registered(1)],
            )

    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        await write_a_member_of_no_household()
    async with db.reader() as session:
        for table in (member, outbox, audit_log):
            assert (await session.execute(select(table))).first() is None
