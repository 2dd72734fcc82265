"""The child's family: members, parental responsibility, contact details and preferences. Every change emits
`tas.caseload.family.contact_changed` so that notify's replica of the contacts stays current."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import InvalidInput, NotFound
from tas_common.outbox import add_event

from .access import not_family, visible_child
from .children import contact_changed_event
from .chronology import add_entry
from .models import FamilyMember
from .schemas import FamilyMemberCreate, FamilyMemberPublic, FamilyMemberUpdate, check_channel


async def list_family(session: AsyncSession, *, principal: Principal, child_id: str) -> list[FamilyMemberPublic]:
    child = await visible_child(session, principal, child_id)
    rows = (
        await session.exec(select(FamilyMember).where(FamilyMember.child_id == child.id).order_by(FamilyMember.name))
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="family", resource_id=child.id, child_id=child.id
    )
    return [FamilyMemberPublic.model_validate(m, from_attributes=True) for m in rows]


async def add_member(
    session: AsyncSession, *, principal: Principal, child_id: str, data: FamilyMemberCreate
) -> FamilyMemberPublic:
    child = await visible_child(session, principal, child_id, write=True)
    not_family(principal)
    member = FamilyMember(child_id=child.id, **data.model_dump(mode="json"))
    session.add(member)
    await session.flush()
    await add_event(session, contact_changed_event(member))
    add_entry(
        session,
        child_id=child.id,
        kind="family_changed",
        ref_type="family_member",
        ref_id=member.id,
        summary=f"Family member added ({member.relationship})",
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    await audit.record(
        session,
        actor=principal,
        action="create",
        resource_type="family_member",
        resource_id=member.id,
        child_id=child.id,
    )
    return FamilyMemberPublic.model_validate(member, from_attributes=True)


async def update_member(
    session: AsyncSession, *, principal: Principal, child_id: str, member_id: str, data: FamilyMemberUpdate
) -> FamilyMemberPublic:
    """Practitioners who can see the child, and the family itself, may change a member's details."""
    child = await visible_child(session, principal, child_id, write=True)
    member = await session.get(FamilyMember, member_id)
    if member is None or member.child_id != child.id:
        raise NotFound("no such family member")
    changes = data.model_dump(mode="json", exclude_unset=True)
    for field in ("name", "relationship", "parental_responsibility", "preferred_channel", "language", "opted_out"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field} cannot be empty", field=f"body.{field}")
    for key, value in changes.items():
        setattr(member, key, value)
    try:
        check_channel(member.preferred_channel, member.mobile, member.email)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="body.preferred_channel") from None
    session.add(member)
    await session.flush()
    await add_event(session, contact_changed_event(member))
    add_entry(
        session,
        child_id=child.id,
        kind="family_changed",
        ref_type="family_member",
        ref_id=member.id,
        summary=f"Family member's details changed ({', '.join(sorted(changes)) or 'nothing'})",
        org_id=principal.org_id,
        org_type=str(principal.org_type),
    )
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="family_member",
        resource_id=member.id,
        child_id=child.id,
    )
    return FamilyMemberPublic.model_validate(member, from_attributes=True)
