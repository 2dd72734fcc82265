"""Concerns raised by school staff: every field, the schools register, and bad input named field by field."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from referral.domain.models import Concern, School
from tas_common import audit
from tas_common.identifiers import year_group_of
from tas_common.tables import audit_log, outbox
from tas_dev.testing import bearer, concern_body, fictional_upn

from ..conftest import ON_POSTGRES
from .conftest import new_concern, stream_events

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {e["field"] for e in response.json()["errors"]}


async def test_a_full_concern_is_stored_with_the_register_la_and_raised_with_it(referral_only):
    senco = referral_only.headers("senco")
    body = concern_body(
        101,
        urgency="priority",
        consent_status="given",
        areas_of_need=["communication_and_interaction", "social_emotional_mental_health"],
        graduated_response=[
            {
                "action": "Talk Boost group, 3 x 20 min a week",
                "started": "2026-01-05",
                "ended": "2026-03-27",
                "outcome": "Some progress with vocabulary",
            }
        ],
    )
    expected = body["child"]["year_group"]
    body["child"]["year_group"] = expected.lower()
    response = await referral_only.client.post("/v1/concerns", json=body, headers=senco)
    assert response.status_code == 201, response.text
    concern = response.json()
    assert concern["la_code"] == "999" and concern["school_name"] == "Meadowbank Primary School"
    assert concern["child"]["year_group"] == expected
    assert concern["graduated_response"][0]["outcome"] == "Some progress with vocabulary"
    assert concern["family_contacts"][0]["mobile"] == "+447700900101"
    assert concern["routed_to"] == [] and concern["front_door_referral_id"] is None
    read = await referral_only.client.get(f"/v1/concerns/{concern['id']}", headers=senco)
    assert read.json()["areas_of_need"] == body["areas_of_need"]

    events = [
        e
        for e in await stream_events(referral_only.nats_url, "tas.referral.concern.raised", expect=1)
        if e["data"]["concern_id"] == concern["id"]
    ]
    assert len(events) == 1
    assert events[0]["data"]["la_code"] == "999"
    assert events[0]["data"]["child"]["upn"] == body["child"]["upn"]


async def test_every_invalid_field_is_named(referral_only):
    body = concern_body(102, urgency="whenever", areas_of_need=["maths"], consent_status="maybe")
    body["child"].update(upn="A12345678901B", nhs_number="9434765918", year_group="Year 4", date_of_birth="2030-01-01")
    body["family_contacts"][0].update(mobile="01632 960000", email="not-an-email")
    response = await referral_only.client.post("/v1/concerns", json=body, headers=referral_only.headers("senco"))
    fields = _fields(response)
    assert {
        "body.urgency",
        "body.areas_of_need.0",
        "body.consent_status",
        "body.child.upn",
        "body.child.nhs_number",
        "body.child.year_group",
        "body.child.date_of_birth",
        "body.family_contacts.0.mobile",
        "body.family_contacts.0.email",
    } <= fields
    assert body["child"]["upn"] not in response.text  # never echoes the submitted values


async def test_a_year_group_that_does_not_fit_the_date_of_birth_is_422(referral_only):
    senco = referral_only.headers("senco")
    today = date.today()
    born = date(today.year - 10, 1, 15)  # in Y5 or Y6 by age, whatever the day of the year
    by_age = year_group_of(born, today)
    assert by_age in ("Y5", "Y6")
    for given, status in (("R", 422), ("Y2", 422), ("Y10", 422), (by_age, 201)):
        body = concern_body(107)
        body["child"].update(date_of_birth=born.isoformat(), year_group=given)
        response = await referral_only.client.post("/v1/concerns", json=body, headers=senco)
        assert response.status_code == status, (given, response.text)
        if status == 422:
            assert _fields(response) == {"body.child.year_group"}
            assert f"by age the child is in {by_age}" in response.text
    one_below = f"Y{int(by_age[1:]) - 1}"  # taught a year below their age group: accepted
    body = concern_body(108)
    body["child"].update(date_of_birth=born.isoformat(), year_group=one_below)
    assert (await referral_only.client.post("/v1/concerns", json=body, headers=senco)).status_code == 201


@pytest.mark.parametrize("upn", ["A12345678901", "I999123419001", "b999123419001", "99912341900A1"])
async def test_malformed_upn(referral_only, upn):
    body = concern_body(103)
    body["child"]["upn"] = upn
    response = await referral_only.client.post("/v1/concerns", json=body, headers=referral_only.headers("senco"))
    assert _fields(response) == {"body.child.upn"}


async def test_a_valid_upn_with_the_wrong_check_letter_is_refused(referral_only):
    good = fictional_upn(104)
    wrong = ("B" if good[0] != "B" else "C") + good[1:]
    body = concern_body(104)
    body["child"]["upn"] = wrong
    response = await referral_only.client.post("/v1/concerns", json=body, headers=referral_only.headers("senco"))
    assert _fields(response) == {"body.child.upn"}


async def test_unknown_school_is_422_naming_school_urn(referral_only):
    headers = bearer(
        referral_only.issuer,
        roles=["senco"],
        org_type="school",
        sub="s",
        org_id="school-777777",
        school_urns=["777777"],
    )
    response = await referral_only.client.post(
        "/v1/concerns", json=concern_body(105, school_urn="777777"), headers=headers
    )
    assert _fields(response) == {"body.school_urn"}
    assert response.json()["type"] == "urn:tas:problem:validation-error"


async def test_a_concern_raised_after_the_register_changed_carries_the_new_entry(referral_only):
    """On PostgreSQL referral remembers a school's entry and writes a concern in one statement that checks the
    register still says the same: after the register changes, the next concern (and its event) carries the new
    entry, and is stored once."""
    senco, db = referral_only.headers("senco"), referral_only.app.state.runtime.db
    first = await referral_only.client.post("/v1/concerns", json=concern_body(160), headers=senco)
    assert first.status_code == 201 and first.json()["school_name"] == "Meadowbank Primary School"
    renamed = {"name": "Meadowbank Primary Academy", "phone": "0113 496 0999"}
    async with db.transaction() as session:
        before = (await session.execute(select(School.name, School.phone).where(School.urn == "100000"))).one()
        await session.execute(update(School).where(School.urn == "100000").values(**renamed))
    try:
        second = await referral_only.client.post("/v1/concerns", json=concern_body(161), headers=senco)
        assert second.status_code == 201, second.text
        assert second.json()["school_name"] == renamed["name"]
        async with db.reader() as session:
            stored = (await session.execute(select(Concern.id).where(Concern.id == second.json()["id"]))).all()
            payloads = (await session.execute(select(outbox.c.payload))).scalars()
            raised = [
                e["data"] for e in map(json.loads, payloads) if e["data"].get("concern_id") == second.json()["id"]
            ]
            assert len(stored) == 1 and len(raised) == 1
            assert (raised[0]["school_name"], raised[0]["school_phone"]) == (renamed["name"], renamed["phone"])
            assert await audit.verify_chain(session) == []
    finally:
        async with db.transaction() as session:
            await session.execute(update(School).where(School.urn == "100000").values(name=before[0], phone=before[1]))


@pytest.mark.skipif(not ON_POSTGRES, reason="the register memo and the one-statement write are PostgreSQL's")
async def test_a_school_s_next_concern_is_one_statement_without_reading_the_register(referral_only):
    senco, engine = referral_only.headers("senco"), referral_only.app.state.runtime.db.engine.sync_engine
    assert (await referral_only.client.post("/v1/concerns", json=concern_body(162), headers=senco)).status_code == 201
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if "outbox.seq" not in statement:  # the relay's rounds run beside the request
            statements.append(" ".join(statement.split())[:40])

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        response = await referral_only.client.post("/v1/concerns", json=concern_body(163), headers=senco)
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 201
    assert statements == ["WITH new_concern AS (INSERT INTO concern"], statements


async def test_a_school_outside_the_token_is_403(referral_only):
    response = await referral_only.client.post(
        "/v1/concerns", json=concern_body(106, school_urn="100001"), headers=referral_only.headers("senco")
    )
    assert response.status_code == 403


async def test_unknown_fields_are_rejected_not_dropped(referral_only):
    body = concern_body(107, favourite_colour="blue")
    body["child"]["shoe_size"] = 3
    fields = _fields(await referral_only.client.post("/v1/concerns", json=body, headers=referral_only.headers("senco")))
    assert fields == {"body", "body.child"}  # where the unknown fields were; their names are not echoed


async def test_a_lawful_basis_is_for_sharing_without_consent_and_comes_from_the_vocabulary(referral_only):
    senco = referral_only.headers("senco")
    both = await referral_only.client.post(
        "/v1/concerns", json=concern_body(108, lawful_basis="safeguarding"), headers=senco
    )
    assert both.status_code == 422
    free_text = await referral_only.client.post(
        "/v1/concerns", json=concern_body(108, consent_status="refused", lawful_basis="because"), headers=senco
    )
    assert _fields(free_text) == {"body.lawful_basis"}
    concern = await new_concern(
        referral_only.client, senco, 108, consent_status="refused", lawful_basis="legal_obligation"
    )
    assert concern["consent_status"] == "refused" and concern["lawful_basis"] == "legal_obligation"


async def test_wrong_content_type_is_415(referral_only):
    response = await referral_only.client.post(
        "/v1/concerns",
        content=json.dumps(concern_body(109)),
        headers={**referral_only.headers("senco"), "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["type"] == "urn:tas:problem:unsupported-media-type"


async def test_a_body_over_the_limit_is_413(referral_only):
    body = concern_body(110, summary="x" * 1_100_000)
    response = await referral_only.client.post("/v1/concerns", json=body, headers=referral_only.headers("senco"))
    assert response.status_code == 413
    assert response.json()["type"] == "urn:tas:problem:payload-too-large"


async def test_idempotency_key_creates_one_concern(referral_only):
    senco = {**referral_only.headers("senco"), "Idempotency-Key": "concern-111"}
    first = await referral_only.client.post("/v1/concerns", json=concern_body(111), headers=senco)
    again = await referral_only.client.post("/v1/concerns", json=concern_body(111), headers=senco)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await referral_only.client.post("/v1/concerns", json=concern_body(112), headers=senco)
    assert other.status_code == 422


_SHAPES = {
    "no contacts, no NHS number": lambda b: (
        b.update(family_contacts=[], consent_status="not_sought"),
        b["child"].update(nhs_number=None, year_group=None),
    ),
    "two contacts, lawful basis": lambda b: b.update(
        consent_status="refused",
        lawful_basis="public_task",
        family_contacts=[
            *b["family_contacts"],
            {
                "name": "Sam Carer",
                "relationship": "carer",
                "parental_responsibility": False,
                "mobile": "07700 900123",
                "preferred_channel": "sms",
                "language": "cy",
            },
        ],
    ),
    "graduated response, repeated areas": lambda b: b.update(
        areas_of_need=["sensory_and_physical", "cognition_and_learning", "sensory_and_physical"],
        already_tried=None,
        urgency="priority",
        graduated_response=[
            {"action": "Pre-teaching key vocabulary", "started": "2026-01-05"},
            {
                "action": "Fine-motor group",
                "started": "2026-02-02",
                "ended": "2026-03-27",
                "outcome": "Handwriting more legible",
            },
        ],
    ),
    "safeguarding": lambda b: b.update(safeguarding=True, consent_status="not_sought"),
}


@pytest.mark.parametrize("shape", list(_SHAPES))
async def test_the_201_answers_exactly_what_a_later_read_of_the_concern_does(referral_only, shape):
    """The creating POST builds its answer from the rows it wrote (no read-back): it must equal the stored record."""
    dsl = referral_only.headers("dsl")
    body = concern_body(180 + list(_SHAPES).index(shape))
    _SHAPES[shape](body)
    created = await referral_only.client.post("/v1/concerns", json=body, headers=dsl)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == "application/json"
    read = await referral_only.client.get(f"/v1/concerns/{created.json()['id']}", headers=dsl)
    assert read.status_code == 200
    assert created.json() == read.json()


async def test_a_replayed_concern_answers_the_first_response(referral_only):
    senco = {**referral_only.headers("senco"), "Idempotency-Key": "concern-190"}
    first = await referral_only.client.post("/v1/concerns", json=concern_body(190), headers=senco)
    again = await referral_only.client.post("/v1/concerns", json=concern_body(190), headers=senco)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


async def test_concerns_raised_side_by_side_are_each_stored_audited_and_raised_in_one_unbroken_chain(referral_only):
    """On PostgreSQL a concern without an Idempotency-Key is written in one statement, outside BEGIN … COMMIT
    (Once.run's `one_statement`), the audit row linked by the database under the chain's lock; with a key, or a
    safeguarding concern, in a transaction. Side by side, every one is stored with its audit row and its event, and
    the chain verifies."""
    dsl = referral_only.headers("dsl")
    bodies = [concern_body(300 + n) for n in range(12)]
    for n in (2, 7):
        bodies[n].update(safeguarding=True, consent_status="not_sought")
    keyed = {1, 5, 7}
    responses = await asyncio.gather(
        *(
            referral_only.client.post(
                "/v1/concerns", json=body, headers={**dsl, "Idempotency-Key": f"side-{n}"} if n in keyed else dsl
            )
            for n, body in enumerate(bodies)
        )
    )
    assert [r.status_code for r in responses] == [201] * 12, [r.text for r in responses]
    ids = {r.json()["id"] for r in responses}
    async with referral_only.app.state.runtime.db.reader() as session:
        audited = set(
            (
                await session.execute(
                    select(audit_log.c.resource_id).where(
                        audit_log.c.action == "create", audit_log.c.resource_type == "concern"
                    )
                )
            ).scalars()
        )
        payloads = await session.execute(select(outbox.c.payload).where(outbox.c.event_type.like("%concern.raised%")))
        raised = [json.loads(p)["data"]["concern_id"] for p in payloads.scalars()]
        assert ids <= audited
        assert sorted(i for i in raised if i in ids) == sorted(ids)
        assert await audit.verify_chain(session) == []


async def test_teachers_do_not_see_the_dsl_s_safeguarding_concerns(referral_only):
    dsl, teacher = referral_only.headers("dsl"), referral_only.headers("teacher")
    concern = await new_concern(referral_only.client, dsl, 113, safeguarding=True)
    assert (await referral_only.client.get(f"/v1/concerns/{concern['id']}", headers=teacher)).status_code == 404
    listed = (await referral_only.client.get("/v1/concerns", params={"safeguarding": "true"}, headers=teacher)).json()[
        "items"
    ]
    assert concern["id"] not in {c["id"] for c in listed}
    queue = (await referral_only.client.get("/v1/concerns", params={"limit": 200}, headers=dsl)).json()["items"]
    assert queue[0]["safeguarding"] is True  # the DSL's queue: safeguarding first
    assert concern["id"] in {c["id"] for c in queue}


async def test_concern_list_pages_with_a_cursor(referral_only):
    senco = referral_only.headers("senco")
    for serial in (114, 115, 116):
        await new_concern(referral_only.client, senco, serial)
    first = (await referral_only.client.get("/v1/concerns", params={"limit": 2}, headers=senco)).json()
    second = (
        await referral_only.client.get(
            "/v1/concerns", params={"limit": 2, "cursor": first["next_cursor"]}, headers=senco
        )
    ).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    bad = await referral_only.client.get("/v1/concerns", params={"cursor": "nonsense"}, headers=senco)
    assert _fields(bad) == {"query.cursor"}
