"""Notify's replicas of other services' data, built from their events: the contacts it may message (caseload's
`family.contact_changed`), each child's school and LA (for who may read), and each child's team."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy import select as core_select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.events.schemas import FamilyContactChangedV1, TeamMemberV1

from . import recipients
from .models import ChildScope, Contact, TeamMember, dialect_of, per_dialect
from .scheduling import aware

_contact = Contact.__table__
_scope = ChildScope.__table__
# Statements of the event handlers' hot path, built once (Core: no ORM identity map, no flush per row).
_CONTACT_STATE = core_select(_contact.c.preferences_set_at, _contact.c.opted_out).where(
    _contact.c.id == bindparam("b_id")
)
_INSERT_CONTACT = insert(_contact)
_UPDATE_CONTACT = update(_contact).where(_contact.c.id == bindparam("b_id"))


def _put_scope(dialect_insert: Callable[..., Any]) -> Any:
    statement = dialect_insert(_scope)
    return statement.on_conflict_do_update(
        index_elements=[_scope.c.child_id],
        set_={"school_urn": statement.excluded.school_urn, "la_code": statement.excluded.la_code},
    )


_PUT_SCOPE = per_dialect(_put_scope)
_ADD_SCOPE = per_dialect(
    lambda dialect_insert: dialect_insert(_scope).on_conflict_do_nothing(index_elements=[_scope.c.child_id])
)


async def upsert_contact(session: AsyncSession, *, change: FamilyContactChangedV1, event_time: datetime) -> None:
    """Caseload owns contact data. A preference the contact set here later than this event is kept; an opt-out
    recorded here stays in the suppression list whatever caseload says."""
    known = (await session.execute(_CONTACT_STATE, {"b_id": change.contact_id})).first()
    local_newer = (
        known is not None
        and known.preferences_set_at is not None
        and aware(known.preferences_set_at) > aware(event_time)
    )
    values: dict[str, object] = {
        "child_id": change.child_id,
        "relationship": change.relationship,
        "parental_responsibility": change.parental_responsibility,
        "mobile": change.mobile,
        "email": change.email,
        "removed": change.removed,
        "opted_out": change.opted_out or (local_newer and bool(known.opted_out)),
        "updated_at": utcnow(),
    }
    if not local_newer:
        values |= {"preferred_channel": change.preferred_channel, "language": change.language}
    if known is None:
        await session.execute(_INSERT_CONTACT, {**values, "id": change.contact_id, "preferences_set_at": None})
    else:
        await session.execute(_UPDATE_CONTACT, {**values, "b_id": change.contact_id})
    if change.opted_out:
        await suppress_contact(session, contact=change, source="caseload opt-out")


async def suppress_contact(session: AsyncSession, *, contact: Contact | FamilyContactChangedV1, source: str) -> None:
    """Put each usable address of the contact on the suppression list as an opt-out."""
    for channel, raw in (("sms", contact.mobile), ("email", contact.email)):
        if raw:
            try:
                address = recipients.normalise(channel, raw)
            except recipients.InvalidRecipient:
                continue
            await recipients.suppress(session, channel=channel, address=address, reason="opt-out", source=source)


async def remember_child_scope(
    session: AsyncSession, *, child_id: str, school_urn: str, la_code: str | None, only_if_unknown: bool = False
) -> None:
    statement = (_ADD_SCOPE if only_if_unknown else _PUT_SCOPE)[dialect_of(session)]
    await session.execute(statement, {"child_id": child_id, "school_urn": school_urn, "la_code": la_code})


async def team_member_changed(session: AsyncSession, *, member: TeamMemberV1, added: bool) -> None:
    key = (member.child_id, member.member_sub, member.org_id)
    existing = await session.get(TeamMember, key)
    if added and existing is None:
        session.add(TeamMember(child_id=member.child_id, member_sub=member.member_sub, org_id=member.org_id))
    elif not added and existing is not None:
        await session.delete(existing)
        await session.flush()
