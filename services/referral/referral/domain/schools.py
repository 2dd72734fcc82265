"""The schools register: URN → name, local authority and the office's public contact.

Read with Core statements built once (an ORM `session.get` per concern was a tenth of the intake's CPU; one URN's
lookup runs on the driver, tas_common.driver), into a plain `SchoolEntry`: the register is seeded by a data migration and only read here."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, exists, select
from sqlalchemy.engine import Engine
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.driver import DriverStatement
from tas_common.tables import table_of

from .models import School


class SchoolEntry(NamedTuple):
    urn: str
    name: str
    la_code: str
    phone: str | None = None
    email: str | None = None


_school = table_of(School)
_COLUMNS = (_school.c.urn, _school.c.name, _school.c.la_code, _school.c.phone, _school.c.email)
_BY_URN = DriverStatement(select(*_COLUMNS).where(_school.c.urn == bindparam("urn")))
_BY_URNS = select(*_COLUMNS).where(_school.c.urn.in_(bindparam("urns", expanding=True)))


async def lookup(session: AsyncSession, urn: str) -> SchoolEntry | None:
    row = await _BY_URN.first(session, {"urn": urn})
    return SchoolEntry(*row) if row is not None else None


async def lookup_many(session: AsyncSession, urns: Iterable[str]) -> dict[str, SchoolEntry]:
    wanted = sorted(set(urns))
    if not wanted:
        return {}
    rows = (await session.execute(_BY_URNS, {"urns": wanted})).all()
    return {row.urn: SchoolEntry(*row) for row in rows}


_REMEMBERED: weakref.WeakKeyDictionary[Engine, dict[str, SchoolEntry]] = weakref.WeakKeyDictionary()
REMEMBERED_AT_MOST = 10_000
"""Schools remembered per database (a register holds a few hundred to a few thousand; past this the memo starts again)."""


def _memo(session: AsyncSession) -> dict[str, SchoolEntry]:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    found = _REMEMBERED.get(engine)
    if found is None:
        found = _REMEMBERED[engine] = {}
    return found


def remembered(session: AsyncSession, urn: str) -> SchoolEntry | None:
    """The register's entry for `urn` as this process last read it from the session's database (no round trip), or
    None. It may be stale: a use case that relies on it writes under `unchanged(...)` and reads again when that finds
    the register changed (`forget`)."""
    return _memo(session).get(urn)


def remember(session: AsyncSession, school: SchoolEntry) -> None:
    memo = _memo(session)
    if len(memo) >= REMEMBERED_AT_MOST:
        memo.clear()
    memo[school.urn] = school


def forget(session: AsyncSession, urn: str) -> None:
    _memo(session).pop(urn, None)


def unchanged(prefix: str) -> ColumnElement[bool]:
    """EXISTS: the register's row of the URN still says what a `SchoolEntry` says (parameters `{prefix}urn`,
    `{prefix}name`, `{prefix}la_code`, `{prefix}phone`, `{prefix}email`: `unchanged_params`). Written into a statement
    whose inserts take a remembered entry's values, it makes the statement write nothing if the register has changed
    since (and the caller reads it again): the exact invalidation of `remembered`."""
    urn, *others = _COLUMNS
    return exists(
        select(urn).where(
            and_(
                urn == bindparam(prefix + urn.name, type_=urn.type),  # the primary key's index finds the row
                *(c.is_not_distinct_from(bindparam(prefix + c.name, type_=c.type)) for c in others),
            )
        )
    )


def unchanged_params(school: SchoolEntry, prefix: str) -> dict[str, Any]:
    return {prefix + name: value for name, value in school._asdict().items()}
