"""Use cases for concerns. Service functions never commit: the caller's unit of work does, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, cast, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.driver import DriverStatement, flush_pending
from tas_common.errors import Forbidden, NotFound
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ConcernRaisedV1
from tas_common.identity import ChildIdentity, FamilyContactShape, row_of
from tas_common.paging import Key, Keyset, Page
from tas_common.tables import table_of
from tas_common.vocab import SCHOOL_STAFF_ROLES, ConsentStatus, Urgency

from . import referrals, schools
from .concern_schemas import ConcernCreate, ConcernPublic, ConsentUpdate, LawfulBasis
from .concern_store import store_new_concern
from .exceptions import invalid_field
from .models import Concern, FamilyContact, Referral, new_id
from .schools import SchoolEntry

SOURCE = "tas/referral"
SAFEGUARDING_READERS = ("dsl", "head", "senco")
"""A teacher who raised a safeguarding concern sees their own; otherwise it goes to the DSL (and leads)."""


def can_read_concern(principal: Principal, concern: Concern) -> bool:
    if principal.org_type == OrgType.school:
        if concern.school_urn not in principal.school_urns or not principal.has_role(*SCHOOL_STAFF_ROLES):
            return False
        if concern.safeguarding and not principal.has_role(*SAFEGUARDING_READERS):
            return concern.raised_by_sub == principal.sub and concern.raised_by_org == principal.org_id
        return True
    return False


def concern_rows(
    *, principal: Principal, data: ConcernCreate, school: SchoolEntry, mis_record_id: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The rows of a new concern and its family contacts, as plain dicts (cheap enough for a batch of 1,000).
    A safeguarding concern is top priority, and without consent it records safeguarding as the lawful basis for
    sharing it with the front door."""
    lawful_basis = str(data.lawful_basis) if data.lawful_basis else None
    if data.safeguarding and data.consent_status != ConsentStatus.given and lawful_basis is None:
        lawful_basis = LawfulBasis.safeguarding.value
    concern_id = new_id()
    concern: dict[str, Any] = row_of(ChildIdentity, data.child) | {
        "id": concern_id,
        "school_urn": data.school_urn,
        "la_code": school.la_code,
        "raised_by_sub": principal.sub,
        "raised_by_org": principal.org_id,
        "source": "mis" if principal.org_type == OrgType.mis else "staff",
        "mis_client": principal.sub if mis_record_id else None,
        "mis_record_id": mis_record_id,
        "areas_of_need": [str(a) for a in data.areas_of_need],
        "safeguarding": data.safeguarding,
        "urgency": str(Urgency.urgent if data.safeguarding else data.urgency),
        "summary": data.summary,
        "already_tried": data.already_tried,
        "graduated_response": [s.model_dump(mode="json") for s in data.graduated_response],
        "consent_status": str(data.consent_status),
        "lawful_basis": lawful_basis,
        "child_id": None,
        "family_member_ids": [],
        "created_at": utcnow(),
        "version": 1,
        "mis_fields": None,
        "updated_at": None,
    }
    contacts = [row_of(FamilyContactShape, c, id=new_id(), concern_id=concern_id) for c in data.family_contacts]
    return concern, contacts


def raised_event(concern: dict[str, Any], contacts: list[dict[str, Any]], school: SchoolEntry) -> CloudEvent:
    """`concern.raised` from the rows of `concern_rows`: the payload's fields are the concern row's, by name (its
    child is the row's identity fields), under the event's names for the ids; and the school's public contact."""
    payload = ConcernRaisedV1.model_validate(
        {
            **concern,
            "concern_id": concern["id"],
            "child": concern,
            "family_contacts": [{**c, "contact_ref": c["id"]} for c in contacts],
            "school_name": school.name,
            "school_phone": school.phone,
            "school_email": school.email,
        }
    )
    return new_event(payload, source=SOURCE, subject=concern["id"])


def writes_in_one_statement(data: ConcernCreate) -> bool:
    """Whether `raise_concern` writes in one statement on PostgreSQL, after its reads (`store_new_concern`): all but a
    safeguarding concern, which also refers to the front door (tas_common.idempotency.Once.run's `one_statement`)."""
    return not data.safeguarding


