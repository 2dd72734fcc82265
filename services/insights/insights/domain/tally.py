"""The tallies: counts by metric, scope, month and up to two keys, kept up to date as facts change.

A fact row's contribution is a list of keys, each counting one (`contributions` in each fact module). When a row
changes, `adjust(session, old, new)` takes the old keys away and adds the new ones, in one upsert per changed key
(`n = n + delta`). The answers read sums over a period from here: an index range, never a scan of the facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import day_of
from tas_common.tables import table_of

from .models import Tally

_tally = table_of(Tally)
SCOPES = ("la", "school", "service")


class Key(NamedTuple):
    metric: str
    scope: str
    scope_id: str
    month: str
    k1: str = ""
    k2: str = ""


def month_of(value: date | datetime) -> str:
    day = day_of(value) if isinstance(value, datetime) else value
    return f"{day.year:04d}-{day.month:02d}"


def days_between(start: date | datetime, end: date | datetime) -> int:
    """Whole UTC calendar days from `start` to `end` (never negative)."""
    a = day_of(start) if isinstance(start, datetime) else start
    b = day_of(end) if isinstance(end, datetime) else end
    return max(0, (b - a).days)


@dataclass(frozen=True)
class Where:
    """The scopes a fact belongs to: its LA, its school, the services involved."""

    la: str | None = None
    school: str | None = None
    services: tuple[str | None, ...] = ()


def scoped(where: Where, metric: str, month: str, k1: str = "", k2: str = "") -> list[Key]:
    """The same count for each scope the fact belongs to."""
    keys = []
    if where.la:
        keys.append(Key(metric, "la", where.la, month, k1, k2))
    if where.school:
        keys.append(Key(metric, "school", where.school, month, k1, k2))
    for service in where.services:
        if service:
            keys.append(Key(metric, "service", service, month, k1, k2))
    return keys


def _upsert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(_tally)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in _tally.primary_key.columns], set_={"n": _tally.c.n + statement.excluded.n}
    )


async def adjust(session: AsyncSession, old: Iterable[Key], new: Iterable[Key]) -> None:
    delta = Counter(new)
    delta.subtract(Counter(old))
    rows = [{**key._asdict(), "n": n} for key, n in sorted(delta.items()) if n]
    if rows:
        await session.execute(_upsert(session), rows)


async def sums(
    session: AsyncSession, *, metric: str, scope: str, scope_id: str, months: tuple[str, str]
) -> dict[tuple[str, str], int]:
    """(k1, k2) → the count over the months `months[0]`..`months[1]` (inclusive)."""
    rows = await session.execute(
        select(_tally.c.k1, _tally.c.k2, func.sum(_tally.c.n))
        .where(
            _tally.c.metric == metric,
            _tally.c.scope == scope,
            _tally.c.scope_id == scope_id,
            _tally.c.month.between(*months),
        )
        .group_by(_tally.c.k1, _tally.c.k2)
    )
    return {(k1, k2): int(n) for k1, k2, n in rows.all() if n}


async def by_month(
    session: AsyncSession, *, metric: str, scope: str, scope_id: str, months: tuple[str, str]
) -> dict[tuple[str, str, str], int]:
    """(month, k1, k2) → count."""
    rows = await session.execute(
        select(_tally.c.month, _tally.c.k1, _tally.c.k2, _tally.c.n).where(
            _tally.c.metric == metric,
            _tally.c.scope == scope,
            _tally.c.scope_id == scope_id,
            _tally.c.month.between(*months),
        )
    )
    return {(m, k1, k2): int(n) for m, k1, k2, n in rows.all() if n}


async def by_scope_id(
    session: AsyncSession, *, metric: str, scope: str, scope_ids: Sequence[str], months: tuple[str, str]
) -> dict[tuple[str, str, str], int]:
    """(scope_id, k1, k2) → the count over the months, for many scope ids at once (the school comparison)."""
    if not scope_ids:
        return {}
    rows = await session.execute(
        select(_tally.c.scope_id, _tally.c.k1, _tally.c.k2, func.sum(_tally.c.n))
        .where(
            _tally.c.metric == metric,
            _tally.c.scope == scope,
            _tally.c.scope_id.in_(list(scope_ids)),
            _tally.c.month.between(*months),
        )
        .group_by(_tally.c.scope_id, _tally.c.k1, _tally.c.k2)
    )
    return {(sid, k1, k2): int(n) for sid, k1, k2, n in rows.all() if n}
