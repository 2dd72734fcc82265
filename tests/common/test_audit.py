"""The audit chain detects an edited, a deleted and an appended-out-of-band row."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, delete, update

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import Database
from tas_common.tables import attach_infra, audit_log

PRINCIPAL = Principal(sub="senco-1", org_id="school-100000", org_type=OrgType.school, roles=frozenset({"senco"}))


@pytest.fixture
async def db(database_url):
    metadata = MetaData()
    attach_infra(metadata)
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
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
