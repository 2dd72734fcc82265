"""The reference for test_register_concern.py: `register_concern` and the notification fact handlers as they were
written with the ORM, before the service moved to SQLAlchemy Core statements built once."""

from __future__ import annotations

from sqlmodel import or_
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from caseload.domain import family_contacts
from caseload.domain.chronology import add_entry, fact_recorded
from caseload.domain.models import Child, FamilyContactRestriction, FamilyMember, Plan
from caseload.domain.search import name_keys
from tas_common import audit
from tas_common.db import utcnow
from tas_common.events import new_event
from tas_common.events.schemas import (
    ChildRegisteredV1,
    ConcernLinkedV1,
    ConcernRaisedV1,
    FamilyContactRestrictionChangedV1,
    FamilyContactV1,
)
from tas_common.outbox import add_event

SOURCE = "tas/caseload"


async def _ref_survivor(session: AsyncSession, child: Child) -> Child:
    seen = {child.id}
    while child.merged_into:
        survivor = await session.get(Child, child.merged_into)
        if survivor is None or survivor.id in seen:
            break
        seen.add(survivor.id)
        child = survivor
    return child


async def _ref_match(session: AsyncSession, child: ConcernRaisedV1) -> tuple[Child | None, str, Child | None]:
    by_upn = (await session.exec(orm_select(Child).where(Child.upn == child.child.upn))).first()
    if by_upn is not None:
        return await _ref_survivor(session, by_upn), "upn", None
    if child.child.nhs_number:
        by_nhs = (
            await session.exec(
                orm_select(Child)
                .where(Child.nhs_number == child.child.nhs_number)
                .order_by(Child.merged_into.is_not(None))
            )
        ).first()  # type: ignore
        if by_nhs is not None:
            return await _ref_survivor(session, by_nhs), "nhs_number", None
    similar = (
        await session.exec(
            orm_select(Child).where(
                Child.given_name == child.child.given_name,
                Child.family_name == child.child.family_name,
                Child.date_of_birth == child.child.date_of_birth,
                Child.school_urn == child.school_urn,
                Child.merged_into.is_(None),
            )
        )
    ).first()  # type: ignore[union-attr]
    return None, "created", similar


async def _ref_merge_contact(
    session: AsyncSession, child_id: str, contact: FamilyContactV1
) -> tuple[FamilyMember, bool]:
    conditions = [FamilyMember.mobile == contact.mobile] if contact.mobile else []
    conditions += [FamilyMember.email == contact.email] if contact.email else []
    existing = None
    if conditions:
        existing = (
            await session.exec(orm_select(FamilyMember).where(FamilyMember.child_id == child_id, or_(*conditions)))
        ).first()
    if existing is not None:  # its preferred channel and language are notify's: a later intake leaves them
        before = (existing.parental_responsibility, existing.mobile, existing.email)
        existing.parental_responsibility = contact.parental_responsibility
        existing.mobile, existing.email = contact.mobile or existing.mobile, contact.email or existing.email
        session.add(existing)
        return existing, before != (existing.parental_responsibility, existing.mobile, existing.email)
    member = FamilyMember(
        child_id=child_id,
        name=contact.name,
        relationship=contact.relationship,
        parental_responsibility=contact.parental_responsibility,
        mobile=contact.mobile,
        email=contact.email,
        preferred_channel=contact.preferred_channel,
        language=contact.language,
    )
    session.add(member)
    return member, True


