"""The child's "family contact restricted" flag. While it is set no message and no sign-in code goes to the
child's family (notify keeps a replica from `tas.caseload.child.family_contact_restriction_changed`), and family
tokens do not open the child's record. It is set by default when a safeguarding concern is raised about the child;
the DSL of the child's school, or the LA's children's social care on the child's team (the front door that took
the safeguarding referral, or the allocated social worker), sets or lifts it by hand with a reason. Every change is kept
(who, when, why), audited, on the chronology (without the reason) and emitted."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Conflict, Forbidden
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import FamilyContactRestrictionChangedV1
from tas_common.outbox import add_event
from tas_common.tables import table_of
from tas_common.visibility import is_safeguarding_lead

from .access import active_membership, visible_child
from .chronology import add_entry, write_entry
from .family_schemas import RestrictionChange, RestrictionPublic, RestrictionUpdate
from .models import Child, FamilyContactRestriction, new_id

SOURCE = "tas/caseload"
SAFEGUARDING_REASON = "A safeguarding concern was raised"
Source = Literal["safeguarding_concern", "practitioner"]
"""What set or lifted the flag: a safeguarding concern (by default), or a practitioner by hand."""


def changed_event(child_id: str, *, restricted: bool, source: Source, at: datetime) -> CloudEvent:
    return new_event(
        FamilyContactRestrictionChangedV1(
            child_id=child_id,
            restricted=restricted,
            source=source,
            changed_at=at,
        ),
        source=SOURCE,
        subject=child_id,
    )


def history_row(child_id: str, *, at: datetime) -> dict[str, object]:
    """The history row of a restriction set by a safeguarding concern (register_concern writes it with Core)."""
    return {
        "id": new_id(),
        "child_id": child_id,
        "restricted": True,
        "reason": SAFEGUARDING_REASON,
        "source": "safeguarding_concern",
        "by_sub": "system",
        "by_org": "system",
        "by_org_type": "system",
        "at": at,
    }


INSERT_RESTRICTION = insert(table_of(FamilyContactRestriction))
"""Built once (the event handlers write with Core)."""


async def restrict_for_safeguarding(
    session: AsyncSession, *, child_id: str, concern_id: str, event_id: str, escalated: bool = False
) -> CloudEvent:
    """A safeguarding concern (raised as one, or `escalated` to one by a later version) restricts the child's family
    contact until the DSL or the LA's front door lifts it: the history row and the chronology entry are written;
    the change's event is returned for the caller to emit in its order."""
    now = utcnow()
    await session.execute(INSERT_RESTRICTION, history_row(child_id, at=now))
    why = "a concern became a safeguarding concern" if escalated else "a safeguarding concern was raised"
    await write_entry(
        session,
        child_id=child_id,
        kind="family_contact_restricted",
        ref_type="concern",
        ref_id=concern_id,
        summary=f"Family contact restricted ({why}): no messages or sign-in codes go to the family until the DSL "
        "lifts it",
        source_event_id=event_id,
        org_type="system",
    )
    return changed_event(child_id, restricted=True, source="safeguarding_concern", at=now)


async def may_change(session: AsyncSession, principal: Principal, child: Child) -> bool:
    """The DSL of the child's school, or children's social care on the child's team."""
    if principal.org_type == OrgType.school:
        return is_safeguarding_lead(principal, child) and principal.has_role("dsl")
    if principal.org_type == OrgType.social_care:
        return await active_membership(session, principal, child.id) is not None
    return False


async def _public(session: AsyncSession, child: Child) -> RestrictionPublic:
    rows = (
        await session.exec(
            select(FamilyContactRestriction)
            .where(FamilyContactRestriction.child_id == child.id)
            .order_by(col(FamilyContactRestriction.at).desc())
        )
    ).all()
    return RestrictionPublic(
        child_id=child.id,
        restricted=child.family_contact_restricted,
        history=[RestrictionChange.model_validate(r, from_attributes=True) for r in rows],
    )


async def get_restriction(session: AsyncSession, *, principal: Principal, child_id: str) -> RestrictionPublic:
    child = await visible_child(session, principal, child_id)
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="family_contact_restriction",
        resource_id=child.id,
        child_id=child.id,
    )
    return await _public(session, child)


async def set_restriction(
    session: AsyncSession, *, principal: Principal, child_id: str, data: RestrictionUpdate
) -> RestrictionPublic:
    child = await visible_child(session, principal, child_id, write=True)
    if not await may_change(session, principal, child):
        raise Forbidden(
            "the DSL of the child's school, or children's social care on the child's team, sets and lifts "
            "the restriction"
        )
    if child.family_contact_restricted == data.restricted:
        raise Conflict("family contact is already " + ("restricted" if data.restricted else "not restricted"))
    now = utcnow()
    child.family_contact_restricted = data.restricted
    session.add(child)
    session.add(
        FamilyContactRestriction(
            child_id=child.id,
            restricted=data.restricted,
            reason=data.reason,
            source="practitioner",
            by_sub=principal.sub,
            by_org=principal.org_id,
            by_org_type=str(principal.org_type),
            at=now,
        )
    )
    await add_event(session, changed_event(child.id, restricted=data.restricted, source="practitioner", at=now))
    add_entry(
        session,
        child_id=child.id,
        kind="family_contact_restricted" if data.restricted else "family_contact_lifted",
        summary="Family contact restricted: no messages or sign-in codes go to the family"
        if data.restricted
        else "Family contact restriction lifted: messages to the family resume",
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    await audit.record(
        session,
        actor=principal,
        action="restrict_family_contact" if data.restricted else "lift_family_contact_restriction",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=data.reason[:500],
    )
    await session.flush()
    return await _public(session, child)
