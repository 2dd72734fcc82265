"""A concern arrives (`concern.raised`): match or create the child, keep the family's contacts, write the
chronology, emit `child.registered`/`concern.linked`. Service functions never commit: the caller's unit of work does."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ChildRegisteredV1, ConcernLinkedV1, ConcernRaisedV1
from tas_common.identity import ChildIdentity, row_of
from tas_common.tables import table_of
from tas_common.together import NewRows

from . import organisations
from .child_matching import match_child
from .chronology import entry_row
from .family_contacts import contact_changed_event, family_of, merge_contact
from .models import Child, ChronologyEntry, Plan, new_id
from .restriction import restrict_for_safeguarding
from .search import name_keys

SOURCE = "tas/caseload"

_child, _plan, _entry = table_of(Child), table_of(Plan), table_of(ChronologyEntry)


def concern_summary(concern: ConcernRaisedV1) -> str:
    """The chronology's line for a concern: its urgency, areas of need and the basis it was shared on."""
    areas = ", ".join(a.replace("_", " ") for a in concern.areas_of_need) or "not stated"
    shared = f"consent {concern.consent_status.replace('_', ' ')}"
    if concern.lawful_basis:
        shared += f", shared on the lawful basis of {concern.lawful_basis.replace('_', ' ')}"
    return f"Concern raised by school {concern.school_urn} ({concern.urgency}; areas of need: {areas}; {shared})"


async def register_concern(session: AsyncSession, *, concern: ConcernRaisedV1, event_id: str) -> str:
    """Match or create the child for an incoming concern, keep the family's contacts, write the chronology;
    returns the child's id. The new rows (a new child and its plan, new family members, the chronology entry), the
    audit row and the events are written together at the end (`NewRows`: on PostgreSQL one statement)."""
    found, match, similar = await match_child(session, concern)
    new_child = found is None
    new_rows = NewRows()
    events: list[CloudEvent] = []  # written together at the end, in this order
    if found is None:
        now, child_id = utcnow(), new_id()
        school_urn, la_code, possible_duplicate_of = concern.school_urn, concern.la_code, similar
        new_rows.add(
            _child,
            row_of(
                ChildIdentity,
                concern.child,
                id=child_id,
                school_urn=school_urn,
                la_code=la_code,
                possible_duplicate_of=possible_duplicate_of,
                **name_keys(concern.child.given_name, concern.child.family_name),
                safeguarding=concern.safeguarding,
                family_contact_restricted=concern.safeguarding,
                merged_into=None,
                merged_at=None,
                created_at=now,
            ),
        )
        new_rows.add(
            _plan,
            {
                "id": new_id(),
                "child_id": child_id,
                "status": "draft",
                "revision": 1,
                "content": {},
                "pending_changes": [],
                "published_version": 0,
                "updated_at": now,
            },
        )
        events.append(
            new_event(
                ChildRegisteredV1(
                    child_id=child_id,
                    school_urn=school_urn,
                    la_code=la_code,
                    concern_id=concern.concern_id,
                ),
                source=SOURCE,
                subject=child_id,
            )
        )
    else:
        child_id, school_urn, la_code = found.id, found.school_urn, found.la_code
        possible_duplicate_of = found.possible_duplicate_of
        if concern.safeguarding and not (found.safeguarding and found.family_contact_restricted):
            child = await session.get(Child, child_id)  # through the ORM: the child may be loaded already
            assert child is not None
            child.safeguarding = child.family_contact_restricted = True
            session.add(child)
            await session.flush()  # before the driver's statements below (none reads it; a later match would)
    if concern.safeguarding and (found is None or not found.family_contact_restricted):
        # a safeguarding concern restricts family contact until the DSL or the LA's front door lifts it; its
        # history row refers to the child, so a new child is written first
        await new_rows.write(session)
        events.append(
            await restrict_for_safeguarding(
                session, child_id=child_id, concern_id=concern.concern_id, event_id=event_id
            )
        )
    school = await organisations.remember_school_and_org(
        session,
        urn=concern.school_urn,
        org_id=concern.raised_by_org,
        name=concern.school_name,
        phone=concern.school_phone,
        email=concern.school_email,
    )
    if school_urn != concern.school_urn:  # a matched child of another school: that school's contact
        school = await organisations.school_contact(session, school_urn)
    family = await family_of(session, child_id) if concern.family_contacts and not new_child else []
    member_ids = []
    for contact in concern.family_contacts:
        member, changed = await merge_contact(session, family, child_id, contact, new_rows)
        member_ids.append(member["id"])
        if changed:
            events.append(contact_changed_event(member))
    new_rows.add(
        _entry,
        {
            "id": new_id(),
            **entry_row(
                child_id=child_id,
                kind="concern_raised",
                ref_type="concern",
                ref_id=concern.concern_id,
                summary=concern_summary(concern),
                sensitivity="restricted" if concern.safeguarding else "team",
                source_event_id=event_id,
                org_id=concern.raised_by_org,
                org_type="school",
            ),
        },
    )
    events.append(
        new_event(
            ConcernLinkedV1(
                child_id=child_id,
                concern_id=concern.concern_id,
                school_urn=school_urn,
                la_code=la_code,
                new_child=new_child,
                match=match,
                possible_duplicate_of=possible_duplicate_of,
                **name_keys(concern.child.given_name, concern.child.family_name),
                safeguarding=concern.safeguarding,
                family_contact_ids=member_ids,
                child_given_name=concern.child.given_name if new_child or found is None else found.given_name,
                school_name=school.name if school is not None else None,
                school_phone=school.phone if school is not None else None,
                school_email=school.email if school is not None else None,
            ),
            source=SOURCE,
            subject=child_id,
        )
    )
    await new_rows.write(
        session,
        audited={
            "action": "create" if new_child else "update",
            "resource_type": "child",
            "resource_id": child_id,
            "child_id": child_id,
            "reason": f"concern {concern.concern_id}",
        },
        events=events,
    )
    return child_id
