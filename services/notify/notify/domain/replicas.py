"""Notify's replicas of other services' data, built from their events: the contacts it may message (caseload's
`family.contact_changed`), each child's school and LA (for who may read) and whether its family contact is
restricted (`child.family_contact_restriction_changed`), and each child's team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Insert, bindparam, func, update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import utcnow
from tas_common.driver import DriverStatement, flush_pending
from tas_common.events.schemas import (
    ConcernLinkedV1,
    FamilyContactChangedV1,
    FamilyContactRestrictionChangedV1,
    TeamMemberV1,
)
from tas_common.tables import table_of

from . import family_words, lifecycle, reach, recipients
from .models import ChildScope, Contact, DialectInsert, TeamMember, dialect_of, per_dialect
from .scheduling import aware

_contact = table_of(Contact)
_scope = table_of(ChildScope)
# Statements of the event handlers' hot path, compiled once and run on the driver's cursor (tas_common.driver: no
# ORM identity map, no flush, no SQLAlchemy execution per statement).
_DETAILS = ("child_id", "relationship", "parental_responsibility", "mobile", "email", "removed", "updated_at")
_SEED = ("preferred_channel", "language", "opted_out", "preferences_set_at", "reach_version")
_UNSET = {"sms_block": None, "email_block": None, "reach_published": None}
"""A new contact's columns neither caseload's event nor the seed sets (the model's defaults, spelled out: the
driver applies no Python-side default)."""
_ADD_CONTACT = {
    dialect: DriverStatement(statement, columns=("id", *_DETAILS, *_SEED, *_UNSET))
    for dialect, statement in per_dialect(
        lambda dialect_insert: dialect_insert(_contact).on_conflict_do_nothing(index_elements=[_contact.c.id])
    ).items()
}
"""A contact notify has not heard of, inserted; nothing (0 rows) when it has one of that id. Caseload's first event
about a contact, the common case, is one statement (a read came first: on PostgreSQL a round trip a contact)."""
_UPDATE_CONTACT = DriverStatement(update(_contact).where(_contact.c.id == bindparam("b_id")), columns=_DETAILS)
_SCOPE_COLUMNS = ("child_id", "school_urn", "la_code")
_SCOPE_UNSET = {
    "family_contact_restricted": False,
    "restriction_changed_at": None,
    "child_given_name": None,
    "school_name": None,
    "school_phone": None,
    "school_email": None,
}
"""A new child scope's other columns: the model's defaults, spelled out."""
_CHILD_DETAILS = ("child_given_name", "school_name", "school_phone", "school_email")
_REMEMBER_DETAILS = DriverStatement(
    update(_scope)
    .where(_scope.c.child_id == bindparam("b_child_id"))
    .values({c: func.coalesce(bindparam(f"b_{c}", type_=_scope.c[c].type), _scope.c[c]) for c in _CHILD_DETAILS})
)
"""The newest concern's details win; one it does not carry (None) keeps the value known."""


def _put_scope(dialect_insert: DialectInsert) -> Insert:
    statement = dialect_insert(_scope)
    return statement.on_conflict_do_update(
        index_elements=[_scope.c.child_id],
        set_={"school_urn": statement.excluded.school_urn, "la_code": statement.excluded.la_code},
    )


def _on_driver(statements: dict[str, Insert]) -> dict[str, DriverStatement]:
    return {
        dialect: DriverStatement(statement, columns=(*_SCOPE_COLUMNS, *_SCOPE_UNSET))
        for dialect, statement in statements.items()
    }


def _link_scope(dialect_insert: DialectInsert) -> Insert:
    statement = dialect_insert(_scope)
    details = {c: func.coalesce(statement.excluded[c], _scope.c[c]) for c in _CHILD_DETAILS}
    return statement.on_conflict_do_update(
        index_elements=[_scope.c.child_id],
        set_={"school_urn": statement.excluded.school_urn, "la_code": statement.excluded.la_code, **details},
    ).returning(_scope.c.family_contact_restricted, *(_scope.c[c] for c in _CHILD_DETAILS))


_PUT_SCOPE = _on_driver(per_dialect(_put_scope))
_LINK_SCOPE = _on_driver(per_dialect(_link_scope))
"""`remember_child_scope` + `remember_child_details` + `family_words.about` + the restriction flag in ONE statement
(a concern linked: the child's school and LA, its details, and what its family's messages need, read back)."""
_ADD_SCOPE = _on_driver(
    per_dialect(
        lambda dialect_insert: dialect_insert(_scope).on_conflict_do_nothing(index_elements=[_scope.c.child_id])
    )
)


def _stored_mobile(mobile: str | None) -> str | None:
    """E.164 for a valid UK mobile (a reply STOP finds the contact by it), else as caseload sent it."""
    if not mobile:
        return mobile
    try:
        return recipients.normalise("sms", mobile)
    except recipients.InvalidRecipient:
        return mobile


