"""What caseload remembers of a concern's school and of its organisation (organisations.remember_school_and_org):
both rows read in one statement, each written only when what the concern says changes it."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from caseload.domain import organisations
from caseload.domain.models import Organisation, School
from tas_common.db import Database

from ..conftest import fresh_database_url, migrate


@pytest.fixture
async def db(tmp_path):
    url = fresh_database_url("organisations", tmp_path)
    await migrate("caseload", url)
    database = Database(url)
    yield database
    await database.dispose()


async def remember(db: Database, **said: str | None) -> tuple[organisations.SchoolContact | None, list[str]]:
    statements: list[str] = []
    listener = lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split())[:30])  # noqa: E731
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with db.transaction() as session:
            school = await organisations.remember_school_and_org(
                session, urn="100000", org_id="school-100000", **({"phone": None, "email": None} | said)
            )
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    return school, [s for s in statements if s.split()[0] in ("SELECT", "INSERT", "UPDATE")]


async def rows(db: Database) -> tuple[tuple[object, ...] | None, tuple[object, ...] | None]:
    async with db.reader() as session:
        school = (await session.execute(select(School.name, School.phone, School.email))).first()
        org = (await session.execute(select(Organisation.name, Organisation.org_type))).first()
    return (tuple(school) if school else None), (tuple(org) if org else None)


async def test_a_new_school_and_its_organisation_are_written_then_only_what_changes(db):
    said = {"name": "Oak Primary", "phone": "01632 960000", "email": "office@example.org"}
    school, statements = await remember(db, **said)
    assert school == organisations.SchoolContact("Oak Primary", "01632 960000", "office@example.org")
    assert [s.split()[0] for s in statements] == ["SELECT", "INSERT", "INSERT"]
    assert await rows(db) == (("Oak Primary", "01632 960000", "office@example.org"), ("Oak Primary", "school"))

    school, statements = await remember(db, **said)  # nothing new: the one read, no write
    assert [s.split()[0] for s in statements] == ["SELECT"]

    # renamed, no phone given: the name changes, the phone is kept
    school, statements = await remember(db, name="Oak Primary Academy", email="office@example.org")
    assert school == organisations.SchoolContact("Oak Primary Academy", "01632 960000", "office@example.org")
    assert sorted(s.split()[0] for s in statements) == ["SELECT", "UPDATE", "UPDATE"]
    assert await rows(db) == (
        ("Oak Primary Academy", "01632 960000", "office@example.org"),
        ("Oak Primary Academy", "school"),
    )


async def test_no_name_writes_nothing_and_answers_what_is_known(db):
    school, statements = await remember(db, name=None)
    assert school is None and [s.split()[0] for s in statements] == ["SELECT"]
    assert await rows(db) == (None, None)
    await remember(db, name="Oak Primary", phone="01632 960000")
    school, _ = await remember(db, name=None)
    assert school == organisations.SchoolContact("Oak Primary", "01632 960000", None)
