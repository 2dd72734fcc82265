"""The schools register: URN → name, local authority and the office's public contact.

Read with Core statements built once (an ORM `session.get` per concern was a tenth of the intake's CPU; one URN's
lookup runs on the driver, tas_common.driver), into a plain `SchoolEntry`: the register is seeded by a data migration and only read here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, select
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
