"""`concern_intake.register_concern` (and the notification/referral fact handlers) run on SQLAlchemy Core statements
built once. Proof that they do what the ORM version did: the same sequence of concerns, handled by the ORM
version kept below as the reference and by the service's handlers, on two fresh databases, leaves the same rows
(children, family, plan, chronology, audit) and the same outbox events, up to generated ids and timestamps."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from caseload.domain.models import Child
from caseload.events import handlers
from tas_common.db import Database
from tas_common.events import new_event
from tas_common.events.schemas import (
    ChildIdentity,
    ConcernRaisedV1,
    FamilyContactV1,
    NotificationDeliveredV1,
    NotificationFailedV1,
)
from tas_common.tracing import span

from ..conftest import fresh_database_url, migrate
from .register_compare import snapshot
from .register_reference import reference_notification, reference_register_concern


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
                await register(session, implementation, n, c)


async def register(session: Any, implementation: str, n: int, c: ConcernRaisedV1) -> None:
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


def fixed_ids() -> set[str]:
    """The ids the scenario gives (concerns, events): kept as they are when two databases are compared."""
    fixed = {c.concern_id for c in scenario()} | {"00000000-0000-4000-8000-000000000007"}
    return fixed | {f"{p}0000000-0000-4000-8000-{n:012d}" for p in "123" for n in range(8)}


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
            snapshots[implementation] = await snapshot(database, fixed_ids())
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


async def test_the_scenario_in_one_unit_of_work_matches_the_orm_reference(tmp_path: Path) -> None:
    """As a fetched batch runs it: every concern in ONE transaction, so a later concern must see what an earlier one
    changed, whether through a driver statement or an ORM object still pending (the ORM reference autoflushes
    before each query; the driver statements flush what is pending first)."""
    from tas_dev.testing import fictional_nhs_number, fictional_upn

    # and once more the first child, safeguarding again: already restricted (by concern 2, through the ORM)
    again = concern(8, identity(fictional_upn(1), fictional_nhs_number(7)), [], safeguarding=True)
    snapshots = {}
    for implementation in ("reference", "candidate"):
        url = fresh_database_url(f"{implementation}-one-unit", tmp_path)
        await migrate("caseload", url)
        database = Database(url)
        try:
            with span(None):
                async with database.transaction() as session:
                    for n, c in enumerate([*scenario(), again]):
                        await register(session, implementation, n, c)
            snapshots[implementation] = await snapshot(database, fixed_ids())
        finally:
            await database.dispose()
    reference, candidate = snapshots["reference"], snapshots["candidate"]
    assert sum(1 for r in reference["restriction"] if r["restricted"]) == 2
    for table in ("child", "family_member", "plan", "restriction", "chronology", "audit", "events"):
        assert candidate[table] == reference[table], table
