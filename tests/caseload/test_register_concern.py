"""`concern_intake.register_concern` (and the notification/referral fact handlers) run on SQLAlchemy Core statements
built once. Proof that they do what the ORM version did: the same sequence of concerns, handled by the ORM
version kept below as the reference and by the service's handlers, on two fresh databases, leaves the same rows
(children, family, plan, chronology, audit) and the same outbox events, up to generated ids and timestamps."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text, update
from sqlmodel import or_
from sqlmodel import select as orm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from caseload.domain import family_contacts
from caseload.domain.chronology import add_entry, fact_recorded
from caseload.domain.models import Child, FamilyContactRestriction, FamilyMember, Plan
from caseload.domain.search import name_keys
from caseload.events import handlers
from tas_common import audit
from tas_common.db import Database, utcnow
from tas_common.events import new_event
from tas_common.events.schemas import (
    ChildIdentity,
    ChildRegisteredV1,
    ConcernLinkedV1,
    ConcernRaisedV1,
    FamilyContactRestrictionChangedV1,
    FamilyContactV1,
    NotificationDeliveredV1,
    NotificationFailedV1,
)
from tas_common.outbox import add_event
from tas_common.tables import audit_log, outbox
from tas_common.tracing import span

from ..conftest import fresh_database_url, migrate

SOURCE = "tas/caseload"


# --- the reference: register_concern as it was written with the ORM -------------------------------------------


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


# --- one scenario, run through either implementation -----------------------------------------------------------


def contact(ref: str, **fields: Any) -> FamilyContactV1:
    base = {
        "name": "Alex Example",
        "relationship": "parent",
        "parental_responsibility": True,
        "preferred_channel": "email",
        "language": "en",
    }
    return FamilyContactV1(contact_ref=ref, **{**base, **fields})


def identity(upn: str, nhs: str | None, given: str = "Sam", family: str = "Example") -> ChildIdentity:
    return ChildIdentity(
        upn=upn, nhs_number=nhs, given_name=given, family_name=family, date_of_birth="2016-03-04", year_group="Y4"
    )


def concern(
    n: int,
    child: ChildIdentity,
    contacts: list[FamilyContactV1],
    *,
    safeguarding: bool = False,
    school: str = "100000",
    areas: list[str] | None = None,
) -> ConcernRaisedV1:
    return ConcernRaisedV1(
        concern_id=f"00000000-0000-4000-8000-{n:012d}",
        school_urn=school,
        la_code="999",
        raised_by_org=f"school-{school}",
        child=child,
        safeguarding=safeguarding,
        areas_of_need=["communication_and_interaction"] if areas is None else areas,
        urgency="routine",
        family_contacts=contacts,
    )


MOBILE_A, MOBILE_B = "+447700900101", "+447700900102"


def scenario() -> list[ConcernRaisedV1]:
    from tas_dev.testing import fictional_nhs_number, fictional_upn

    upn = {n: fictional_upn(n) for n in range(1, 8)}
    nhs = {n: fictional_nhs_number(n * 7) for n in range(1, 8)}
    return [
        # a new child, two contacts
        concern(
            1,
            identity(upn[1], nhs[1]),
            [
                contact("c1", email="parent1@example.org", mobile=MOBILE_A),
                contact(
                    "c2",
                    name="Jo Example",
                    relationship="carer",
                    parental_responsibility=False,
                    mobile=MOBILE_B,
                    preferred_channel="sms",
                ),
            ],
        ),
        # the same child by UPN: one contact unchanged, one now with parental responsibility (its new preferences
        # at intake are not applied: notify owns them), one new (email only)
        concern(
            2,
            identity(upn[1], nhs[1]),
            [
                contact("c3", email="parent1@example.org", mobile=MOBILE_A),
                contact(
                    "c4",
                    mobile=MOBILE_B,
                    preferred_channel="sms",
                    language="cy",
                    relationship="carer",
                    parental_responsibility=True,
                ),
                contact("c5", name="Kim Example", email="kim@example.org"),
            ],
            safeguarding=True,
            areas=[],
        ),
        # another UPN, the same NHS number: the same child (a new language at intake: notify owns it, no change)
        concern(
            3, identity(upn[2], nhs[1]), [contact("c6", email="parent1@example.org", mobile=MOBILE_A, language="pl")]
        ),
        # a new UPN, no NHS number, same name, date of birth and school: a possible duplicate
        concern(4, identity(upn[3], None), [contact("c7", email="other@example.org")]),
        # a new child in another school, safeguarding from the start, two contacts sharing a mobile
        concern(
            5,
            identity(upn[4], nhs[4], given="Ray"),
            [
                contact("c8", mobile=MOBILE_A, preferred_channel="sms"),
                contact("c9", mobile=MOBILE_A, email="ray@example.org"),
            ],
            safeguarding=True,
            school="100001",
        ),
        # no contacts at all
        concern(6, identity(upn[5], nhs[5], given="Lee"), []),
    ]


async def run(database: Database, implementation: str) -> None:
    """The scenario's concerns; then (outside) a merge; then a concern for the merged record and notifications."""
    for n, c in enumerate(scenario()):
        with span(None):  # as the consumer runs a handler: its events join the message's trace
            async with database.transaction() as session:
                event_id = f"10000000-0000-4000-8000-{n:012d}"
                if implementation == "reference":
                    await reference_register_concern(session, concern=c, event_id=event_id)
                else:
                    await handlers.on_concern_raised(
                        session, c, new_event(c, source="tas/referral").model_copy(update={"id": event_id})
                    )


