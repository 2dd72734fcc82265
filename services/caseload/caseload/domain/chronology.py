"""The child's one timeline: writing entries (once per fact) and reading them, newest first, filtered and paged
with an opaque cursor, with the sensitivity rule applied in the query."""
from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time

from sqlmodel import and_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import InvalidInput

from .access import chronology_visibility, visible_child
from .models import ChronologyEntry
from .schemas import ChronologyEntryPublic, Page


async def fact_recorded(session: AsyncSession, *, child_id: str, kind: str, ref_id: str) -> bool:
    """Whether this fact (kind + the thing it is about) is already on the timeline: a second event carrying the
    same fact under another event id must change nothing."""
    return (await session.exec(select(ChronologyEntry.id).where(
        ChronologyEntry.child_id == child_id, ChronologyEntry.kind == kind,
        ChronologyEntry.ref_id == ref_id))).first() is not None


def add_entry(session: AsyncSession, *, child_id: str, kind: str, summary: str, sensitivity: str = "team",
              ref_type: str | None = None, ref_id: str | None = None, source_event_id: str | None = None,
              org_id: str | None = None, org_type: str | None = None, at: datetime | None = None) -> None:
    session.add(ChronologyEntry(child_id=child_id, at=at or utcnow(), kind=kind, summary=summary[:500],
                                sensitivity=sensitivity, ref_type=ref_type, ref_id=ref_id,
                                source_event_id=source_event_id, org_id=org_id, org_type=org_type))


def _encode(at: datetime, entry_id: str) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, entry_id = raw.split("|", 1)
        return datetime.fromisoformat(at), entry_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("not a cursor this service issued", field="cursor") from None


async def timeline(session: AsyncSession, *, principal: Principal, child_id: str, limit: int = 50,
                   kinds: list[str] | None = None, from_date: date | None = None, to_date: date | None = None,
                   cursor: str | None = None) -> Page[ChronologyEntryPublic]:
    child = await visible_child(session, principal, child_id)
    c = ChronologyEntry
    query = select(c).where(c.child_id == child.id, chronology_visibility(principal, child))
    if kinds:
        query = query.where(c.kind.in_(kinds))  # type: ignore[attr-defined]
    if from_date:
        query = query.where(c.at >= datetime.combine(from_date, time.min, UTC))
    if to_date:
        query = query.where(c.at <= datetime.combine(to_date, time.max, UTC))
    if cursor:
        at, entry_id = _decode(cursor)
        query = query.where(or_(c.at < at, and_(c.at == at, c.id < entry_id)))
    rows = (await session.exec(query.order_by(c.at.desc(), c.id.desc()).limit(limit + 1))).all()  # type: ignore
    more = len(rows) > limit
    rows = rows[:limit]
    await audit.record(session, actor=principal, action="read", resource_type="chronology", resource_id=child.id,
                       child_id=child.id)
    return Page(items=[ChronologyEntryPublic.model_validate(e, from_attributes=True) for e in rows],
                next_cursor=_encode(rows[-1].at, rows[-1].id) if more and rows else None)
