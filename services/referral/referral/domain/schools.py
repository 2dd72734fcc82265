"""The schools register: URN → name and local authority.

Read with Core statements built once (an ORM `session.get` per concern was a tenth of the intake's CPU), into a
plain `SchoolEntry`: the register is seeded by a data migration and only read here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import School


class SchoolEntry(NamedTuple):
    urn: str
    name: str
    la_code: str


_school = School.__table__  # type: ignore[attr-defined]
_COLUMNS = (_school.c.urn, _school.c.name, _school.c.la_code)
_BY_URN = select(*_COLUMNS).where(_school.c.urn == bindparam("urn"))
_BY_URNS = select(*_COLUMNS).where(_school.c.urn.in_(bindparam("urns", expanding=True)))


async def lookup(session: AsyncSession, urn: str) -> SchoolEntry | None:
    row = (await session.exec(_BY_URN, params={"urn": urn})).first()
    return SchoolEntry(*row) if row is not None else None


async def lookup_many(session: AsyncSession, urns: Iterable[str]) -> dict[str, SchoolEntry]:
    wanted = sorted(set(urns))
    if not wanted:
        return {}
    rows = (await session.exec(_BY_URNS, params={"urns": wanted})).all()
    return {row.urn: SchoolEntry(*row) for row in rows}
