"""The referral workflow: submitted → accepted | declined | redirected | withdrawn; accepted → completed.
Illegal moves are 409; consent gates sharing beyond the school; each move is an event on the stream."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from tas_common.tables import idempotency_key

from ..conftest import eventually
from .conftest import EP, SALT, new_concern, new_referral, stream_events

pytestmark = pytest.mark.asyncio(loop_scope="module")
SERIALS = itertools.count(460)


async def _events_for(env, referral_id: str, expect: int) -> list[dict]:
    """The referral's events on the stream, in order, once there are at least `expect`."""

    async def enough():
        found = [
            e
            for e in await stream_events(env.nats_url, "tas.referral.referral.>", expect=0, timeout=0)
            if e["subject"] == referral_id
        ]
        return found if len(found) >= expect else None

    return await eventually(enough, what=f"{expect} events of referral {referral_id}")


async def test_refer_to_two_services_accept_contact_complete(referral_only):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    concern = await new_concern(c, senco, 401, urgency="priority")
    response = await c.post(
        "/v1/referrals",
        json={"concern_id": concern["id"], "service_ids": [SALT, EP], "note": "Please assess expressive language"},
        headers=senco,
    )
    assert response.status_code == 201, response.text
    salt_ref, ep_ref = response.json()["items"]
    assert (salt_ref["service_id"], ep_ref["service_id"]) == (SALT, EP)
    assert salt_ref["status"] == "submitted" and salt_ref["urgency"] == "priority"
    assert salt_ref["concern"]["summary"] == concern["summary"]  # what the receiving service is told

    accepted = await c.post(f"/v1/referrals/{salt_ref['id']}/accept", headers=salt)
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted" and accepted.json()["decided_by_name"] == "Sam Therapist"
    assert accepted.json()["days_to_decision"] is not None and accepted.json()["days_to_first_contact"] is None
    contact = await c.post(f"/v1/referrals/{salt_ref['id']}/first-contact", json={}, headers=salt)
    assert contact.status_code == 200 and contact.json()["first_contact_at"]
    again = await c.post(f"/v1/referrals/{salt_ref['id']}/first-contact", json={}, headers=salt)
    assert again.status_code == 409
    done = await c.post(f"/v1/referrals/{salt_ref['id']}/complete", json={"outcome": "Targets met"}, headers=salt)
    assert done.json()["status"] == "completed" and done.json()["outcome"] == "Targets met"

    events = await _events_for(referral_only, salt_ref["id"], 4)
    types = [e["type"] for e in events]
    assert types == [
        "tas.referral.referral.submitted.v1",
        "tas.referral.referral.accepted.v1",
        "tas.referral.referral.first_contact_recorded.v1",
        "tas.referral.referral.completed.v1",
    ]
    assert events[2]["data"]["first_contact_at"][:19] == contact.json()["first_contact_at"][:19]
    submitted, accepted_event = events[0]["data"], events[1]["data"]
    assert submitted["service_contact_email"] == "salt.referrals@example.org"
    assert (submitted["la_code"], submitted["target_wait_days"]) == ("999", 126)
    assert submitted["service_org_id"] == "nhs-trust-1" and submitted["service_org_type"] == "health"
    assert accepted_event["practitioner_sub"] == "slt-1"
    assert accepted_event["practitioner_name"] == "Sam Therapist"
    assert (
        accepted_event["practitioner_org_id"],
        accepted_event["practitioner_org_type"],
        accepted_event["practitioner_role"],
    ) == ("nhs-trust-1", "health", "slt")
    assert accepted_event["concern_id"] == concern["id"] and accepted_event["safeguarding"] is False


async def test_decline_needs_a_reason_which_the_referrer_sees(referral_only):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    referral = await new_referral(c, senco, 402)
    missing = await c.post(f"/v1/referrals/{referral['id']}/decline", json={}, headers=salt)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.reason"
    blank = await c.post(f"/v1/referrals/{referral['id']}/decline", json={"reason": "  "}, headers=salt)
    assert blank.status_code == 422
    declined = await c.post(
        f"/v1/referrals/{referral['id']}/decline",
        json={"reason": "Speech is age-appropriate; try the language group"},
        headers=salt,
    )
    assert declined.status_code == 200
    seen = (await c.get(f"/v1/referrals/{referral['id']}", headers=senco)).json()
    assert seen["status"] == "declined"
    assert seen["decision_reason"] == "Speech is age-appropriate; try the language group"
    events = await _events_for(referral_only, referral["id"], 2)
    assert events[1]["type"] == "tas.referral.referral.declined.v1"
    assert events[1]["data"]["reason"] == "Speech is age-appropriate; try the language group"