async def merge_first_into_duplicate(database: Database) -> list[str]:
    """Mark the first child as merged into the possible duplicate (as `children.merge` leaves a tombstone)."""
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT id, possible_duplicate_of FROM child WHERE possible_duplicate_of IS NOT NULL")
            )
        ).all()
        duplicate, first = rows[0]
        await session.execute(
            update(Child.__table__)
            .where(Child.__table__.c.id == first)  # type: ignore
            .values(merged_into=duplicate)
        )
    return [first, duplicate]


async def after_merge(database: Database, implementation: str, ids: list[str]) -> None:
    first, survivor = ids
    c = concern(7, identity(scenario()[0].child.upn, None), [contact("c10", email="parent1@example.org")])
    notifications = [
        (NotificationDeliveredV1, "n1", survivor),
        (NotificationDeliveredV1, "n1", survivor),  # the same fact twice
        (NotificationFailedV1, "n2", first),
        (NotificationDeliveredV1, "n3", None),
        (NotificationDeliveredV1, "n4", str(uuid.UUID(int=1))),  # a child caseload does not hold
    ]
    async with database.transaction() as session:
        if implementation == "reference":
            await reference_register_concern(session, concern=c, event_id="20000000-0000-4000-8000-000000000001")
        else:
            await handlers.on_concern_raised(
                session,
                c,
                new_event(c, source="tas/referral").model_copy(update={"id": "20000000-0000-4000-8000-000000000001"}),
            )
    for n, (model, notification_id, child_id) in enumerate(notifications):
        payload = model(
            notification_id=notification_id,
            child_id=child_id,
            channel="email",
            template="concern_received",
            status="delivered" if model is NotificationDeliveredV1 else "failed",
        )
        event = new_event(payload, source="tas/notify").model_copy(update={"id": f"30000000-0000-4000-8000-{n:012d}"})
        async with database.transaction() as session:
            if implementation == "reference":
                failed = model is NotificationFailedV1
                kind = "notification_failed" if failed else "notification_delivered"
                summary = f"Family notification (concern_received) by email {'failed' if failed else 'delivered'}"
                await reference_notification(
                    session,
                    kind=kind,
                    summary=summary,
                    notification_id=notification_id,
                    child_id=child_id,
                    event_id=event.id,
                )
            else:
                handler = (
                    handlers.on_notification_failed
                    if model is NotificationFailedV1
                    else handlers.on_notification_delivered
                )
                await handler(session, payload, event)


# --- comparing two databases up to generated ids and timestamps ----------------------------------------------

UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00-[0-9a-f]{32}-[0-9a-f]{16}-01"
)
GENERATED = {"at", "changed_at", "created_at", "updated_at", "time", "merged_at", "hash", "prev_hash", "seq"}


class Normaliser:
    """Replaces each generated uuid by its order of first appearance, so two runs compare equal when they made
    the same things in the same places."""

    def __init__(self, fixed: set[str]) -> None:
        self.names: dict[str, str] = {}
        self.fixed = fixed

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<generated>" if k in GENERATED else self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, str):
            return UUID.sub(
                lambda m: (
                    m.group(0)
                    if m.group(0) in self.fixed
                    else self.names.setdefault(m.group(0), f"<id{len(self.names)}>")
                ),
                value,
            )
        return value


async def snapshot(database: Database) -> dict[str, Any]:
    async with database.reader() as session:

        async def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in (await session.execute(text(sql))).all()]

        events = [
            json.loads(r.payload) | {"headers": json.loads(r.headers)}
            for r in (await session.execute(select(outbox.c.payload, outbox.c.headers).order_by(outbox.c.seq))).all()
        ]
        audits = [dict(r._mapping) for r in (await session.execute(select(audit_log).order_by(audit_log.c.seq))).all()]
        data = {
            "child": await rows("SELECT * FROM child ORDER BY upn"),
            "family_member": await rows(
                "SELECT f.* FROM family_member f JOIN child c ON c.id = f.child_id "
                "ORDER BY c.upn, f.name, f.relationship, f.email, f.mobile"
            ),
            "plan": await rows("SELECT p.* FROM plan p JOIN child c ON c.id = p.child_id ORDER BY c.upn"),
            "restriction": await rows(
                "SELECT r.* FROM family_contact_restriction r JOIN child c ON c.id = r.child_id ORDER BY c.upn"
            ),
            "chronology": await rows(
                "SELECT e.* FROM chronology_entry e JOIN child c ON c.id = e.child_id ORDER BY c.upn, e.kind, e.ref_id"
            ),
            "audit": audits,
            "events": events,
        }
        verified = await audit.verify_chain(session)
    assert verified == []
    fixed = {c.concern_id for c in scenario()} | {"00000000-0000-4000-8000-000000000007"}
    fixed |= {f"{p}0000000-0000-4000-8000-{n:012d}" for p in "123" for n in range(8)}
    # children first, in UPN order, so that the ids are named in the same order in both databases
    normalise = Normaliser(fixed | {str(uuid.UUID(int=1))})
    normalise([c["id"] for c in data["child"]])
    return {k: normalise(v) for k, v in data.items()}


async def test_core_register_concern_and_notifications_match_the_orm_reference(tmp_path: Path) -> None:
    snapshots = {}
    for implementation in ("reference", "candidate"):
        url = fresh_database_url(implementation, tmp_path)
        await migrate("caseload", url)
        database = Database(url)
        try:
            await run(database, implementation)
            ids = await merge_first_into_duplicate(database)
            await after_merge(database, implementation, ids)
            snapshots[implementation] = await snapshot(database)
        finally:
            await database.dispose()
    reference, candidate = snapshots["reference"], snapshots["candidate"]
    # the scenario exercises what it claims to
    assert len(reference["child"]) == 4 and sum(c["safeguarding"] for c in reference["child"]) == 2
    assert [e["data"]["match"] for e in reference["events"] if e["type"].endswith("concern_linked.v1")] == [
        "created",
        "upn",
        "nhs_number",
        "created",
        "created",
        "created",
        "upn",
    ]
    assert sum(1 for c in reference["child"] if c["possible_duplicate_of"]) == 1
    assert len(reference["family_member"]) == 6
    assert sum(1 for e in reference["chronology"] if e["kind"].startswith("notification_")) == 2
    traced = [e for e in reference["events"] if e["headers"]]
    assert len(traced) == 19 and all(e["headers"]["traceparent"] == e["traceparent"] for e in traced)
    assert sum(1 for r in reference["restriction"] if r["restricted"]) == 2
    for table in ("child", "family_member", "plan", "restriction", "chronology", "audit", "events"):
        assert candidate[table] == reference[table], table
