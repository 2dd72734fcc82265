"""The organisations caseload has heard of, by the `org_id` their people's tokens carry: a school from the
concerns it raises, a service's organisation from the referrals it takes. Names (never people) for the family's
view of the team and of who looked at the record; an organisation caseload has not heard of is described by its
kind instead."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow

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


async def remember(
    session: AsyncSession,
    *,
    org_id: str,
    name: str | None,
    org_type: str,
    email: str | None = None,
    phone: str | None = None,
) -> None:
    """Record (or refresh) what an event says about an organisation; a missing name or contact keeps the old one."""
    if not org_id or not name:
        return
    row = await session.get(Organisation, org_id)
    if row is None:
        session.add(Organisation(id=org_id, name=name, org_type=org_type, email=email, phone=phone))
        return
    row.name, row.org_type = name, org_type
    row.email, row.phone = email or row.email, phone or row.phone
    row.updated_at = utcnow()
    session.add(row)


async def remember_school(
    session: AsyncSession, *, urn: str, name: str | None, phone: str | None, email: str | None
) -> School | None:
    """Record (or refresh) a school's name and office contact from a concern (a missing value keeps the old);
    the school as caseload now knows it."""
    row = await session.get(School, urn)
    if not name:
        return row
    if row is None:
        row = School(urn=urn, name=name, phone=phone, email=email)
    elif (row.name, row.phone, row.email) == (name, phone or row.phone, email or row.email):
        return row
    else:
        row.name, row.phone, row.email, row.updated_at = name, phone or row.phone, email or row.email, utcnow()
    session.add(row)
    return row


async def school_of(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)
