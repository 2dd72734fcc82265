"""Use cases for the child's record. Service functions never commit: the caller's unit of work does."""
from __future__ import annotations

from sqlmodel import or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, InvalidInput, NotFound
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import (ChildRegisteredV1, ConcernLinkedV1, ConcernRaisedV1, FamilyContactChangedV1,
                                       FamilyContactV1)
from tas_common.outbox import add_event

from . import plan as plans
from .access import can_see_child, is_la_officer, may_break_glass, visible_child
from .chronology import add_entry
from .models import Child, ChronologyEntry, EhcRequest, FamilyMember, Plan, Review, TeamMember
from .schemas import ChildPublic, ChildSearchPage, PossibleDuplicate

SOURCE = "tas/caseload"


async def _match(session: AsyncSession, child: ConcernRaisedV1) -> tuple[Child | None, str, Child | None]:
    """UPN, then NHS number; a name + date of birth + school match is only a *possible* duplicate."""
    by_upn = (await session.exec(select(Child).where(Child.upn == child.child.upn))).first()
    if by_upn is not None:
        return await _survivor(session, by_upn), "upn", None
    if child.child.nhs_number:
        by_nhs = (await session.exec(select(Child).where(Child.nhs_number == child.child.nhs_number)
                                     .order_by(Child.merged_into.is_not(None)))).first()  # type: ignore[union-attr]
        if by_nhs is not None:
            return await _survivor(session, by_nhs), "nhs_number", None
    similar = (await session.exec(select(Child).where(
        Child.given_name == child.child.given_name, Child.family_name == child.child.family_name,
        Child.date_of_birth == child.child.date_of_birth, Child.school_urn == child.school_urn,
        Child.merged_into.is_(None)))).first()  # type: ignore[union-attr]
    return None, "created", similar


async def _survivor(session: AsyncSession, child: Child) -> Child:
    """A merged record's concerns go to the record it was merged into."""
    seen = {child.id}
    while child.merged_into:
        survivor = await session.get(Child, child.merged_into)
        if survivor is None or survivor.id in seen:
            break
        seen.add(survivor.id)
        child = survivor
    return child


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
        session.add(Plan(child_id=child.id))
        await add_event(session, new_event(ChildRegisteredV1(
            child_id=child.id, school_urn=child.school_urn, la_code=child.la_code, concern_id=concern.concern_id,
        ), source=SOURCE, subject=child.id))
    if concern.safeguarding and not child.safeguarding:
        child.safeguarding = True
        session.add(child)
    members = []
    for contact in concern.family_contacts:
        member, changed = await _merge_contact(session, child.id, contact)
        await session.flush()
        members.append(member)
        if changed:
            await add_event(session, contact_changed_event(member))
    areas = ", ".join(a.replace("_", " ") for a in concern.areas_of_need) or "not stated"
    add_entry(session, child_id=child.id, kind="concern_raised", ref_type="concern", ref_id=concern.concern_id,
              summary=f"Concern raised by school {concern.school_urn} ({concern.urgency}; areas of need: {areas})",
              sensitivity="restricted" if concern.safeguarding else "team", source_event_id=event_id,
              org_id=concern.raised_by_org, org_type="school")
    await audit.record(session, actor=None, action="create" if new_child else "update", resource_type="child",
                       resource_id=child.id, child_id=child.id, reason=f"concern {concern.concern_id}")
    await add_event(session, new_event(ConcernLinkedV1(
        child_id=child.id, concern_id=concern.concern_id, school_urn=child.school_urn, la_code=child.la_code,
        new_child=new_child, match=match, possible_duplicate_of=child.possible_duplicate_of,
        safeguarding=concern.safeguarding, family_contact_ids=[m.id for m in members],
    ), source=SOURCE, subject=child.id))
    return child


async def find_children(session: AsyncSession, *, principal: Principal, upn: str) -> ChildSearchPage:
    """The children with this UPN the caller may see. To a role that may break glass, a child it may not see is
    answered only as an id under `break_glass_required` (so that it can open the record by giving a reason);
    to anyone else such a child does not exist."""
    found = (await session.exec(select(Child).where(Child.upn == upn.upper(),
                                                    Child.merged_into.is_(None)))).all()  # type: ignore
    visible, hidden = [], []
    for child in found:
        (visible if await can_see_child(session, principal, child) else hidden).append(child)
    for child in visible:
        await audit.record(session, actor=principal, action="search", resource_type="child", resource_id=child.id,
                           child_id=child.id)
    hints = [c.id for c in hidden] if may_break_glass(principal) else []
    for child_id in hints:
        await audit.record(session, actor=principal, action="search_break_glass_hint", resource_type="child",
                           resource_id=child_id, child_id=child_id)
    return ChildSearchPage(items=[ChildPublic.model_validate(c, from_attributes=True) for c in visible],
                           break_glass_required=hints)


async def get_child(session: AsyncSession, *, principal: Principal, child_id: str) -> ChildPublic:
    child = await visible_child(session, principal, child_id)
    await audit.record(session, actor=principal, action="read", resource_type="child", resource_id=child.id,
                       child_id=child.id)
    return ChildPublic.model_validate(child, from_attributes=True)


