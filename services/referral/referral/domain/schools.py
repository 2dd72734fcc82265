"""The schools register: URN → name and local authority."""
from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from .models import School


async def lookup(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)


async def lookup_many(session: AsyncSession, urns: Iterable[str]) -> dict[str, School]:
    wanted = sorted(set(urns))
    if not wanted:
        return {}
    rows = (await session.exec(select(School).where(School.urn.in_(wanted)))).all()  # type: ignore[attr-defined]
    return {school.urn: school for school in rows}