async def reference_register_concern(session: AsyncSession, *, concern: ConcernRaisedV1, event_id: str) -> None:
    child, match, similar = await _ref_match(session, concern)
    new_child = child is None
    if child is None:
        identity = concern.child
        child = Child(
            upn=identity.upn,
            nhs_number=identity.nhs_number,
            given_name=identity.given_name,
            family_name=identity.family_name,
            date_of_birth=identity.date_of_birth,
            year_group=identity.year_group,
            school_urn=concern.school_urn,
            la_code=concern.la_code,
            possible_duplicate_of=similar.id if similar else None,
            **name_keys(identity.given_name, identity.family_name),
        )
        session.add(child)
        await session.flush()
        session.add(Plan(child_id=child.id))
        await add_event(
            session,
            new_event(
                ChildRegisteredV1(
                    child_id=child.id,
                    school_urn=child.school_urn,
                    la_code=child.la_code,
                    concern_id=concern.concern_id,
                ),
                source=SOURCE,
                subject=child.id,
            ),
        )
    restrict = concern.safeguarding and not child.family_contact_restricted
    if concern.safeguarding and not (child.safeguarding and child.family_contact_restricted):
        child.safeguarding = child.family_contact_restricted = True
        session.add(child)
    if restrict:
        now = utcnow()
        session.add(
            FamilyContactRestriction(
                child_id=child.id,
                restricted=True,
                reason="A safeguarding concern was raised",
                source="safeguarding_concern",
                by_sub="system",
                by_org="system",
                by_org_type="system",
                at=now,
            )
        )
        await add_event(
            session,
            new_event(
                FamilyContactRestrictionChangedV1(
                    child_id=child.id, restricted=True, source="safeguarding_concern", changed_at=now
                ),
                source=SOURCE,
                subject=child.id,
            ),
        )
        add_entry(
            session,
            child_id=child.id,
            kind="family_contact_restricted",
            ref_type="concern",
            ref_id=concern.concern_id,
            summary="Family contact restricted (a safeguarding concern was raised): no messages or sign-in "
            "codes go to the family until the DSL lifts it",
            source_event_id=event_id,
            org_type="system",
        )
    members = []
    for contact in concern.family_contacts:
        member, changed = await _ref_merge_contact(session, child.id, contact)
        await session.flush()
        members.append(member)
        if changed:
            await add_event(session, family_contacts.contact_changed_event(member))
    areas = ", ".join(a.replace("_", " ") for a in concern.areas_of_need) or "not stated"
    shared = f"consent {concern.consent_status.replace('_', ' ')}"
    if concern.lawful_basis:
        shared += f", shared on the lawful basis of {concern.lawful_basis.replace('_', ' ')}"
    add_entry(
        session,
        child_id=child.id,
        kind="concern_raised",
        ref_type="concern",
        ref_id=concern.concern_id,
        summary=f"Concern raised by school {concern.school_urn} ({concern.urgency}; areas of need: {areas}; {shared})",
        sensitivity="restricted" if concern.safeguarding else "team",
        source_event_id=event_id,
        org_id=concern.raised_by_org,
        org_type="school",
    )
    await audit.record(
        session,
        actor=None,
        action="create" if new_child else "update",
        resource_type="child",
        resource_id=child.id,
        child_id=child.id,
        reason=f"concern {concern.concern_id}",
    )
    await add_event(
        session,
        new_event(
            ConcernLinkedV1(
                child_id=child.id,
                concern_id=concern.concern_id,
                school_urn=child.school_urn,
                la_code=child.la_code,
                new_child=new_child,
                match=match,
                possible_duplicate_of=child.possible_duplicate_of,
                safeguarding=concern.safeguarding,
                family_contact_ids=[m.id for m in members],
                child_given_name=child.given_name,
                school_name=concern.school_name,
                school_phone=concern.school_phone,
                school_email=concern.school_email,
            ),
            source=SOURCE,
            subject=child.id,
        ),
    )


async def reference_notification(
    session: AsyncSession, *, kind: str, summary: str, notification_id: str, child_id: str | None, event_id: str
) -> None:
    child = await session.get(Child, child_id) if child_id else None
    if child is None or await fact_recorded(session, child_id=child.id, kind=kind, ref_id=notification_id):
        return
    add_entry(
        session,
        child_id=child.id,
        kind=kind,
        summary=summary,
        ref_type="notification",
        ref_id=notification_id,
        source_event_id=event_id,
        org_type="notify",
    )