def _scope_filter(principal: Principal):  # type: ignore[no-untyped-def]
    if principal.org_type == OrgType.local_authority:
        return Child.la_code == principal.la_code
    return Child.school_urn.in_(principal.school_urns)  # type: ignore[attr-defined]


async def possible_duplicates(session: AsyncSession, *, principal: Principal) -> list[PossibleDuplicate]:
    """Records flagged as possibly the same child as another, for the school's leads or the LA to decide."""
    flagged = (await session.exec(select(Child).where(
        Child.possible_duplicate_of.is_not(None), Child.merged_into.is_(None),  # type: ignore[union-attr]
        _scope_filter(principal)).order_by(Child.created_at))).all()
    pairs = []
    for child in flagged:
        other = await session.get(Child, child.possible_duplicate_of)
        if other is None or other.merged_into or not (await can_see_child(session, principal, child)
                                                      and await can_see_child(session, principal, other)):
            continue
        for c in (child, other):
            await audit.record(session, actor=principal, action="read", resource_type="child", resource_id=c.id,
                               child_id=c.id, reason="possible duplicates")
        pairs.append(PossibleDuplicate(child=ChildPublic.model_validate(child, from_attributes=True),
                                       possible_duplicate_of=ChildPublic.model_validate(other, from_attributes=True)))
    return pairs


def _may_merge(principal: Principal, a: Child, b: Child) -> bool:
    if principal.org_type == OrgType.local_authority:
        return is_la_officer(principal, a) and is_la_officer(principal, b)
    return (principal.org_type == OrgType.school and principal.has_role("senco")
            and {a.school_urn, b.school_urn} <= principal.school_urns)


async def merge(session: AsyncSession, *, principal: Principal, survivor_id: str, duplicate_id: str) -> ChildPublic:
    """Merge `duplicate_id` into `survivor_id`, keeping all history: family, team, plan items, reviews, clocks and
    the chronology move to the survivor; the duplicate stays as a tombstone that points to it (410)."""
    survivor = await visible_child(session, principal, survivor_id, write=True)
    if duplicate_id == survivor.id:
        raise InvalidInput("a record cannot be merged into itself", field="duplicate_id")
    duplicate = await session.get(Child, duplicate_id)
    if duplicate is None or duplicate.merged_into or not await can_see_child(session, principal, duplicate):
        raise NotFound("no such duplicate child")
    if not _may_merge(principal, survivor, duplicate):
        raise Forbidden("merging needs the LA's SEND officer or the SENCO of both children's schools")
    for model in (FamilyMember, ChronologyEntry, Review, EhcRequest):
        await session.execute(update(model).where(model.child_id == duplicate.id)  # type: ignore[arg-type]
                           .values(child_id=survivor.id))
    moved_team = (await session.exec(select(TeamMember).where(TeamMember.child_id == duplicate.id))).all()
    current = {(m.sub, m.org_id): m for m in (await session.exec(select(TeamMember).where(
        TeamMember.child_id == survivor.id, TeamMember.left_at.is_(None)))).all()}  # type: ignore[union-attr]
    for member in moved_team:
        same = current.get((member.sub, member.org_id)) if member.left_at is None else None
        if same is not None:  # already on the survivor's team: one membership, every open referral kept
            same.referral_ids = sorted(set(same.referral_ids) | set(member.referral_ids))
            same.lead = same.lead or member.lead
            member.left_at = utcnow()
            member.lead = False
            session.add(same)
        member.child_id = survivor.id
        session.add(member)
    await session.flush()
    leads = [m for m in (await session.exec(select(TeamMember).where(
        TeamMember.child_id == survivor.id, TeamMember.lead.is_(True)))).all()]  # type: ignore[attr-defined]
    for extra in leads[1:]:  # one lead professional: the survivor's (or the first) stays
        extra.lead = False
        session.add(extra)
    await plans.absorb(session, principal=principal, survivor=survivor, duplicate=duplicate)
    survivor.safeguarding = survivor.safeguarding or duplicate.safeguarding
    survivor.nhs_number = survivor.nhs_number or duplicate.nhs_number
    if survivor.possible_duplicate_of == duplicate.id:
        survivor.possible_duplicate_of = None
    duplicate.merged_into, duplicate.merged_at, duplicate.possible_duplicate_of = survivor.id, utcnow(), None
    session.add_all([survivor, duplicate])
    await session.flush()
    for member in (await session.exec(select(FamilyMember).where(FamilyMember.child_id == survivor.id))).all():
        await add_event(session, contact_changed_event(member))
    add_entry(session, child_id=survivor.id, kind="child_merged", ref_type="child", ref_id=duplicate.id,
              summary="A duplicate record of this child was merged into this one; its history now shows here",
              org_id=principal.org_id, org_type=str(principal.org_type))
    for c in (survivor, duplicate):
        await audit.record(session, actor=principal, action="merge", resource_type="child", resource_id=c.id,
                           child_id=c.id, reason=f"{duplicate.id} merged into {survivor.id}")
    return ChildPublic.model_validate(survivor, from_attributes=True)
