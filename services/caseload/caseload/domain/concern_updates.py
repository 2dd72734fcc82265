"""A concern caseload linked to a child changed: the school's MIS re-sent it with changed content and referral made
a new version (`tas.referral.concern.updated`). The chronology says so (which fields, never the words); a concern
that became a safeguarding one marks the child and restricts family contact, as a new safeguarding concern does, and
the chronology's entries about it become restricted."""

from __future__ import annotations

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.consumer_spec import RetryLater
from tas_common.events.schemas import ConcernUpdatedV1
from tas_common.outbox import add_event

from .chronology import write_entry
from .models import Child, ChronologyEntry
from .restriction import restrict_for_safeguarding


async def child_of_concern(session: AsyncSession, *, child_id: str | None, concern_id: str) -> Child:
    """The child an event about a concern is about: by id when referral knew it, else through the concern caseload
    linked (its `concern_raised` entry), followed to the survivor of a merge. RetryLater while caseload has not
    registered the concern yet."""
    child = await session.get(Child, child_id) if child_id else None
    if child is None:
        found = (
            await session.exec(
                select(ChronologyEntry.child_id).where(
                    ChronologyEntry.kind == "concern_raised", ChronologyEntry.ref_id == concern_id
                )
            )
        ).first()
        child = await session.get(Child, found) if found else None
    if child is None:
        raise RetryLater("the concern has not reached caseload yet")
    while child.merged_into:
        survivor = await session.get(Child, child.merged_into)
        if survivor is None:
            break
        child = survivor
    return child


async def concern_updated(session: AsyncSession, *, change: ConcernUpdatedV1, event_id: str) -> None:
    child = await child_of_concern(session, child_id=change.child_id, concern_id=change.concern_id)
    if change.safeguarding:
        was_restricted = child.family_contact_restricted
        if not (child.safeguarding and child.family_contact_restricted):
            child.safeguarding = child.family_contact_restricted = True
            session.add(child)
        await session.exec(
            update(ChronologyEntry)
            .where(col(ChronologyEntry.ref_type) == "concern", col(ChronologyEntry.ref_id) == change.concern_id)
            .values(sensitivity="restricted")
        )
        if not was_restricted:
            await add_event(
                session,
                await restrict_for_safeguarding(
                    session, child_id=child.id, concern_id=change.concern_id, event_id=event_id, escalated=True
                ),
            )
    fields = ", ".join(f.replace("_", " ") for f in change.changed_fields)
    summary = f"Concern updated by the school's MIS (version {change.version}: {fields})"
    if change.escalated:
        summary += "; it is now a safeguarding concern"
    await write_entry(
        session,
        child_id=child.id,
        kind="concern_updated",
        ref_type="concern",
        ref_id=change.concern_id,
        summary=summary,
        sensitivity="restricted" if change.safeguarding else "team",
        source_event_id=event_id,
        org_type="school",
    )
    await audit.record(
        session,
        actor=None,
        action="update",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=f"concern {change.concern_id} version {change.version}",
    )
