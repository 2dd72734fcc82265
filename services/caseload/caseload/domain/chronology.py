"""The child's one timeline: writing entries (once per fact) and reading them, newest first, filtered and paged
with an opaque cursor, with the sensitivity rule applied in the query."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, TypedDict, Unpack

from sqlalchemy import bindparam, exists, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.driver import DriverStatement, flush_pending
from tas_common.events import EventPayload, new_event
from tas_common.outbox import add_event
from tas_common.paging import Key, Keyset, Page
from tas_common.tables import table_of

from .access import chronology_visibility, visible_child
from .child_schemas import ChronologyEntryPublic
from .models import Child, ChronologyEntry, new_id

SOURCE = "tas/caseload"

_entry = table_of(ChronologyEntry)
_child = table_of(Child)
_FACT = (
    select(_entry.c.id)
    .where(
        _entry.c.child_id == bindparam("child_id"),
        _entry.c.kind == bindparam("kind"),
        _entry.c.ref_id == bindparam("ref_id"),
    )
    .limit(1)
)
_ADD_FACT = DriverStatement(
    insert(_entry).from_select(
        [c.name for c in _entry.columns],
        select(*[bindparam(c.name, type_=c.type) for c in _entry.columns]).where(
            exists().where(_child.c.id == bindparam("child_id")),
            ~exists().where(
                _entry.c.child_id == bindparam("child_id"),
                _entry.c.kind == bindparam("kind"),
                _entry.c.ref_id == bindparam("ref_id"),
            ),
        ),
    ),
    columns=[c.name for c in _entry.columns],
)
"""An entry, written only if caseload holds the child and the fact is not on its timeline yet: one statement."""
_INSERT_ENTRY = DriverStatement(insert(_entry), columns=[c.name for c in _entry.columns])
"""On the driver's cursor (tas_common/driver.py): the event handlers write an entry for nearly every event."""


async def fact_recorded(session: AsyncSession, *, child_id: str, kind: str, ref_id: str) -> bool:
    """Whether this fact (kind + the thing it is about) is already on the timeline: a second event carrying the
    same fact under another event id must change nothing."""
    return (await session.execute(_FACT, {"child_id": child_id, "kind": kind, "ref_id": ref_id})).first() is not None


class Provenance(TypedDict, total=False):
    """Where an entry comes from and who may read it: the optional fields of a chronology entry."""

    sensitivity: str  # "team" unless given
    ref_type: str | None
    source_event_id: str | None
    org_id: str | None
    org_type: str | None


class EntryFields(Provenance, total=False):
    ref_id: str | None
    at: datetime | None  # now unless given


def entry_row(*, child_id: str, kind: str, summary: str, **fields: Unpack[EntryFields]) -> dict[str, Any]:
    """A chronology entry's columns (but its id), written by the ORM (`add_entry`) or a Core statement
    (`write_entry`)."""
    return {
        "child_id": child_id,
        "at": fields.get("at") or utcnow(),
        "kind": kind,
        "summary": summary[:500],
        "sensitivity": fields.get("sensitivity", "team"),
        "ref_type": fields.get("ref_type"),
        "ref_id": fields.get("ref_id"),
        "source_event_id": fields.get("source_event_id"),
        "org_id": fields.get("org_id"),
        "org_type": fields.get("org_type"),
    }


async def add_fact_once(
    session: AsyncSession, *, child_id: str, kind: str, ref_id: str, summary: str, **fields: Unpack[Provenance]
) -> bool:
    """Write the entry for this fact unless it is on the timeline already (see fact_recorded) or caseload holds
    no child `child_id`; returns whether it was written. One statement for both checks and the write."""
    await flush_pending(session)  # an entry added through the ORM earlier in this unit of work
    row = {"id": new_id(), **entry_row(child_id=child_id, kind=kind, summary=summary, ref_id=ref_id, **fields)}
    return await _ADD_FACT.execute(session, row) == 1


async def write_entry(
    session: AsyncSession, *, child_id: str, kind: str, summary: str, **fields: Unpack[EntryFields]
) -> None:
    """`add_entry`, written at once with a statement built once (no ORM object): for the event handlers."""
    await flush_pending(session)  # e.g. a child added through the ORM that the entry refers to
    await _INSERT_ENTRY.execute(
        session, {"id": new_id(), **entry_row(child_id=child_id, kind=kind, summary=summary, **fields)}
    )


def add_entry(session: AsyncSession, *, child_id: str, kind: str, summary: str, **fields: Unpack[EntryFields]) -> None:
    session.add(ChronologyEntry(**entry_row(child_id=child_id, kind=kind, summary=summary, **fields)))


async def record_change(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    action: str,
    kind: str,
    summary: str,
    ref_type: str,
    ref_id: str,
    sensitivity: str = "team",
    reason: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    event: EventPayload | None = None,
) -> None:
    """A change `principal` made to the child's record: its `event` (if any, about the child), its chronology entry
    (by their organisation) and its audit row (`action` on the resource, by default the entry's `ref_type` and
    `ref_id`)."""
    if event is not None:
        await add_event(session, new_event(event, source=SOURCE, subject=child_id))
    add_entry(
        session,
        child_id=child_id,
        kind=kind,
        summary=summary,
        sensitivity=sensitivity,
        ref_type=ref_type,
        ref_id=ref_id,
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    await audit.record(
        session,
        actor=principal,
        action=action,
        resource_type=resource_type or ref_type,
        resource_id=resource_id or ref_id,
        child_id=child_id,
        reason=reason,
    )


ORDER = Keyset("chronology", Key(ChronologyEntry.at, descending=True), Key(ChronologyEntry.id, descending=True))
"""Newest first."""


async def timeline(
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: str,
    limit: int = 50,
    kinds: list[str] | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
    cursor: str | None = None,
) -> Page[ChronologyEntryPublic]:
    child = await visible_child(session, principal, child_id)
    c = ChronologyEntry
    query = select(c).where(c.child_id == child.id, chronology_visibility(principal, child))
    if kinds:
        query = query.where(col(c.kind).in_(kinds))
    if from_date:
        query = query.where(col(c.at) >= datetime.combine(from_date, time.min, UTC))
    if to_date:
        query = query.where(col(c.at) <= datetime.combine(to_date, time.max, UTC))
    if cursor:
        query = query.where(ORDER.after(cursor))
    rows = (await session.exec(query.order_by(*ORDER.order_by()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    await audit.record(
        session, actor=principal, action="read", resource_type="chronology", resource_id=child.id, child_id=child.id
    )
    return Page(
        items=[ChronologyEntryPublic.model_validate(e, from_attributes=True) for e in rows],
        next_cursor=ORDER.cursor((rows[-1].at, rows[-1].id)) if more and rows else None,
    )