async def raise_concern(session: AsyncSession, *, principal: Principal, data: ConcernCreate) -> ConcernPublic:
    """Store a concern with its family contacts and emit `concern.raised` in the same transaction; a safeguarding
    concern also goes to the LA's front door as an urgent referral."""
    if data.school_urn not in principal.school_urns:
        raise Forbidden("you can raise concerns only for pupils of your own school")
    # On PostgreSQL the school's entry comes from this process's memo of the register when it has one: the store then
    # checks, in its one statement, that the register still says the same (a round trip fewer a concern).
    on_postgres = session.get_bind().dialect.name == "postgresql"
    school = schools.remembered(session, data.school_urn) if on_postgres else None
    remembered = school is not None
    if school is None:
        school = await schools.lookup(session, data.school_urn)
        if school is None:
            raise invalid_field("body.school_urn", "no school with this URN in the register")
        if on_postgres:
            schools.remember(session, school)
    row, contact_rows = concern_rows(principal=principal, data=data, school=school)
    # The answer is made before the rows are stored: on PostgreSQL the store takes the audit chain's lock, held until
    # the COMMIT, so nothing that can run before it runs after it.
    public = None if data.safeguarding else public_of_rows(row, contact_rows, school=school)
    stored = await store_new_concern(
        session,
        principal=principal,
        concern=row,
        contacts=contact_rows,
        school=school,
        event=raised_event(row, contact_rows, school),
        remembered=remembered,
    )
    if not stored:  # the register changed since this process read it (nothing was written): read it again
        schools.forget(session, data.school_urn)
        return await raise_concern(session, principal=principal, data=data)
    if public is not None:
        return public
    # The front door referral reads, and may update, the stored concern.
    concern = await session.get(Concern, row["id"])
    assert concern is not None
    front_door = await route_safeguarding(session, principal=principal, concern=concern)
    return to_public(concern, [FamilyContact(**c) for c in contact_rows], school=school, front_door=front_door)


async def route_safeguarding(session: AsyncSession, *, principal: Principal, concern: Concern) -> Referral | None:
    """A safeguarding concern: an urgent referral to the LA's children's social care front door at once."""
    if not concern.safeguarding:
        return None
    return await referrals.refer_to_front_door(session, principal=principal, concern=concern)


async def get_concern(session: AsyncSession, *, principal: Principal, concern_id: str) -> ConcernPublic:
    concern = await session.get(Concern, concern_id)
    if concern is None or not can_read_concern(principal, concern):
        raise NotFound("no such concern")
    contacts = list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern_id))).all())
    await audit.record(
        session,
        actor=principal,
        action="read",
        resource_type="concern",
        resource_id=concern.id,
        child_id=concern.child_id,
    )
    school = await schools.lookup(session, concern.school_urn)
    front_door = await referrals.front_door_referral_of(session, concern) if concern.safeguarding else None
    return to_public(concern, contacts, school=school, front_door=front_door)


CONCERN_ORDER = Keyset(
    "concerns", Key(Concern.safeguarding, descending=True), Key(Concern.created_at, descending=True), Key(Concern.id)
)
"""The DSL's queue: safeguarding first, then newest first."""


def _key(concern: Concern) -> tuple[object, ...]:
    return concern.safeguarding, concern.created_at, concern.id


