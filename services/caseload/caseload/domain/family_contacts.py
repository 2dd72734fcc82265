"""The family contacts a concern brings, merged into the child's family members by mobile or email, and the
`family.contact_changed` event every change to a member emits (notify keeps its replica from it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy import select as core_select
from sqlmodel import update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import FamilyContactChangedV1, FamilyContactV1
from tas_common.identity import FamilyContactShape, row_of
from tas_common.tables import table_of

from .models import FamilyMember, new_id

SOURCE = "tas/caseload"

_family = table_of(FamilyMember)
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


async def family_of(session: AsyncSession, child_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in (await session.execute(_FAMILY_OF, {"child_id": child_id})).all()]


async def merge_contact(
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
