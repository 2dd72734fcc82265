"""An MIS re-sends a record it pushed before (issue 12.11): unchanged, it is a `duplicate`; changed, it must not
vanish.

What the MIS sent is kept as a digest per field (`Concern.mis_fields`), so a re-send is compared with what the MIS
said last — not with the concern as it is now, which the school may have changed since (consent recorded at a
meeting): a re-send of the same export changes nothing. A field that differs is either applied, as a new version of
the concern (the old values kept in `concern_version`, audited, `concern.updated` published), or refused as a
`conflict`, named but not applied:

- applied: what the school says about the worry — summary, areas of need, urgency, what was tried, the graduated
  response, consent and lawful basis — and a raise to safeguarding, which is routed at once as a new safeguarding
  concern is (urgent, the DSL's queue, the LA's front door, the lawful basis of safeguarding, every open referral of
  the concern marked safeguarding so that no family message follows from it);
- a conflict: the school and the child's identity (caseload has linked the concern to a child by them: a different
  child is a different concern), the family's contacts (kept in the child's record, where the school changes them),
  and standing a safeguarding concern down (the DSL decides that, not an export).

A conflict keeps the old digests of its fields, so it is answered again on the next re-send until the vendor acts;
the fields it could apply are applied, so a conflicting field never holds back a raise to safeguarding. Results name
fields, never values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.events import new_event
from tas_common.events.schemas import ConcernUpdatedV1
from tas_common.identity import ChildIdentity, FamilyContactShape, row_of
from tas_common.outbox import add_event
from tas_common.vocab import ConsentStatus, Urgency

from . import referral_rules, referrals
from .concern_schemas import LawfulBasis
from .mis_schemas import MisConcernIn, MisItemResult
from .models import Concern, ConcernVersion, FamilyContact, Referral

SOURCE = "tas/referral"
CHILD_FIELDS = tuple(f"child.{name}" for name in ChildIdentity.model_fields)
LOCKED = frozenset({"school_urn", "family_contacts", *CHILD_FIELDS})
"""Fields a re-send may not change (a conflict)."""
APPLIED = (
    "areas_of_need",
    "urgency",
    "summary",
    "already_tried",
    "graduated_response",
    "consent_status",
    "lawful_basis",
)
"""Fields a re-send changes (with `safeguarding` from false to true)."""


def _contacts_content(contacts: list[Any]) -> list[dict[str, Any]]:
    rows = [row_of(FamilyContactShape, c) for c in contacts]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def content_of(data: MisConcernIn) -> dict[str, Any]:
    """What an MIS item says, field by field, as the names the results use."""
    child = row_of(ChildIdentity, data.child)
    return {
        "school_urn": data.school_urn,
        **{f"child.{name}": value for name, value in child.items()},
        "areas_of_need": [str(a) for a in data.areas_of_need],
        "safeguarding": data.safeguarding,
        "urgency": str(data.urgency),
        "summary": data.summary,
        "already_tried": data.already_tried,
        "graduated_response": [s.model_dump(mode="json") for s in data.graduated_response],
        "family_contacts": _contacts_content(data.family_contacts),
        "consent_status": str(data.consent_status),
        "lawful_basis": str(data.lawful_basis) if data.lawful_basis else None,
    }


def _stored_content(concern: Concern, contacts: list[FamilyContact]) -> dict[str, Any]:
    """A concern pushed before `mis_fields` existed, as the MIS would have sent it. A safeguarding concern's
    urgency and lawful basis were derived on storing, so they are left out (not compared)."""
    content = {
        "school_urn": concern.school_urn,
        **{f"child.{name}": value for name, value in row_of(ChildIdentity, concern).items()},
        "areas_of_need": list(concern.areas_of_need),
        "safeguarding": concern.safeguarding,
        "summary": concern.summary,
        "already_tried": concern.already_tried,
        "graduated_response": list(concern.graduated_response or []),
        "family_contacts": _contacts_content(contacts),
        "consent_status": concern.consent_status,
    }
    if not concern.safeguarding:
        content |= {"urgency": concern.urgency, "lawful_basis": concern.lawful_basis}
    return content


def digests(content: dict[str, Any]) -> dict[str, str]:
    return {
        name: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
        for name, value in content.items()
    }


def differing(baseline: dict[str, str], incoming: dict[str, str]) -> list[str]:
    """The fields whose digests differ; a field the baseline does not know is not compared."""
    return sorted(name for name, digest in incoming.items() if name in baseline and baseline[name] != digest)


async def _baseline(session: AsyncSession, concern: Concern) -> tuple[dict[str, str], bool]:
    """What the MIS sent last (digests), and whether it was read from the stored values (an older concern)."""
    if concern.mis_fields:
        return dict(concern.mis_fields), False
    contacts = list((await session.exec(select(FamilyContact).where(FamilyContact.concern_id == concern.id))).all())
    return digests(_stored_content(concern, contacts)), True


async def resend(
    session: AsyncSession, *, principal: Principal, concern: Concern, data: MisConcernIn, index: int
) -> MisItemResult:
    """Compare a re-sent item with what the MIS sent last; apply what may change, name what may not."""
    content = content_of(data)
    incoming = digests(content)
    baseline, from_stored = await _baseline(session, concern)
    differ = differing(baseline, incoming)
    conflicts = [f for f in differ if f in LOCKED or (f == "safeguarding" and not data.safeguarding)]
    applied = [f for f in differ if f not in conflicts]
    if applied or from_stored:
        concern.mis_fields = {**incoming, **{f: baseline[f] for f in conflicts}}
        session.add(concern)
    if applied:
        await _apply(session, principal=principal, concern=concern, content=content, fields=applied)
    result = MisItemResult(
        index=index,
        mis_record_id=data.mis_record_id,
        status="duplicate",
        concern_id=concern.id,
        version=concern.version,
    )
    if differ:
        result.status = "conflict" if conflicts else "updated"
        result.changed, result.conflicts = applied, conflicts
    return result


async def _apply(
    session: AsyncSession, *, principal: Principal, concern: Concern, content: dict[str, Any], fields: list[str]
) -> None:
    """A new version of the concern: the fields' new values, the old ones in `concern_version`, an audit row, the
    event; a raise to safeguarding routed as a new safeguarding concern is."""
    previous = {name: getattr(concern, name) for name in fields}
    escalated = "safeguarding" in fields and not concern.safeguarding
    for name in fields:
        setattr(concern, name, content[name])
    if concern.safeguarding:
        concern.urgency = Urgency.urgent.value
        if concern.consent_status != ConsentStatus.given and not concern.lawful_basis:
            concern.lawful_basis = LawfulBasis.safeguarding.value
    concern.version += 1
    concern.updated_at = utcnow()
    session.add(concern)
    session.add(
        ConcernVersion(
            concern_id=concern.id,
            version=concern.version,
            changed_fields=fields,
            previous=json.loads(json.dumps(previous, default=str)),
            by_sub=principal.sub,
            by_org=principal.org_id,
        )
    )
    await audit.record(
        session,
        actor=principal,
        action="update",
        resource_type="concern",
        resource_id=concern.id,
        child_id=concern.child_id,
        reason=f"mis re-send: version {concern.version} ({', '.join(fields)})",
    )
    if escalated:
        await _escalate(session, principal=principal, concern=concern)
    await add_event(
        session,
        new_event(
            ConcernUpdatedV1(
                concern_id=concern.id,
                child_id=concern.child_id,
                school_urn=concern.school_urn,
                la_code=concern.la_code,
                version=concern.version,
                changed_fields=fields,
                safeguarding=concern.safeguarding,
                escalated=escalated,
                urgency=concern.urgency,
                areas_of_need=list(concern.areas_of_need),
                consent_status=concern.consent_status,
                lawful_basis=concern.lawful_basis,
            ),
            source=SOURCE,
            subject=concern.id,
        ),
    )


async def _escalate(session: AsyncSession, *, principal: Principal, concern: Concern) -> None:
    """Now a safeguarding concern: its open referrals become safeguarding ones (their events then tell no service
    to message the family, and a teacher who did not make them no longer sees them), and it goes to the LA's front
    door at once unless a referral there is open already."""
    open_referrals = (
        await session.exec(
            select(Referral).where(Referral.concern_id == concern.id, col(Referral.status).in_(referral_rules.OPEN))
        )
    ).all()
    for referral in open_referrals:
        referral.safeguarding = True
        session.add(referral)
    front_door = await referrals.front_door_referral_of(session, concern)
    if front_door is None or front_door.status not in referral_rules.OPEN:
        await referrals.refer_to_front_door(session, principal=principal, concern=concern)
