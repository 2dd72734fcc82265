"""Use cases for concerns. Service functions never commit: the caller's unit of work does, once."""
from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import Forbidden, NotFound
from tas_common.events import new_event
from tas_common.events.schemas import ChildIdentity, ConcernRaisedV1, FamilyContactV1
from tas_common.outbox import add_event
from tas_common.vocab import SCHOOL_STAFF_ROLES

from .models import Concern, FamilyContact
from .schemas import ChildIdentityPublic, ConcernCreate, ConcernPublic, FamilyContactPublic

SOURCE = "tas/referral"


def can_read_concern(principal: Principal, concern: Concern) -> bool:
    if principal.org_type == OrgType.school:
        return concern.school_urn in principal.school_urns and principal.has_role(*SCHOOL_STAFF_ROLES)
    return False


async def raise_concern(session: AsyncSession, *, principal: Principal, data: ConcernCreate,
                        mis_record_id: str | None = None) -> ConcernPublic:
    """Store a concern with its family contacts and emit `concern.raised` in the same transaction."""
    if data.school_urn not in principal.school_urns:
        raise Forbidden("you can raise concerns only for pupils of your own school")
    concern = Concern(
        school_urn=data.school_urn, raised_by_sub=principal.sub, raised_by_org=principal.org_id,
        source="mis" if principal.org_type == OrgType.mis else "staff",
        mis_client=principal.sub if mis_record_id else None, mis_record_id=mis_record_id,
        upn=data.child.upn, nhs_number=data.child.nhs_number, given_name=data.child.given_name,
        family_name=data.child.family_name, date_of_birth=data.child.date_of_birth, year_group=data.child.year_group,
        areas_of_need=[str(a) for a in data.areas_of_need], safeguarding=data.safeguarding,
        urgency=str(data.urgency), summary=data.summary, already_tried=data.already_tried,
        consent_status=str(data.consent_status), lawful_basis=data.lawful_basis,
    )
    contacts = [FamilyContact(concern_id=concern.id, name=c.name, relationship=c.relationship,
                              parental_responsibility=c.parental_responsibility, mobile=c.mobile, email=c.email,
                              preferred_channel=str(c.preferred_channel), language=str(c.language))
                for c in data.family_contacts]
    session.add(concern)
    await session.flush()
    session.add_all(contacts)
    await audit.record(session, actor=principal, action="create", resource_type="concern", resource_id=concern.id)
    await add_event(session, new_event(ConcernRaisedV1(
        concern_id=concern.id, school_urn=concern.school_urn, la_code=concern.la_code,
        raised_by_org=concern.raised_by_org,
        child=ChildIdentity(upn=concern.upn, nhs_number=concern.nhs_number, given_name=concern.given_name,
                            family_name=concern.family_name, date_of_birth=concern.date_of_birth,
                            year_group=concern.year_group),
        areas_of_need=concern.areas_of_need, safeguarding=concern.safeguarding, urgency=concern.urgency,
        family_contacts=[FamilyContactV1(contact_ref=c.id, name=c.name, relationship=c.relationship,
                                         parental_responsibility=c.parental_responsibility, mobile=c.mobile,
                                         email=c.email, preferred_channel=c.preferred_channel, language=c.language)
                         for c in contacts],
        consent_status=concern.consent_status, lawful_basis=concern.lawful_basis,
    ), source=SOURCE, subject=concern.id))
    return to_public(concern, contacts)


async def get_concern(session: AsyncSession, *, principal: Principal, concern_id: str) -> ConcernPublic:
    concern = await session.get(Concern, concern_id)
    if concern is None or not can_read_concern(principal, concern):
        raise NotFound("no such concern")
    contacts = list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern_id))).all())
    await audit.record(session, actor=principal, action="read", resource_type="concern", resource_id=concern.id,
                       child_id=concern.child_id)
    return to_public(concern, contacts)


async def link_child(session: AsyncSession, *, concern_id: str, child_id: str) -> None:
    """Caseload matched or created the child for this concern."""
    concern = await session.get(Concern, concern_id)
    if concern is not None and concern.child_id != child_id:
        concern.child_id = child_id
        session.add(concern)


def to_public(concern: Concern, contacts: list[FamilyContact]) -> ConcernPublic:
    return ConcernPublic(
        id=concern.id, school_urn=concern.school_urn, source=concern.source,
        child=ChildIdentityPublic(upn=concern.upn, nhs_number=concern.nhs_number, given_name=concern.given_name,
                                  family_name=concern.family_name, date_of_birth=concern.date_of_birth,
                                  year_group=concern.year_group),
        child_id=concern.child_id, areas_of_need=concern.areas_of_need, safeguarding=concern.safeguarding,
        summary=concern.summary, urgency=concern.urgency, already_tried=concern.already_tried,
        family_contacts=[FamilyContactPublic.model_validate(c, from_attributes=True) for c in contacts],
        consent_status=concern.consent_status, lawful_basis=concern.lawful_basis, created_at=concern.created_at,
    )
