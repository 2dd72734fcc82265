"""The team around the child. A practitioner joins when their service accepts a referral (referral's events) or
when the SENCO adds them; they leave when the referrals that brought them are completed or withdrawn, or when the
SENCO removes them, and their access to the child ends with it. One member is the lead professional."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Conflict, Forbidden, NotFound
from tas_common.events import new_event
from tas_common.events.schemas import TeamMemberAddedV1, TeamMemberRemovedV1, TeamMemberV1
from tas_common.outbox import add_event

from . import organisations
from .access import visible_child
from .chronology import add_entry, record_change
from .models import Child, TeamMember
from .team_schemas import (
    LeadProfessional,
    SchoolContact,
    TeamMemberContact,
    TeamMemberCreate,
    TeamMemberPublic,
    TeamPublic,
)

SOURCE = "tas/caseload"


def public(member: TeamMember, names: dict[str, str] | None = None, *, family: bool = False) -> TeamMemberPublic:
    """A member as practitioners see them; to the family, without ids or referrals (organisation by name)."""
    return TeamMemberPublic(
        id=member.id,
        sub=None if family else member.sub,
        name=member.name,
        org_id=None if family else member.org_id,
        org_type=member.org_type,
        organisation_name=(names or {}).get(member.org_id),
        service_name=member.service_name,
        contact_email=member.contact_email,
        shared_phone=member.shared_phone,
        shared_email=member.shared_email,
        role=member.role,
        referral_id=None if family else (member.referral_ids[0] if member.referral_ids else None),
        referral_ids=[] if family else member.referral_ids,
        lead=member.lead,
        joined_at=member.joined_at,
        left_at=member.left_at,
    )


_Payload = TypeVar("_Payload", bound=TeamMemberV1)


def _payload(kind: type[_Payload], member: TeamMember, referral_id: str | None) -> _Payload:
    return kind(
        child_id=member.child_id,
        member_sub=member.sub,
        member_name=member.name,
        org_id=member.org_id,
        org_type=member.org_type,
        role=member.role,
        referral_id=referral_id,
    )


async def active_members(session: AsyncSession, child_id: str) -> list[TeamMember]:
    return list(
        (
            await session.exec(
                select(TeamMember)
                .where(TeamMember.child_id == child_id, col(TeamMember.left_at).is_(None))
                .order_by(col(TeamMember.joined_at))
            )
        ).all()
    )


async def join(
    session: AsyncSession,
    *,
    child: Child,
    sub: str,
    name: str,
    org_id: str,
    org_type: str,
    role: str | None,
    referral_id: str | None,
    added_by: str,
    event_id: str | None = None,
    service_name: str | None = None,
    contact_email: str | None = None,
) -> TeamMember:
    """Put a practitioner on the team, once: an active member with the same sub and organisation keeps one
    membership (the new referral is added to the ones that keep them there)."""
    existing = next((m for m in await active_members(session, child.id) if (m.sub, m.org_id) == (sub, org_id)), None)
    if existing is not None:
        if referral_id and referral_id not in existing.referral_ids:
            existing.referral_ids = [*existing.referral_ids, referral_id]
            existing.service_name = service_name or existing.service_name
            existing.contact_email = contact_email or existing.contact_email
            session.add(existing)
        return existing
    member = TeamMember(
        child_id=child.id,
        sub=sub,
        name=name,
        org_id=org_id,
        org_type=org_type,
        role=role,
        referral_ids=[referral_id] if referral_id else [],
        added_by=added_by,
        service_name=service_name,
        contact_email=contact_email,
    )
    session.add(member)
    await session.flush()
    await add_event(
        session,
        new_event(
            _payload(TeamMemberAddedV1, member, referral_id),
            source=SOURCE,
            subject=child.id,
        ),
    )
    add_entry(
        session,
        child_id=child.id,
        kind="team_member_added",
        ref_type="team_member",
        ref_id=member.id,
        summary=f"{name} ({role or org_type}, {org_id}) joined the team",
        source_event_id=event_id,
        org_id=org_id,
        org_type=org_type,
    )
    await audit.record(
        session,
        actor=None,
        system_actor=added_by,
        action="create",
        resource_type="team_member",
        resource_id=member.id,
        child_id=child.id,
    )
    return member


async def leave(session: AsyncSession, *, member: TeamMember, reason: str, event_id: str | None = None) -> None:
    member.left_at = utcnow()
    member.lead = False
    session.add(member)
    await add_event(
        session,
        new_event(
            _payload(TeamMemberRemovedV1, member, member.referral_ids[-1] if member.referral_ids else None),
            source=SOURCE,
            subject=member.child_id,
        ),
    )
    add_entry(
        session,
        child_id=member.child_id,
        kind="team_member_removed",
        ref_type="team_member",
        ref_id=member.id,
        summary=f"{member.name} ({member.role or member.org_type}) left the team: {reason}",
        source_event_id=event_id,
        org_id=member.org_id,
        org_type=member.org_type,
    )


async def referral_closed(session: AsyncSession, *, child: Child, referral_id: str, reason: str, event_id: str) -> None:
    """A completed or withdrawn referral no longer keeps its practitioner on the team."""
    for member in await active_members(session, child.id):
        if referral_id in member.referral_ids:
            member.referral_ids = [r for r in member.referral_ids if r != referral_id]
            session.add(member)
            if not member.referral_ids:
                await leave(session, member=member, reason=reason, event_id=event_id)


async def get_team(session: AsyncSession, *, principal: Principal, child_id: str) -> TeamPublic:
    """The team around the child: each member's organisation, role, the lead professional and how to contact
    them (their service's team inbox; a phone or email only when the practitioner chose to share one), and how to
    contact the school. The family sees the current team without ids or referrals."""
    child = await visible_child(session, principal, child_id)
    family = principal.org_type == OrgType.family
    rows = (
        await session.exec(
            select(TeamMember).where(TeamMember.child_id == child.id).order_by(col(TeamMember.joined_at))
        )
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="team", resource_id=child.id, child_id=child.id
    )
    names = await organisations.names_of(session, [m.org_id for m in rows])
    current = [public(m, names, family=family) for m in rows if m.left_at is None]
    school = await organisations.school_of(session, child.school_urn)
    return TeamPublic(
        members=current,
        lead=next((m for m in current if m.lead), None),
        former_members=[] if family else [public(m, names) for m in rows if m.left_at is not None],
        school=SchoolContact(
            urn=child.school_urn,
            name=school.name if school else None,
            phone=school.phone if school else None,
            email=school.email if school else None,
        ),
    )


async def share_contact(
    session: AsyncSession, *, principal: Principal, child_id: str, member_id: str, data: TeamMemberContact
) -> TeamMemberPublic:
    """A practitioner chooses the work phone or email the family sees for them (null clears it): only their own."""
    child = await visible_child(session, principal, child_id, write=True)
    member = await session.get(TeamMember, member_id)
    if member is None or member.child_id != child.id or member.left_at is not None:
        raise NotFound("no such team member")
    if (member.sub, member.org_id) != (principal.sub, principal.org_id):
        raise Forbidden("each practitioner decides what they share with the family")
    member.shared_phone, member.shared_email = data.shared_phone, data.shared_email
    session.add(member)
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="team_member_contact",
        resource_id=member.id,
        child_id=child.id,
    )
    return public(member, await organisations.names_of(session, [member.org_id]))


def _require_senco(principal: Principal, child: Child) -> None:
    if not (
        principal.org_type == OrgType.school
        and principal.has_role("senco")
        and child.school_urn in principal.school_urns
    ):
        raise Forbidden("the SENCO of the child's school manages the team")


async def add_member(
    session: AsyncSession, *, principal: Principal, child_id: str, data: TeamMemberCreate
) -> TeamMemberPublic:
    child = await visible_child(session, principal, child_id, write=True)
    _require_senco(principal, child)
    if any((m.sub, m.org_id) == (data.sub, data.org_id) for m in await active_members(session, child.id)):
        raise Conflict("already on the team")
    member = await join(
        session,
        child=child,
        sub=data.sub,
        name=data.name,
        org_id=data.org_id,
        org_type=data.org_type,
        role=data.role,
        referral_id=None,
        added_by=principal.sub,
    )
    await audit.record(
        session, actor=principal, action="create", resource_type="team_member", resource_id=member.id, child_id=child.id
    )
    return public(member)


async def remove_member(session: AsyncSession, *, principal: Principal, child_id: str, member_id: str) -> None:
    child = await visible_child(session, principal, child_id, write=True)
    _require_senco(principal, child)
    member = await session.get(TeamMember, member_id)
    if member is None or member.child_id != child.id or member.left_at is not None:
        raise NotFound("no such team member")
    await leave(session, member=member, reason=f"removed by the SENCO ({principal.sub})")
    await audit.record(
        session, actor=principal, action="delete", resource_type="team_member", resource_id=member.id, child_id=child.id
    )


async def set_lead(session: AsyncSession, *, principal: Principal, child_id: str, data: LeadProfessional) -> TeamPublic:
    child = await visible_child(session, principal, child_id, write=True)
    _require_senco(principal, child)
    members = await active_members(session, child.id)
    chosen = next((m for m in members if m.id == data.member_id), None)
    if chosen is None:
        raise NotFound("no such current team member")
    for m in members:
        if m.lead != (m is chosen):
            m.lead = m is chosen
            session.add(m)
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="update",
        kind="lead_changed",
        summary=f"{chosen.name} ({chosen.role or chosen.org_type}) is now the lead professional",
        ref_type="team_member",
        ref_id=chosen.id,
        resource_type="team_lead",
    )
    await session.flush()
    return await get_team(session, principal=principal, child_id=child.id)
