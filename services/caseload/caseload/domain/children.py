"""Use cases for the child's record. Service functions never commit: the caller's unit of work does."""
from __future__ import annotations

from sqlmodel import or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import (ChildRegisteredV1, ConcernLinkedV1, ConcernRaisedV1, FamilyContactChangedV1,
                                       FamilyContactV1)
from tas_common.outbox import add_event

from .access import can_see_child
from .models import Child, ChronologyEntry, FamilyMember
from .schemas import ChildPublic, ChronologyEntryPublic

SOURCE = "tas/caseload"


async def _match(session: AsyncSession, child: ConcernRaisedV1) -> tuple[Child | None, str, Child | None]:
    """UPN, then NHS number; a name + date of birth + school match is only a *possible* duplicate."""
    by_upn = (await session.exec(select(Child).where(Child.upn == child.child.upn))).first()
    if by_upn is not None:
        return by_upn, "upn", None
    if child.child.nhs_number:
        by_nhs = (await session.exec(select(Child).where(Child.nhs_number == child.child.nhs_number))).first()
        if by_nhs is not None:
            return by_nhs, "nhs_number", None
    similar = (await session.exec(select(Child).where(
        Child.given_name == child.child.given_name, Child.family_name == child.child.family_name,
        Child.date_of_birth == child.child.date_of_birth, Child.school_urn == child.school_urn))).first()
    return None, "created", similar


async def _merge_contact(session: AsyncSession, child_id: str, contact: FamilyContactV1) -> tuple[FamilyMember, bool]:
    conditions = [FamilyMember.mobile == contact.mobile] if contact.mobile else []
    conditions += [FamilyMember.email == contact.email] if contact.email else []
    existing = None
    if conditions:
        existing = (await session.exec(select(FamilyMember).where(
            FamilyMember.child_id == child_id, or_(*conditions)))).first()
    if existing is not None:
        changed = (existing.preferred_channel, existing.language, existing.parental_responsibility) != (
            contact.preferred_channel, contact.language, contact.parental_responsibility)
        existing.preferred_channel, existing.language = contact.preferred_channel, contact.language
        existing.parental_responsibility = contact.parental_responsibility
        existing.mobile, existing.email = contact.mobile or existing.mobile, contact.email or existing.email
        session.add(existing)
        return existing, changed
    member = FamilyMember(child_id=child_id, name=contact.name, relationship=contact.relationship,
                          parental_responsibility=contact.parental_responsibility, mobile=contact.mobile,
                          email=contact.email, preferred_channel=contact.preferred_channel, language=contact.language)
    session.add(member)
    return member, True


def contact_changed_event(member: FamilyMember) -> CloudEvent:
    return new_event(FamilyContactChangedV1(
        child_id=member.child_id, contact_id=member.id, relationship=member.relationship,
        parental_responsibility=member.parental_responsibility, mobile=member.mobile, email=member.email,
        preferred_channel=member.preferred_channel, language=member.language, opted_out=member.opted_out,
    ), source=SOURCE, subject=member.child_id)


async def register_concern(session: AsyncSession, *, concern: ConcernRaisedV1, event_id: str) -> Child:
    """Match or create the child for an incoming concern, keep the family's contacts, write the chronology."""
    child, match, similar = await _match(session, concern)
    new_child = child is None
    if child is None:
        identity = concern.child
        child = Child(upn=identity.upn, nhs_number=identity.nhs_number, given_name=identity.given_name,
                      family_name=identity.family_name, date_of_birth=identity.date_of_birth,
                      year_group=identity.year_group, school_urn=concern.school_urn, la_code=concern.la_code,
                      possible_duplicate_of=similar.id if similar else None)
        session.add(child)
        await session.flush()
        await add_event(session, new_event(ChildRegisteredV1(
            child_id=child.id, school_urn=child.school_urn, la_code=child.la_code, concern_id=concern.concern_id,
        ), source=SOURCE, subject=child.id))
    members = []
    for contact in concern.family_contacts:
        member, changed = await _merge_contact(session, child.id, contact)
        await session.flush()
        members.append(member)
        if changed:
            await add_event(session, contact_changed_event(member))
    areas = ", ".join(a.replace("_", " ") for a in concern.areas_of_need) or "not stated"
    session.add(ChronologyEntry(
        child_id=child.id, at=utcnow(), kind="concern_raised", ref_type="concern", ref_id=concern.concern_id,
        summary=f"Concern raised by school {concern.school_urn} ({concern.urgency}; areas of need: {areas})",
        sensitivity="restricted" if concern.safeguarding else "team", source_event_id=event_id))
    await audit.record(session, actor=None, action="create" if new_child else "update", resource_type="child",
                       resource_id=child.id, child_id=child.id, reason=f"concern {concern.concern_id}")
    await add_event(session, new_event(ConcernLinkedV1(
        child_id=child.id, concern_id=concern.concern_id, school_urn=child.school_urn, la_code=child.la_code,
        new_child=new_child, match=match, possible_duplicate_of=child.possible_duplicate_of,
        safeguarding=concern.safeguarding, family_contact_ids=[m.id for m in members],
    ), source=SOURCE, subject=child.id))
    return child


async def _visible_child(session: AsyncSession, principal: Principal, child_id: str) -> Child:
    child = await session.get(Child, child_id)
    if child is None or not can_see_child(principal, child):
        raise NotFound("no such child")
    return child


async def find_children(session: AsyncSession, *, principal: Principal, upn: str) -> list[ChildPublic]:
    found = (await session.exec(select(Child).where(Child.upn == upn.upper()))).all()
    visible = [c for c in found if can_see_child(principal, c)]
    for child in visible:
        await audit.record(session, actor=principal, action="search", resource_type="child", resource_id=child.id,
                           child_id=child.id)
    return [ChildPublic.model_validate(c, from_attributes=True) for c in visible]


async def get_child(session: AsyncSession, *, principal: Principal, child_id: str) -> ChildPublic:
    child = await _visible_child(session, principal, child_id)
    await audit.record(session, actor=principal, action="read", resource_type="child", resource_id=child.id,
                       child_id=child.id)
    return ChildPublic.model_validate(child, from_attributes=True)


async def chronology(session: AsyncSession, *, principal: Principal, child_id: str,
                     limit: int = 50) -> list[ChronologyEntryPublic]:
    child = await _visible_child(session, principal, child_id)
    entries = (await session.exec(select(ChronologyEntry).where(ChronologyEntry.child_id == child.id)
                                  .order_by(ChronologyEntry.at.desc()).limit(limit))).all()
    await audit.record(session, actor=principal, action="read", resource_type="chronology", resource_id=child.id,
                       child_id=child.id)
    return [ChronologyEntryPublic.model_validate(e, from_attributes=True) for e in entries]