async def test_redirect_creates_a_linked_submitted_referral(referral_only):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    referral = await new_referral(c, senco, 403)
    response = await c.post(
        f"/v1/referrals/{referral['id']}/redirect",
        json={"to_service_id": "999-occupational-therapy", "reason": "Fine motor needs"},
        headers=salt,
    )
    assert response.status_code == 200, response.text
    old, new = response.json()["items"]
    assert old["status"] == "redirected" and old["redirected_to_id"] == new["id"]
    assert new["status"] == "submitted" and new["redirected_from_id"] == old["id"]
    assert new["service_id"] == "999-occupational-therapy" and new["referred_by_sub"] == "senco-1"
    events = await _events_for(referral_only, old["id"], 2)
    assert events[1]["type"] == "tas.referral.referral.redirected.v1"
    assert events[1]["data"]["new_referral_id"] == new["id"]
    assert events[1]["data"]["to_service_id"] == "999-occupational-therapy"
    new_events = await _events_for(referral_only, new["id"], 1)
    assert new_events[0]["data"]["service_contact_email"] == "ot.children@example.org"
    # the school withdraws the new one
    withdrawn = await c.post(f"/v1/referrals/{new['id']}/withdraw", json={"reason": "Family moved"}, headers=senco)
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await _events_for(referral_only, new["id"], 2))[1]["data"]["reason"] == "Family moved"


