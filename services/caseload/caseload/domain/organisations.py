"""The organisations caseload has heard of, by the `org_id` their people's tokens carry: a school from the
concerns it raises, a service's organisation from the referrals it takes. Names (never people) for the family's
view of the team and of who looked at the record; an organisation caseload has not heard of is described by its
kind instead."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, literal, true, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.driver import DriverStatement, flush_pending
from tas_common.tables import table_of

from .models import Organisation, School

KINDS = {
    "school": "A school",
    "health": "A health service",
    "social_care": "Children's social care",
    "local_authority": "The local authority",
    "family": "Your family",
    "mis": "The school's information system",
    "system": "TAS itself",
    "notify": "TAS itself",
}


async def names_of(session: AsyncSession, org_ids: list[str]) -> dict[str, str]:
    ids = sorted(set(org_ids))
    if not ids:
        return {}
    rows = (await session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))).all()
    return {r.id: r.name for r in rows}


def kind_of(org_type: str) -> str:
    return KINDS.get(org_type, "An organisation")


class SchoolContact(NamedTuple):
    name: str
    phone: str | None
    email: str | None


_org, _school = table_of(Organisation), table_of(School)
_ORG = DriverStatement(
    select(_org.c.name, _org.c.org_type, _org.c.email, _org.c.phone).where(_org.c.id == bindparam("id"))
)
_INSERT_ORG = DriverStatement(insert(_org), columns=("id", "name", "org_type", "email", "phone", "updated_at"))
_UPDATE_ORG = DriverStatement(
    update(_org).where(_org.c.id == bindparam("b_id")), columns=("name", "org_type", "email", "phone", "updated_at")
)
_SCHOOL = DriverStatement(
    select(_school.c.name, _school.c.phone, _school.c.email).where(_school.c.urn == bindparam("urn"))
)
_INSERT_SCHOOL = DriverStatement(insert(_school), columns=("urn", "name", "phone", "email", "updated_at"))
_UPDATE_SCHOOL = DriverStatement(
    update(_school).where(_school.c.urn == bindparam("b_urn")), columns=("name", "phone", "email", "updated_at")
)
_school_row = (
    select(_school.c.name, _school.c.phone, _school.c.email).where(_school.c.urn == bindparam("urn")).subquery()
)
_org_row = (
    select(_org.c.name, _org.c.org_type, _org.c.email, _org.c.phone).where(_org.c.id == bindparam("id")).subquery()
)
_SCHOOL_AND_ORG = DriverStatement(
    select(*_school_row.c, *_org_row.c).select_from(
        select(literal(1).label("one")).subquery().outerjoin(_school_row, true()).outerjoin(_org_row, true())
    )
)
"""On the driver's cursor (tas_common/driver.py): the event handlers remember an organisation, and a school, for
nearly every event. A pending ORM change to these rows is flushed first, as `session.execute` would.
`_SCHOOL_AND_ORG` reads a school's row and an organisation's in one statement: always one row, NULLs for what is not
there (both tables' `name` is required)."""


async def remember(
    session: AsyncSession,
    *,
    org_id: str,
    name: str | None,
    org_type: str,
    email: str | None = None,
    phone: str | None = None,
) -> None:
    """Record (or refresh) what an event says about an organisation; a missing name or contact keeps the old one.
    `updated_at` is when what caseload knows of it last changed."""
    if not org_id or not name:
        return
    await flush_pending(session)
    known = await _ORG.first(session, {"id": org_id})
    await _keep_org(session, org_id, tuple(known) if known is not None else None, (name, org_type, email, phone))


async def _keep_org(
    session: AsyncSession, org_id: str, known: tuple[Any, ...] | None, said: tuple[str, str, str | None, str | None]
) -> None:
    """Write what was `said` (name, type, email, phone) about the organisation over what is `known` of it (its row's
    values, or None): inserted when unknown, updated when it changes something."""
    name, org_type, email, phone = said
    if known is None:
        values = {"name": name, "org_type": org_type, "email": email, "phone": phone, "updated_at": utcnow()}
        await _INSERT_ORG.execute(session, {"id": org_id, **values})
        return
    new = (name, org_type, email or known[2], phone or known[3])
    if new != known:
        values = dict(zip(("name", "org_type", "email", "phone"), new, strict=True))
        await _UPDATE_ORG.execute(session, {"b_id": org_id, **values, "updated_at": utcnow()})


async def remember_school_and_org(
    session: AsyncSession, *, urn: str, org_id: str, name: str | None, phone: str | None, email: str | None
) -> SchoolContact | None:
    """Record (or refresh) a school's name and office contact from a concern (a missing value keeps the old), and
    `remember` its organisation (`org_id`, the raising staff's), both rows read in one statement (on PostgreSQL a
    round trip less a concern); the school as caseload now knows it."""
    await flush_pending(session)
    row = await _SCHOOL_AND_ORG.first(session, {"urn": urn, "id": org_id})
    assert row is not None  # one row, whatever the two lookups find
    school = SchoolContact(*row[:3]) if row[0] is not None else None
    if org_id and name:
        await _keep_org(session, org_id, tuple(row[3:]) if row[3] is not None else None, (name, "school", None, None))
    return await _keep_school(session, urn, school, SchoolContact(name or "", phone, email))


async def _keep_school(
    session: AsyncSession, urn: str, known: SchoolContact | None, said: SchoolContact
) -> SchoolContact | None:
    """Write what was `said` about the school over what is `known` (a missing name changes nothing, a missing
    contact keeps the old); the school as caseload now knows it."""
    if not said.name:
        return known
    if known is None:
        await _INSERT_SCHOOL.execute(session, {"urn": urn, **said._asdict(), "updated_at": utcnow()})
        return said
    school = SchoolContact(said.name, said.phone or known.phone, said.email or known.email)
    if school != known:
        await _UPDATE_SCHOOL.execute(session, {"b_urn": urn, **school._asdict(), "updated_at": utcnow()})
    return school


async def school_contact(session: AsyncSession, urn: str) -> SchoolContact | None:
    await flush_pending(session)
    row = await _SCHOOL.first(session, {"urn": urn})
    return SchoolContact(*row) if row is not None else None


async def school_of(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)
