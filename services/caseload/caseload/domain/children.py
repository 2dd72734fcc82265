"""Use cases for the child's record: finding and reading it, possible duplicates and merging them. Service
functions never commit: the caller's unit of work does."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, InvalidInput, NotFound
from tas_common.outbox import add_event
from tas_common.visibility import is_la_officer

from . import plan as plans
from .access import can_see_child, may_break_glass_into, visible_child
from .breakglass import record_discovery
from .child_schemas import ChildPublic, ChildSearchPage, PossibleDuplicate
from .chronology import add_entry
from .family_contacts import contact_changed_event
from .models import Child, ChronologyEntry, EhcRequest, FamilyMember, Review, TeamMember
from .restriction import INSERT_RESTRICTION, changed_event, history_row


async def find_children(session: AsyncSession, *, principal: Principal, upn: str) -> ChildSearchPage:
    """The children with this UPN the caller may see. To a caller who may break glass on it (a break-glass role of
    the child's own LA, or one that crosses boundaries by law), a child it may not see is answered only as an id
    under `break_glass_required` (so that it can open the record by giving a reason), and that discovery waits in
    the review queue; to anyone else such a child does not exist."""
    found = (await session.exec(select(Child).where(Child.upn == upn.upper(), col(Child.merged_into).is_(None)))).all()
    visible: list[Child] = []
    hidden: list[Child] = []
    for child in found:
        (visible if await can_see_child(session, principal, child) else hidden).append(child)
    for child in visible:
        await audit.record(
            session, actor=principal, action="search", resource_type="child", resource_id=child.id, child_id=child.id
        )
    hints = [c for c in hidden if await may_break_glass_into(session, principal, c)]
    for child in hints:
        await record_discovery(session, principal=principal, child=child)
    return ChildSearchPage(
        items=[ChildPublic.model_validate(c, from_attributes=True) for c in visible],
        break_glass_required=[c.id for c in hints],
    )


async def get_child(session: AsyncSession, *, principal: Principal, child_id: str) -> ChildPublic:
    child = await visible_child(session, principal, child_id)
    await audit.record(
        session, actor=principal, action="read", resource_type="child", resource_id=child.id, child_id=child.id
    )
    return ChildPublic.model_validate(child, from_attributes=True)


def _scope_filter(principal: Principal) -> ColumnElement[bool]:
    if principal.org_type == OrgType.local_authority:
        return col(Child.la_code) == principal.la_code
    return col(Child.school_urn).in_(principal.school_urns)


async def possible_duplicates(session: AsyncSession, *, principal: Principal) -> list[PossibleDuplicate]:
    """Records flagged as possibly the same child as another, for the school's leads or the LA to decide."""
    flagged = (
        await session.exec(
            select(Child)
            .where(
                col(Child.possible_duplicate_of).is_not(None),
                col(Child.merged_into).is_(None),
                _scope_filter(principal),
            )
            .order_by(col(Child.created_at))
        )
    ).all()
    pairs = []
    for child in flagged:
        other = await session.get(Child, child.possible_duplicate_of)
        if (
            other is None
            or other.merged_into
            or not (await can_see_child(session, principal, child) and await can_see_child(session, principal, other))
        ):
            continue
        for c in (child, other):
            await audit.record(
                session,
                actor=principal,
                action="read",
                resource_type="child",
                resource_id=c.id,
                child_id=c.id,
                reason="possible duplicates",
            )
        pairs.append(
            PossibleDuplicate(
                child=ChildPublic.model_validate(child, from_attributes=True),
                possible_duplicate_of=ChildPublic.model_validate(other, from_attributes=True),
            )
        )
    return pairs


def _may_merge(principal: Principal, a: Child, b: Child) -> bool:
    if principal.org_type == OrgType.local_authority:
        return is_la_officer(principal, a) and is_la_officer(principal, b)
    return (
        principal.org_type == OrgType.school
        and principal.has_role("senco")
        and {a.school_urn, b.school_urn} <= principal.school_urns
    )


async def merge(session: AsyncSession, *, principal: Principal, survivor_id: str, duplicate_id: str) -> ChildPublic:
    """Merge `duplicate_id` into `survivor_id`, keeping all history: family, team, plan items, reviews, clocks and
    the chronology move to the survivor; the duplicate stays as a tombstone that points to it (410)."""
    survivor = await visible_child(session, principal, survivor_id, write=True)
    if duplicate_id == survivor.id:
        raise InvalidInput("a record cannot be merged into itself", field="body.duplicate_id")
    duplicate = await session.get(Child, duplicate_id)
    if duplicate is None or duplicate.merged_into or not await can_see_child(session, principal, duplicate):
        raise NotFound("no such duplicate child")
    if not _may_merge(principal, survivor, duplicate):
        raise Forbidden("merging needs the LA's SEND officer or the SENCO of both children's schools")
    for model in (FamilyMember, ChronologyEntry, Review, EhcRequest):
        await session.execute(update(model).where(col(model.child_id) == duplicate.id).values(child_id=survivor.id))
    moved_team = (await session.exec(select(TeamMember).where(TeamMember.child_id == duplicate.id))).all()
    current = {
        (m.sub, m.org_id): m
        for m in (
            await session.exec(
                select(TeamMember).where(TeamMember.child_id == survivor.id, col(TeamMember.left_at).is_(None))
            )
        ).all()
    }
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
    leads = list(
        (
            await session.exec(
                select(TeamMember).where(TeamMember.child_id == survivor.id, col(TeamMember.lead).is_(True))
            )
        ).all()
    )
    for extra in leads[1:]:  # one lead professional: the survivor's (or the first) stays
        extra.lead = False
        session.add(extra)
    await plans.absorb(session, principal=principal, survivor=survivor, duplicate=duplicate)
    survivor.safeguarding = survivor.safeguarding or duplicate.safeguarding
    if duplicate.family_contact_restricted and not survivor.family_contact_restricted:
        survivor.family_contact_restricted = True  # the stricter position survives; the DSL can lift it
        now = utcnow()
        await session.execute(
            INSERT_RESTRICTION,
            {**history_row(survivor.id, at=now), "reason": "Merged with a record whose family contact was restricted"},
        )
        await add_event(session, changed_event(survivor.id, restricted=True, source="safeguarding_concern", at=now))
    survivor.nhs_number = survivor.nhs_number or duplicate.nhs_number
    if survivor.possible_duplicate_of == duplicate.id:
        survivor.possible_duplicate_of = None
    duplicate.merged_into, duplicate.merged_at, duplicate.possible_duplicate_of = survivor.id, utcnow(), None
    session.add_all([survivor, duplicate])
    await session.flush()
    for contact in (await session.exec(select(FamilyMember).where(FamilyMember.child_id == survivor.id))).all():
        await add_event(session, contact_changed_event(contact))
    add_entry(
        session,
        child_id=survivor.id,
        kind="child_merged",
        ref_type="child",
        ref_id=duplicate.id,
        summary="A duplicate record of this child was merged into this one; its history now shows here",
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    for c in (survivor, duplicate):
        await audit.record(
            session,
            actor=principal,
            action="merge",
            resource_type="child",
            resource_id=c.id,
            child_id=c.id,
            reason=f"{duplicate.id} merged into {survivor.id}",
        )
    return ChildPublic.model_validate(survivor, from_attributes=True)
