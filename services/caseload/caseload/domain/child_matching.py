"""Which child a concern is about: by UPN, then NHS number (a merged record's concerns go to its survivor); a
name + date of birth + school match is only a *possible* duplicate."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, union_all
from sqlalchemy import select as core_select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.driver import DriverStatement, flush_pending
from tas_common.events.schemas import ConcernRaisedV1
from tas_common.tables import table_of

from .models import Child


class MatchedChild(NamedTuple):
    """A child record as the matching reads it."""

    id: str
    given_name: str
    upn: str | None
    nhs_number: str | None
    school_urn: str
    la_code: str | None
    safeguarding: bool
    family_contact_restricted: bool
    possible_duplicate_of: str | None
    merged_into: str | None


_child = table_of(Child)
_CHILD_COLUMNS = (
    _child.c.id,
    _child.c.given_name,
    _child.c.upn,
    _child.c.nhs_number,
    _child.c.school_urn,
    _child.c.la_code,
    _child.c.safeguarding,
    _child.c.family_contact_restricted,
    _child.c.possible_duplicate_of,
    _child.c.merged_into,
)
_MATCH = DriverStatement(
    union_all(
        core_select(*_CHILD_COLUMNS).where(_child.c.upn == bindparam("upn")),
        core_select(*_CHILD_COLUMNS).where(_child.c.nhs_number == bindparam("nhs_number")),
        core_select(*_CHILD_COLUMNS).where(
            _child.c.date_of_birth == bindparam("date_of_birth"),
            _child.c.family_name == bindparam("family_name"),
            _child.c.given_name == bindparam("given_name"),
            _child.c.school_urn == bindparam("school_urn"),
            _child.c.merged_into.is_(None),
        ),
    )
)
"""The candidates of the three kinds, each branch by its own index (the UPN's, the NHS number's, ix_child_identity).
One `OR` of the three was planned on PostgreSQL as a sequential scan on a table never analysed (a new deployment),
and a connection kept that generic plan as the table grew: at 150 concerns/s it read the whole table for every
concern. (A table analysed while nearly empty gets a scan for either form until its next analyse.) bench/NOTES.md,
issue 18 session 11."""
_CHILD_BY_ID = DriverStatement(core_select(*_CHILD_COLUMNS).where(_child.c.id == bindparam("id")))
"""On the driver's cursor (tas_common/driver.py): every concern runs the match."""


async def match_child(session: AsyncSession, concern: ConcernRaisedV1) -> tuple[MatchedChild | None, str, str | None]:
    """UPN, then NHS number; a name + date of birth + school match is only a *possible* duplicate. One query
    finds the candidates of all three kinds (each by an index); the first kind that matches wins."""
    identity = concern.child
    await flush_pending(session)  # a child changed through the ORM earlier in this unit of work
    found = [
        MatchedChild(*row)
        for row in await _MATCH.all(
            session,
            {
                "upn": identity.upn,
                "nhs_number": identity.nhs_number or None,
                "given_name": identity.given_name,
                "family_name": identity.family_name,
                "date_of_birth": identity.date_of_birth,
                "school_urn": concern.school_urn,
            },
        )
    ]
    rows = sorted(found, key=lambda row: row.merged_into is not None)  # unmerged records first
    by_upn = next((r for r in rows if r.upn == identity.upn), None)
    if by_upn is not None:
        return await _survivor(session, by_upn), "upn", None
    by_nhs = next((r for r in rows if identity.nhs_number and r.nhs_number == identity.nhs_number), None)
    if by_nhs is not None:  # unmerged records first (sorted above)
        return await _survivor(session, by_nhs), "nhs_number", None
    # what is left can only be a record with the same name, date of birth and school
    return None, "created", rows[0].id if rows else None


async def _survivor(session: AsyncSession, child: MatchedChild) -> MatchedChild:
    """A merged record's concerns go to the record it was merged into."""
    seen = {child.id}
    while child.merged_into:
        row = await _CHILD_BY_ID.first(session, {"id": child.merged_into})
        if row is None or row[0] in seen:
            break
        child = MatchedChild(*row)
        seen.add(child.id)
    return child
