"""The child's family: members, parental responsibility and contact details. Every change emits
`tas.caseload.family.contact_changed` so that notify's replica of the contacts stays current. Their preferences
and opt-outs are notify's (the family changes them there); caseload keeps notify's word on them
(`apply_preferences`) so that practitioners see that a parent opted out, replied STOP or bounced, and writes in the
child's chronology when the family can no longer be reached at all."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import InvalidInput, NotFound
from tas_common.events.schemas import ContactPreferencesChangedV1, FamilyReachabilityChangedV1
from tas_common.outbox import add_event

from .access import not_family, visible_child
from .chronology import add_entry, add_fact_once, record_change
from .family_contacts import contact_changed_event
from .models import FamilyMember
from .team_schemas import FamilyMemberCreate, FamilyMemberPublic, FamilyMemberUpdate, check_channel


async def list_family(session: AsyncSession, *, principal: Principal, child_id: str) -> list[FamilyMemberPublic]:
    child = await visible_child(session, principal, child_id)
    rows = (
        await session.exec(select(FamilyMember).where(FamilyMember.child_id == child.id).order_by(FamilyMember.name))
    ).all()
    if principal.org_type == OrgType.family:  # their own details as the school holds them, not another parent's
        rows = [m for m in rows if m.id in principal.family_member_ids]
    await audit.record(
        session, actor=principal, action="read", resource_type="family", resource_id=child.id, child_id=child.id
    )
    return [FamilyMemberPublic.model_validate(m, from_attributes=True) for m in rows]


async def _saved(
    session: AsyncSession, principal: Principal, member: FamilyMember, *, action: str, summary: str
) -> FamilyMemberPublic:
    """A member added or changed: notify's replica is told (`family.contact_changed`), the chronology and the audit
    log say who did it."""
    session.add(member)
    await session.flush()
    await add_event(session, contact_changed_event(member))
    await record_change(
        session,
        principal=principal,
        child_id=member.child_id,
        action=action,
        kind="family_changed",
        summary=summary,
        ref_type="family_member",
        ref_id=member.id,
    )
    return FamilyMemberPublic.model_validate(member, from_attributes=True)


async def add_member(
    session: AsyncSession, *, principal: Principal, child_id: str, data: FamilyMemberCreate
) -> FamilyMemberPublic:
    child = await visible_child(session, principal, child_id, write=True)
    not_family(principal)
    member = FamilyMember(child_id=child.id, **data.model_dump(mode="json"))
    return await _saved(
        session, principal, member, action="create", summary=f"Family member added ({member.relationship})"
    )


async def update_member(
    session: AsyncSession, *, principal: Principal, child_id: str, member_id: str, data: FamilyMemberUpdate
) -> FamilyMemberPublic:
    """Practitioners who can see the child, and the family member themselves (not another parent), may change a
    member's details."""
    child = await visible_child(session, principal, child_id, write=True)
    member = await session.get(FamilyMember, member_id)
    if member is None or member.child_id != child.id:
        raise NotFound("no such family member")
    if principal.org_type == OrgType.family and member.id not in principal.family_member_ids:
        raise NotFound("no such family member")
    changes = data.model_dump(mode="json", exclude_unset=True)
    for field in ("name", "relationship", "parental_responsibility"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be empty", field=f"body.{field}")
    for key, value in changes.items():
        setattr(member, key, value)
    try:
        check_channel(member.preferred_channel, member.mobile, member.email)
    except ValueError as exc:  # the address of the channel the family member prefers was removed
        raise InvalidInput(
            str(exc), field="body.mobile" if member.preferred_channel == "sms" else "body.email"
        ) from None
    return await _saved(
        session,
        principal,
        member,
        action="update",
        summary=f"Family member's details changed ({', '.join(sorted(changes)) or 'nothing'})",
    )


async def apply_preferences(session: AsyncSession, *, change: ContactPreferencesChangedV1, event_id: str) -> None:
    """Notify's word on a family member's preferences and reachability (it owns them). A change older than the
    one applied (its `version`) is ignored; nothing is published back."""
    member = await session.get(FamilyMember, change.contact_id)
    if member is None or (change.version and change.version <= member.preferences_version):
        return
    opted_out_now = change.opted_out and not member.opted_out
    member.preferred_channel, member.language, member.opted_out = (
        change.preferred_channel,
        change.language,
        change.opted_out,
    )
    member.suppressed = [{"channel": b.channel, "reason": b.reason} for b in change.suppressed]
    member.reachable, member.preferences_version = change.reachable, change.version
    session.add(member)
    if opted_out_now:
        add_entry(
            session,
            child_id=member.child_id,
            kind="family_changed",
            ref_type="family_member",
            ref_id=member.id,
            summary=f"Family member ({member.relationship}) opted out of messages from TAS",
            source_event_id=event_id,
            org_type="notify",
        )


async def family_reachability(session: AsyncSession, *, change: FamilyReachabilityChangedV1, event_id: str) -> None:
    """Tell the school, in the child's chronology, that TAS can no longer reach the family (or can again)."""
    if change.reachable:
        kind, summary = "family_reachable", "TAS can send messages to the family again"
    else:
        reasons = sorted({r for c in change.contacts for r in c.reasons})
        kind = "family_unreachable"
        summary = "The family cannot be reached by SMS or email any more: contact them another way" + (
            f" ({'; '.join(reasons)})" if reasons else ""
        )
    await add_fact_once(
        session,
        child_id=change.child_id,
        kind=kind,
        ref_id=event_id,
        summary=summary,
        ref_type="family",
        source_event_id=event_id,
        org_type="notify",
    )