async def list_concerns(
    session: AsyncSession,
    *,
    principal: Principal,
    school_urn: str | None,
    safeguarding: bool | None,
    since: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[ConcernPublic]:
    """The concerns of the caller's schools, safeguarding and urgent first (the DSL's queue), newest first."""
    urns = sorted(principal.school_urns if school_urn is None else principal.school_urns & {school_urn})
    query = select(Concern).where(col(Concern.school_urn).in_(urns))
    if safeguarding is not None:
        query = query.where(Concern.safeguarding == safeguarding)
    if since is not None:
        query = query.where(Concern.created_at >= since)
    if not principal.has_role(*SAFEGUARDING_READERS):  # a teacher: own safeguarding concerns only
        query = query.where((Concern.safeguarding == False) | (Concern.raised_by_sub == principal.sub))  # noqa: E712
    if cursor:
        query = query.where(CONCERN_ORDER.after(cursor))
    rows = list((await session.exec(query.order_by(*CONCERN_ORDER.order_by()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [c.id for c in rows]
    contacts: dict[str, list[FamilyContact]] = {}
    if ids:
        for contact in (await session.exec(select(FamilyContact).where(col(FamilyContact.concern_id).in_(ids)))).all():
            contacts.setdefault(contact.concern_id, []).append(contact)
    registry = await schools.lookup_many(session, {c.school_urn for c in rows})
    await audit.record_many(
        session,
        actor=principal,
        entries=[
            {"action": "read", "resource_type": "concern", "resource_id": c.id, "child_id": c.child_id} for c in rows
        ],
    )
    return Page[ConcernPublic](
        items=[to_public(c, contacts.get(c.id, []), school=registry.get(c.school_urn)) for c in rows],
        next_cursor=CONCERN_ORDER.cursor(_key(rows[-1])) if more else None,
    )


async def record_consent(
    session: AsyncSession, *, principal: Principal, concern_id: str, data: ConsentUpdate
) -> ConcernPublic:
    """Record the consent position (or a lawful basis) found after raising; it gates referrals made from now on.
    A safeguarding concern keeps a lawful basis of safeguarding unless consent is given."""
    concern = await session.get(Concern, concern_id)
    if concern is None or not can_read_concern(principal, concern):
        raise NotFound("no such concern")
    lawful_basis = str(data.lawful_basis) if data.lawful_basis else None
    if concern.safeguarding and data.consent_status != ConsentStatus.given and lawful_basis is None:
        lawful_basis = LawfulBasis.safeguarding.value
    concern.consent_status, concern.lawful_basis = str(data.consent_status), lawful_basis
    session.add(concern)
    await audit.record(
        session,
        actor=principal,
        action="record_consent",
        resource_type="concern",
        resource_id=concern.id,
        child_id=concern.child_id,
        reason=f"consent {concern.consent_status}",
    )
    contacts = list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern_id))).all())
    school = await schools.lookup(session, concern.school_urn)
    front_door = await referrals.front_door_referral_of(session, concern) if concern.safeguarding else None
    return to_public(concern, contacts, school=school, front_door=front_door)


_concern = table_of(Concern)
_LINK_STATE = DriverStatement(
    select(_concern.c.child_id, _concern.c.family_member_ids, _concern.c.mis_client).where(
        _concern.c.id == bindparam("id")
    )
)
_LINK = DriverStatement(
    update(_concern)
    .where(_concern.c.id == bindparam("b_id"))
    .values(child_id=bindparam("b_child_id"), family_member_ids=bindparam("b_members"))
)
_FIRST_LINK = DriverStatement(
    update(_concern)
    .where(
        _concern.c.id == bindparam("b_id"),
        _concern.c.child_id.is_(None),
        cast(_concern.c.family_member_ids, String) == "[]",
    )
    .values(child_id=bindparam("b_child_id"), family_member_ids=bindparam("b_members"))
    .returning(_concern.c.mis_client)
)
"""link_child's read and write on the driver (tas_common.driver): referral handles a concern_linked for every
concern, and loading the whole Concern through the ORM to change two columns was a tenth of its CPU (issue 18).
`_FIRST_LINK` is the common case in one statement: a concern not linked yet (no child, no members) gets both."""


class Linked(NamedTuple):
    """A concern linked to its child, and the MIS client that pushed it (None: raised by school staff)."""

    mis_client: str | None


async def link_child(
    session: AsyncSession, *, concern_id: str, child_id: str, family_member_ids: list[str] | None = None
) -> Linked | None:
    """Caseload matched or created the child for this concern, and gave the family members it named their ids.
    None when referral holds no such concern."""
    await flush_pending(session)  # a Concern changed through the ORM earlier in this unit of work
    members = sorted(set(family_member_ids or []))
    first = await _FIRST_LINK.first(session, {"b_id": concern_id, "b_child_id": child_id, "b_members": members})
    if first is not None:
        _held_linked(session, concern_id, child_id, members)
        return Linked(first[0])
    found = await _LINK_STATE.first(session, {"id": concern_id})
    if found is None:
        return None
    stored_child, stored_members, mis_client = found
    members = sorted(set(stored_members or []) | set(members))
    if stored_child != child_id or members != sorted(stored_members or []):
        await _LINK.execute(session, {"b_id": concern_id, "b_child_id": child_id, "b_members": members})
        _held_linked(session, concern_id, child_id, members)
    return Linked(mis_client)


def _held_linked(session: AsyncSession, concern_id: str, child_id: str, members: list[str]) -> None:
    """An ORM copy of the concern's row in this unit of work stays true to the link just written."""
    held = session.identity_map.get(identity_key(Concern, concern_id))
    if held is not None:
        set_committed_value(held, "child_id", child_id)
        set_committed_value(held, "family_member_ids", members)


def to_public(
    concern: Concern,
    contacts: list[FamilyContact],
    *,
    school: SchoolEntry | None = None,
    front_door: Referral | None = None,
) -> ConcernPublic:
    return public_of_rows(
        concern.model_dump(), [c.model_dump() for c in contacts], school=school, front_door=front_door
    )


def public_of_rows(
    concern: dict[str, Any],
    contacts: list[dict[str, Any]],
    *,
    school: SchoolEntry | None,
    front_door: Referral | None = None,
) -> ConcernPublic:
    """The concern as the API shows it, from its row (`concern_rows`, or a stored concern's `model_dump()`): the
    response's fields are the row's, by name, and its child is the row's identity fields. The 201 of a new concern
    is made from the rows just inserted, without reading them back (tests/referral/test_concerns.py checks that it
    answers exactly what a later GET does)."""
    routed = ["dsl"] + ([front_door.service_id] if front_door else []) if concern["safeguarding"] else []
    return ConcernPublic.model_validate(
        {
            **concern,
            "child": concern,
            "graduated_response": concern["graduated_response"] or [],
            "family_contacts": contacts,
            "school_name": school.name if school else None,
            "routed_to": routed,
            "front_door_referral_id": front_door.id if front_door else None,
        }
    )
