"""Keyset cursors (tas_common.paging) on a real database: paging with any mix of directions, booleans, times and
ties gives back exactly the whole ordered list, and a cursor the service did not issue is a 422 naming the field.
(tests/referral/test_paging.py shows the lists of a running service under inserts between pages.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, insert, select

from tas_common.errors import InvalidInput
from tas_common.paging import Key, Keyset

from ..databases import with_tables

metadata = MetaData()
row = Table(
    "row",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("flag", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("name", String(20), nullable=False),
    Column("n", Integer, nullable=False),
)
START = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
ROWS = [
    {
        "id": f"{i:04d}",
        "flag": i % 3 == 0,
        "at": START + timedelta(microseconds=7 * (i % 4)),  # ties in time, microseconds apart otherwise
        "name": "Zoë O'Brien" if i % 2 else "Amara",
        "n": i % 5 - 2,
    }
    for i in range(23)
]


def python_order(keys: list[tuple[str, bool]]) -> list[str]:
    ordered = [r["id"] for r in ROWS]
    for column, descending in reversed([*keys, ("id", False)]):
        ordered.sort(key=lambda i, c=column: next(r[c] for r in ROWS if r["id"] == i), reverse=descending)
    return ordered


@pytest.fixture
async def db(database_url):
    database = await with_tables(database_url, metadata)
    async with database.transaction() as session:
        await session.execute(insert(row), ROWS)
    yield database
    await database.dispose()


ORDERS = [
    [("flag", True), ("at", True)],  # referral's concerns: safeguarding first, newest first
    [("flag", True), ("at", False)],  # referral's queue: urgent first, oldest first
    [("name", False), ("n", True)],
    [("at", True)],  # caseload's chronology
    [("n", False), ("flag", False), ("name", True)],
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: ",".join(f"{c}{'↓' if d else '↑'}" for c, d in o))
async def test_paging_gives_back_the_whole_list_in_order(db, order):
    keyset = Keyset("rows", *(Key(row.c[c], descending=d) for c, d in order), Key(row.c.id))
    seen: list[str] = []
    cursor = None
    async with db.reader() as session:
        for _ in range(len(ROWS)):
            query = select(row)
            if cursor:
                query = query.where(keyset.after(cursor))
            page = (await session.execute(query.order_by(*keyset.order_by()).limit(4))).all()
            seen += [r.id for r in page]
            if len(page) < 4:
                break
            cursor = keyset.cursor([getattr(page[-1], c) for c, _ in order] + [page[-1].id])
    assert seen == python_order(order)


KEYSET = Keyset("rows", Key(row.c.flag, descending=True), Key(row.c.at), Key(row.c.n), Key(row.c.id))
ISSUED = KEYSET.cursor([True, START, 3, "0001"])


def test_a_cursor_gives_back_its_key():
    assert KEYSET.decode(ISSUED) == [True, START, 3, "0001"]


@pytest.mark.parametrize(
    "cursor",
    [
        "!!",
        "bm90IGpzb24",  # not JSON
        Keyset("other", *KEYSET.keys).cursor([True, START, 3, "0001"]),  # another list's
        KEYSET.cursor([True, START, 3]),  # too short
        KEYSET.cursor(["yes", START, 3, "0001"]),  # a string for a boolean
        KEYSET.cursor([True, START, 2**63, "0001"]),  # beyond 64 bits
        KEYSET.cursor([True, 10**30, 3, "0001"]),  # a time beyond the calendar
        KEYSET.cursor([True, START, 3, 1]),  # a number for an id
    ],
)
def test_a_cursor_the_service_did_not_issue_names_the_field(cursor):
    with pytest.raises(InvalidInput) as raised:
        KEYSET.after(cursor)
    assert [e["field"] for e in raised.value.extra["errors"]] == ["query.cursor"]