async def test_a_retried_redirect_answers_the_first_response_from_the_key_stored_under_its_path(referral_only):
    """The key is stored under the request's method and path with its values (tas_common.deps.get_once), the string
    the routes once wrote by hand, so keys stored before still replay; a redirect answers the 200 it declares."""
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    referral = await new_referral(c, senco, next(SERIALS))
    path, headers = (
        f"/v1/referrals/{referral['id']}/redirect",
        {**salt, "Idempotency-Key": f"redirect-{referral['id']}"},
    )
    body = {"to_service_id": EP, "reason": "The school's psychologist first"}
    first = await c.post(path, json=body, headers=headers)
    again = await c.post(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = await c.post(path, json={**body, "reason": "Another reason"}, headers=headers)
    assert other.status_code == 422
    async with referral_only.app.state.runtime.db.reader() as session:
        stored = await session.execute(
            select(idempotency_key.c.route).where(idempotency_key.c.key == headers["Idempotency-Key"])
        )
    assert stored.scalars().all() == [f"POST /v1/referrals/{referral['id']}/redirect"]


@pytest.mark.parametrize(
    ("setup", "move", "body"),
    [
        ("declined", "accept", None),
        ("declined", "withdraw", {"reason": "r"}),
        ("accepted", "accept", None),
        ("accepted", "decline", {"reason": "r"}),
        ("submitted", "complete", None),
        ("completed", "withdraw", {"reason": "r"}),
        ("withdrawn", "accept", None),
        ("redirected", "decline", {"reason": "r"}),
        ("accepted", "redirect", {"to_service_id": EP, "reason": "r"}),
    ],
)
async def test_illegal_moves_are_409(referral_only, setup, move, body):
    c, senco, salt = referral_only.client, referral_only.headers("senco"), referral_only.headers("salt")
    referral = await new_referral(c, senco, next(SERIALS))
    path = f"/v1/referrals/{referral['id']}"
    steps = {
        "declined": [("decline", {"reason": "r"}, salt)],
        "accepted": [("accept", None, salt)],
        "completed": [("accept", None, salt), ("complete", None, salt)],
        "withdrawn": [("withdraw", {"reason": "r"}, senco)],
        "redirected": [("redirect", {"to_service_id": EP, "reason": "r"}, salt)],
        "submitted": [],
    }[setup]
    for verb, payload, who in steps:
        assert (await c.post(f"{path}/{verb}", json=payload, headers=who)).status_code == 200
    who = senco if move == "withdraw" else salt
    response = await c.post(f"{path}/{move}", json=body, headers=who)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:tas:problem:illegal-transition"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_referral_outside_the_school_needs_consent_or_a_lawful_basis(referral_only):
    c, senco = referral_only.client, referral_only.headers("senco")
    for serial, consent in ((420, "not_sought"), (421, "refused")):
        concern = await new_concern(c, senco, serial, consent_status=consent)
        response = await c.post(
            "/v1/referrals", json={"concern_id": concern["id"], "service_ids": [SALT]}, headers=senco
        )
        assert response.status_code == 409
        assert response.json()["type"] == "urn:tas:problem:consent-required"
        assert response.json()["service_id"] == SALT
    concern = await new_concern(c, senco, 422, consent_status="refused", lawful_basis="safeguarding")
    ok = await c.post("/v1/referrals", json={"concern_id": concern["id"], "service_ids": [SALT]}, headers=senco)
    assert ok.status_code == 201
    assert ok.json()["items"][0]["lawful_basis"] == "safeguarding"
    listed = (await c.get("/v1/referrals", params={"concern_id": concern["id"]}, headers=senco)).json()["items"]
    assert len(listed) == 1  # the refused ones stored nothing


async def test_consent_recorded_later_opens_the_gate(referral_only):
    c, senco = referral_only.client, referral_only.headers("senco")
    concern = await new_concern(c, senco, 425, consent_status="not_sought")
    refer = {"concern_id": concern["id"], "service_ids": [SALT]}
    assert (await c.post("/v1/referrals", json=refer, headers=senco)).status_code == 409
    bad = await c.put(
        f"/v1/concerns/{concern['id']}/consent",
        json={"consent_status": "given", "lawful_basis": "public_task"},
        headers=senco,
    )
    assert bad.status_code == 422
    recorded = await c.put(f"/v1/concerns/{concern['id']}/consent", json={"consent_status": "given"}, headers=senco)
    assert recorded.status_code == 200 and recorded.json()["consent_status"] == "given"
    created = await c.post("/v1/referrals", json=refer, headers=senco)
    assert created.status_code == 201 and created.json()["items"][0]["consent_status"] == "given"
    other = await c.put(
        f"/v1/concerns/{concern['id']}/consent",
        json={"consent_status": "refused"},
        headers=referral_only.headers("other_school_senco"),
    )
    assert other.status_code == 404
    wrong_role = await c.put(
        f"/v1/concerns/{concern['id']}/consent",
        json={"consent_status": "refused"},
        headers=referral_only.headers("salt"),
    )
    assert wrong_role.status_code == 403


async def test_bad_referral_requests(referral_only):
    c, senco = referral_only.client, referral_only.headers("senco")
    concern = await new_concern(c, senco, 430)
    for body, field in (
        ({"concern_id": concern["id"], "service_ids": ["no-such-service"]}, "body.service_ids.0"),
        ({"concern_id": concern["id"], "service_ids": []}, "body.service_ids"),
        ({"concern_id": concern["id"], "service_ids": [SALT, SALT]}, "body.service_ids"),
        ({"concern_id": concern["id"], "service_ids": [SALT], "priority": 1}, "body"),
    ):
        response = await c.post("/v1/referrals", json=body, headers=senco)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (
        await c.post("/v1/referrals", json={"concern_id": "nope", "service_ids": [SALT]}, headers=senco)
    ).status_code == 404
    assert (
        await c.post("/v1/referrals", json={"concern_id": concern["id"], "service_ids": [SALT]}, headers=senco)
    ).status_code == 201
    twice = await c.post("/v1/referrals", json={"concern_id": concern["id"], "service_ids": [SALT]}, headers=senco)
    assert twice.status_code == 409 and twice.json()["type"] == "urn:tas:problem:already-referred"
    redirect_self = await c.post(
        f"/v1/referrals/{(await new_referral(c, senco, 431))['id']}/redirect",
        json={"to_service_id": SALT, "reason": "r"},
        headers=referral_only.headers("salt"),
    )
    assert redirect_self.status_code == 422


async def test_idempotency_key_on_create_referrals(referral_only):
    c, senco = referral_only.client, referral_only.headers("senco")
    concern = await new_concern(c, senco, 440)
    headers = {**senco, "Idempotency-Key": "refer-440"}
    body = {"concern_id": concern["id"], "service_ids": [SALT]}
    first = await c.post("/v1/referrals", json=body, headers=headers)
    again = await c.post("/v1/referrals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = (await c.get("/v1/referrals", params={"concern_id": concern["id"]}, headers=senco)).json()["items"]
    assert len(listed) == 1


async def test_lists_show_each_party_their_own(referral_only):
    c, senco = referral_only.client, referral_only.headers("senco")
    salt_ref = await new_referral(c, senco, 450)
    ep_ref = await new_referral(c, senco, 451, service_id=EP)
    ids = lambda r: {i["id"] for i in r.json()["items"]}  # noqa: E731
    salt_list = await c.get("/v1/referrals", params={"limit": 200}, headers=referral_only.headers("salt"))
    assert salt_ref["id"] in ids(salt_list) and ep_ref["id"] not in ids(salt_list)
    assert {i["service_id"] for i in salt_list.json()["items"]} <= {
        SALT,
        "999-occupational-therapy",
        "999-school-nursing",
        "999-paediatrics",
    }
    other = await c.get("/v1/referrals", headers=referral_only.headers("other_school_senco"))
    assert other.json()["items"] == []
    school = await c.get("/v1/referrals", params={"service_id": EP, "limit": 200}, headers=senco)
    assert ep_ref["id"] in ids(school) and salt_ref["id"] not in ids(school)
    la = await c.get(
        "/v1/referrals", params={"status": "submitted", "limit": 200}, headers=referral_only.headers("la_officer")
    )
    assert {salt_ref["id"], ep_ref["id"]} <= ids(la)
    assert (await c.get("/v1/referrals", headers=referral_only.headers("other_la_officer"))).json()["items"] == []
    bad = await c.get("/v1/referrals", params={"status": "lost"}, headers=senco)
    assert bad.status_code == 422
