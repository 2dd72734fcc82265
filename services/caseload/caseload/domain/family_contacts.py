"""The family contacts a concern brings, merged into the child's family members by mobile or email, and the
`family.contact_changed` event every change to a member emits (notify keeps its replica from it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy import select as core_select
from sqlmodel import update
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.driver import DriverStatement, flush_pending
from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import FamilyContactChangedV1, FamilyContactV1
from tas_common.identity import FamilyContactShape, row_of
from tas_common.tables import table_of
from tas_common.together import NewRows

from .models import FamilyMember, new_id

SOURCE = "tas/caseload"

_family = table_of(FamilyMember)
_FAMILY_COLUMNS = tuple(c.name for c in _family.columns)
_FAMILY_OF = DriverStatement(core_select(_family).where(_family.c.child_id == bindparam("child_id")))
_INSERT_MEMBER = DriverStatement(insert(_family), columns=_FAMILY_COLUMNS)
_UPDATE_MEMBER = DriverStatement(
    update(_family).where(_family.c.id == bindparam("member_id")),
    columns=("parental_responsibility", "mobile", "email"),
)
_NEW_MEMBER = {"suppressed": [], "reachable": True, "preferences_version": 0}
"""The columns' Python-side defaults, which a driver statement does not apply (tas_common/driver.py)."""


async def family_of(session: AsyncSession, child_id: str) -> list[dict[str, Any]]:
    await flush_pending(session)  # a member changed through the ORM earlier in this unit of work
    return [
        dict(zip(_FAMILY_COLUMNS, row, strict=True)) for row in await _FAMILY_OF.all(session, {"child_id": child_id})
    ]


async def merge_contact(
    session: AsyncSession,
    family: list[dict[str, Any]],
    child_id: str,
    contact: FamilyContactV1,
    new_rows: NewRows | None = None,
) -> tuple[dict[str, Any], bool]:
    """Merge the contact into the first of the child's `family` (rows, in the order they were added) with the same
    mobile or email, or add it (to the database and to `family`); returns the member and whether it changed. With
    `new_rows`, a new member is added to them (written later, with the use case's other rows) instead of inserted
    now, and a merge into such a member changes only its row there."""
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
        if new_rows is None or not new_rows.holds(existing):
            await _UPDATE_MEMBER.execute(
                session,
                {
                    "member_id": existing["id"],
                    **{k: existing[k] for k in ("parental_responsibility", "mobile", "email")},
                },
            )
        return existing, before != (existing["parental_responsibility"], existing["mobile"], existing["email"])
    member = {**_NEW_MEMBER, **row_of(FamilyContactShape, contact, id=new_id(), child_id=child_id, opted_out=False)}
    if new_rows is None:
        await _INSERT_MEMBER.execute(session, member)
    else:
        new_rows.add(_family, member)
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
