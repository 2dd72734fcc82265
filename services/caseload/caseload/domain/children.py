"""Use cases for the child's record. Service functions never commit: the caller's unit of work does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, insert
from sqlalchemy import select as core_select
from sqlmodel import and_, col, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden, InvalidInput, NotFound
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import (
    ChildRegisteredV1,
    ConcernLinkedV1,
    ConcernRaisedV1,
    FamilyContactChangedV1,
    FamilyContactV1,
)
from tas_common.identity import ChildIdentity, FamilyContactShape, row_of
from tas_common.outbox import add_event, add_events
from tas_common.tables import table_of
from tas_common.visibility import is_la_officer

from . import organisations
from . import plan as plans
from .access import can_see_child, may_break_glass_into, visible_child
from .breakglass import record_discovery
from .chronology import add_entry, write_entry
from .models import (
    Child,
    ChronologyEntry,
    EhcRequest,
    FamilyMember,
    Plan,
    Review,
    TeamMember,
    new_id,
)
from .restriction import INSERT_RESTRICTION, changed_event, history_row, restrict_for_safeguarding
from .schemas import ChildPublic, ChildSearchPage, PossibleDuplicate
from .search import name_keys

SOURCE = "tas/caseload"


_child = table_of(Child)
_family = table_of(FamilyMember)
_CHILD_COLUMNS = (
    _child.c.id,
    _child.c.given_name,
    _child.c.upn,
    _child.c.nhs_number,
    _child.c.school_urn,
    _child.c.la_code,
    _child.c.safeguarding,
    _child.c.family_contact_restricted,
    _child.c.possible_duplicate_of,
    _child.c.merged_into,
)
_MATCH = (
    core_select(*_CHILD_COLUMNS)
    .where(
        or_(
            _child.c.upn == bindparam("upn"),
            _child.c.nhs_number == bindparam("nhs_number"),
            and_(
                _child.c.given_name == bindparam("given_name"),
                _child.c.family_name == bindparam("family_name"),
                _child.c.date_of_birth == bindparam("date_of_birth"),
                _child.c.school_urn == bindparam("school_urn"),
                _child.c.merged_into.is_(None),
            ),
        )
    )
    .order_by(_child.c.merged_into.is_not(None))
)
_CHILD_BY_ID = core_select(*_CHILD_COLUMNS).where(_child.c.id == bindparam("id"))
_INSERT_CHILD = insert(_child)
_INSERT_PLAN = insert(table_of(Plan))
_FAMILY_OF = core_select(_family).where(_family.c.child_id == bindparam("child_id"))
_INSERT_MEMBER = insert(_family)
_UPDATE_MEMBER = (
    update(_family)
    .where(_family.c.id == bindparam("member_id"))
    .values(
        parental_responsibility=bindparam("parental_responsibility"),
        mobile=bindparam("mobile"),
        email=bindparam("email"),
    )
)
"""Statements built once: register_concern runs for every concern (a MIS batch brings thousands)."""


async def _match(session: AsyncSession, concern: ConcernRaisedV1) -> tuple[Row[Any] | None, str, str | None]:
    """UPN, then NHS number; a name + date of birth + school match is only a *possible* duplicate. One query
    finds the candidates of all three kinds (each by an index); the first kind that matches wins."""
    identity = concern.child
    rows = (
        await session.execute(
            _MATCH,
            {
                "upn": identity.upn,
                "nhs_number": identity.nhs_number or None,
                "given_name": identity.given_name,
                "family_name": identity.family_name,
                "date_of_birth": identity.date_of_birth,
                "school_urn": concern.school_urn,
            },
        )
    ).all()
    by_upn = next((r for r in rows if r.upn == identity.upn), None)
    if by_upn is not None:
        return await _survivor(session, by_upn), "upn", None
    by_nhs = next((r for r in rows if identity.nhs_number and r.nhs_number == identity.nhs_number), None)
    if by_nhs is not None:  # unmerged records first (the query's order)
        return await _survivor(session, by_nhs), "nhs_number", None
    # what is left can only be a record with the same name, date of birth and school
    return None, "created", rows[0].id if rows else None


async def _survivor(session: AsyncSession, child: Row[Any]) -> Row[Any]:
    """A merged record's concerns go to the record it was merged into."""
    seen = {child.id}
    while child.merged_into:
        survivor = (await session.execute(_CHILD_BY_ID, {"id": child.merged_into})).first()
        if survivor is None or survivor.id in seen:
            break
        seen.add(survivor.id)
        child = survivor
    return child


async def _family_of(session: AsyncSession, child_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await session.execute(_FAMILY_OF, {"child_id": child_id})).all()]