async def upsert_contact(session: AsyncSession, *, change: FamilyContactChangedV1) -> None:
    """Caseload owns who a contact is and their addresses; notify owns their preferences and opt-outs. The
    preferences on caseload's first event about a contact (what the school recorded) seed notify's; later events
    change the contact's details only, so a practitioner's edit never undoes the contact's own choice. When the
    contact's reach may have changed (a new contact, an address, parental responsibility), caseload is told what
    notify knows and the family is checked (reach.contact_changed)."""
    mobile = _stored_mobile(change.mobile)
    details: dict[str, object] = {
        "child_id": change.child_id,
        "relationship": change.relationship,
        "parental_responsibility": change.parental_responsibility,
        "mobile": mobile,
        "email": change.email,
        "removed": change.removed,
        "updated_at": utcnow(),
    }
    seed = {
        "preferred_channel": change.preferred_channel,
        "language": change.language,
        "opted_out": change.opted_out,
        "preferences_set_at": None,
        "reach_version": 0,
    }
    await flush_pending(session)  # a contact changed through the ORM earlier in this unit of work
    added = await _ADD_CONTACT[dialect_of(session)].execute(
        session, {**details, **seed, **_UNSET, "id": change.contact_id}
    )
    if added:  # new to notify
        if change.opted_out:
            await suppress_contact(session, contact=change, source="caseload opt-out")
        state = reach.ContactState(
            id=change.contact_id,
            child_id=change.child_id,
            parental_responsibility=change.parental_responsibility,
            removed=change.removed,
            mobile=mobile,
            email=change.email,
            preferred_channel=change.preferred_channel,
            language=change.language,
            opted_out=change.opted_out,
            sms_block=None,
            email_block=None,
            reach_published=None,
            reach_version=0,
        )
    else:
        known = await reach.contact_state(session, change.contact_id)
        assert known is not None  # the insert met its row, and contacts are never deleted (a removed one stays)
        await _UPDATE_CONTACT.execute(session, {**details, "b_id": change.contact_id})
        if (known.parental_responsibility, known.removed, known.mobile, known.email) == (
            change.parental_responsibility,
            change.removed,
            mobile,
            change.email,
        ):
            return  # nothing that decides whether the contact can be messaged
        state = known
        state.child_id, state.parental_responsibility, state.removed = (
            change.child_id,
            change.parental_responsibility,
            change.removed,
        )
        state.mobile, state.email = mobile, change.email
    await reach.contact_changed(session, contact_id=change.contact_id, state=state)


async def suppress_contact(session: AsyncSession, *, contact: Contact | FamilyContactChangedV1, source: str) -> None:
    """Put each usable address of the contact on the suppression list as an opt-out."""
    for channel, raw in (("sms", contact.mobile), ("email", contact.email)):
        if raw:
            try:
                address = recipients.normalise(channel, raw)
            except recipients.InvalidRecipient:
                continue
            await recipients.suppress(session, channel=channel, address=address, reason="opt-out", source=source)


async def remember_child_scope(
    session: AsyncSession, *, child_id: str, school_urn: str, la_code: str | None, only_if_unknown: bool = False
) -> None:
    statement = (_ADD_SCOPE if only_if_unknown else _PUT_SCOPE)[dialect_of(session)]
    await statement.execute(
        session, {**_SCOPE_UNSET, "child_id": child_id, "school_urn": school_urn, "la_code": la_code}
    )


async def remember_child_details(session: AsyncSession, *, linked: ConcernLinkedV1) -> None:
    """The child's first name and the school's office contact, for what family messages say (the newest concern's
    values win; one it does not carry is kept)."""
    known = {f"b_{key}": getattr(linked, key) or None for key in _CHILD_DETAILS}
    if any(known.values()):
        await _REMEMBER_DETAILS.execute(session, {**known, "b_child_id": linked.child_id})


async def link_concern(session: AsyncSession, *, linked: ConcernLinkedV1) -> tuple[bool, family_words.ChildWords]:
    """The child's scope and details as a linked concern says (`remember_child_scope` and
    `remember_child_details`), in one statement that gives back whether the family contact is restricted and the
    words its messages use (`family_words.about`)."""
    details = {key: getattr(linked, key) or None for key in _CHILD_DETAILS}
    row = await _LINK_SCOPE[dialect_of(session)].first(
        session,
        {
            **_SCOPE_UNSET,
            **details,
            "child_id": linked.child_id,
            "school_urn": linked.school_urn,
            "la_code": linked.la_code,
        },
    )
    assert row is not None  # an upsert returns its row
    restricted, given_name, school_name, school_phone, school_email = row
    return bool(restricted), family_words.ChildWords(
        given_name=given_name, school_name=school_name, school_phone=school_phone, school_email=school_email
    )


async def team_member_changed(session: AsyncSession, *, member: TeamMemberV1, added: bool) -> None:
    key = (member.child_id, member.member_sub, member.org_id)
    existing = await session.get(TeamMember, key)
    if added and existing is None:
        session.add(TeamMember(child_id=member.child_id, member_sub=member.member_sub, org_id=member.org_id))
    elif not added and existing is not None:
        await session.delete(existing)
        await session.flush()


async def restriction_changed(
    session: AsyncSession, *, change: FamilyContactRestrictionChangedV1, now: datetime
) -> None:
    """Keep caseload's "family contact restricted" flag (the newest change wins, whatever order the events come
    in). Setting it cancels every message to the child's family not sent yet: nothing goes while it is set."""
    at = aware(change.changed_at)
    scope = await session.get(ChildScope, change.child_id)
    if scope is None:  # before caseload's concern_linked: the school is filled in when that comes
        scope = ChildScope(child_id=change.child_id, school_urn="", la_code=None)
    elif scope.restriction_changed_at is not None and aware(scope.restriction_changed_at) > at:
        return  # an older change arriving late
    scope.family_contact_restricted, scope.restriction_changed_at = change.restricted, at
    session.add(scope)
    await session.flush()
    if change.restricted:
        await lifecycle.cancel_family_unsent(
            session, child_id=change.child_id, reason="family contact restricted", now=now
        )


async def family_contact_restricted(session: AsyncSession, child_id: str) -> bool:
    scope = await session.get(ChildScope, child_id)
    return scope is not None and scope.family_contact_restricted