async def _merge_contact(
    session: AsyncSession, family: list[dict[str, Any]], child_id: str, contact: FamilyContactV1
) -> tuple[dict[str, Any], bool]:
    """Merge the contact into the first of the child's `family` (rows, in the order they were added) with the same
    mobile or email, or add it (to the database and to `family`); returns the member and whether it changed."""
    existing = next(
        (
            m
            for m in family
            if (contact.mobile and m["mobile"] == contact.mobile) or (contact.email and m["email"] == contact.email)
        ),
        None,
    )
    if existing is not None:
        # a known member's preferred channel and language are notify's (the family's own): a later concern's
        # intake does not change them
        before = (existing["parental_responsibility"], existing["mobile"], existing["email"])
        existing.update(
            parental_responsibility=contact.parental_responsibility,
            mobile=contact.mobile or existing["mobile"],
            email=contact.email or existing["email"],
        )
        await session.execute(
            _UPDATE_MEMBER,
            {"member_id": existing["id"], **{k: existing[k] for k in ("parental_responsibility", "mobile", "email")}},
        )
        return existing, before != (existing["parental_responsibility"], existing["mobile"], existing["email"])
    member = row_of(FamilyContactShape, contact, id=new_id(), child_id=child_id, opted_out=False)
    await session.execute(_INSERT_MEMBER, member)
    family.append(member)
    return member, True


def contact_changed_event(member: FamilyMember | Mapping[str, Any]) -> CloudEvent:
    """`family.contact_changed` for a family member (a FamilyMember, or a family_member row as a mapping)."""
    m = member if isinstance(member, Mapping) else {k: getattr(member, k) for k in _CONTACT_FIELDS}
    return new_event(
        FamilyContactChangedV1(
            child_id=m["child_id"],
            contact_id=m["id"],
            relationship=m["relationship"],
            parental_responsibility=m["parental_responsibility"],
            mobile=m["mobile"],
            email=m["email"],
            preferred_channel=m["preferred_channel"],
            language=m["language"],
            opted_out=m["opted_out"],
        ),
        source=SOURCE,
        subject=m["child_id"],
    )


_CONTACT_FIELDS = (
    "id",
    "child_id",
    "relationship",
    "parental_responsibility",
    "mobile",
    "email",
    "preferred_channel",
    "language",
    "opted_out",
)


def concern_summary(concern: ConcernRaisedV1) -> str:
    """The chronology's line for a concern: its urgency, areas of need and the basis it was shared on."""
    areas = ", ".join(a.replace("_", " ") for a in concern.areas_of_need) or "not stated"
    shared = f"consent {concern.consent_status.replace('_', ' ')}"
    if concern.lawful_basis:
        shared += f", shared on the lawful basis of {concern.lawful_basis.replace('_', ' ')}"
    return f"Concern raised by school {concern.school_urn} ({concern.urgency}; areas of need: {areas}; {shared})"


async def register_concern(session: AsyncSession, *, concern: ConcernRaisedV1, event_id: str) -> str:
    """Match or create the child for an incoming concern, keep the family's contacts, write the chronology;
    returns the child's id."""
    found, match, similar = await _match(session, concern)
    new_child = found is None
    events: list[CloudEvent] = []  # written together at the end, in this order
    if found is None:
        now, child_id = utcnow(), new_id()
        school_urn, la_code, possible_duplicate_of = concern.school_urn, concern.la_code, similar
        await session.execute(
            _INSERT_CHILD,
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
        await session.execute(
            _INSERT_PLAN,
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
    if concern.safeguarding and (found is None or not found.family_contact_restricted):
        # a safeguarding concern restricts family contact until the DSL or the LA's front door lifts it
        events.append(
            await restrict_for_safeguarding(
                session, child_id=child_id, concern_id=concern.concern_id, event_id=event_id
            )
        )
    school = await organisations.remember_school(
        session,
        urn=concern.school_urn,
        name=concern.school_name,
        phone=concern.school_phone,
        email=concern.school_email,
    )
    await organisations.remember(session, org_id=concern.raised_by_org, name=concern.school_name, org_type="school")
    if school_urn != concern.school_urn:  # a matched child of another school: that school's contact
        school = await organisations.school_of(session, school_urn)
    family = await _family_of(session, child_id) if concern.family_contacts and not new_child else []
    member_ids = []
    for contact in concern.family_contacts:
        member, changed = await _merge_contact(session, family, child_id, contact)
        member_ids.append(member["id"])
        if changed:
            events.append(contact_changed_event(member))
    await write_entry(
        session,
        child_id=child_id,
        kind="concern_raised",
        ref_type="concern",
        ref_id=concern.concern_id,
        summary=concern_summary(concern),
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
        resource_id=child_id,
        child_id=child_id,
        reason=f"concern {concern.concern_id}",
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
    await add_events(session, events, traced=True)
    return child_id


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
