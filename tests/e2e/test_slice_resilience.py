"""The slice under retries, outages and bad input."""

from __future__ import annotations

import pytest

from tas_dev.testing import concern_body

from ..conftest import eventually


async def _child(system, upn, headers):
    r = await system.caseload.get("/v1/children", params={"upn": upn}, headers=headers)
    return r.json()["items"] if r.status_code == 200 and r.json()["items"] else None


async def _delivered(system, child_id, headers):
    r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=headers)
    items = r.json().get("items", []) if r.status_code == 200 else []
    return items if items and all(n["status"] == "delivered" for n in items) else None


async def test_same_concern_posted_twice_with_one_idempotency_key_has_one_effect_everywhere(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(11)
    key = {"Idempotency-Key": "mis-retry-0001"}
    first = await system.referral.post("/v1/concerns", json=body, headers={**senco, **key})
    second = await system.referral.post("/v1/concerns", json=body, headers={**senco, **key})
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == second.json()["id"]

    children = await eventually(lambda: _child(system, body["child"]["upn"], senco), what="the child")
    assert len(children) == 1
    notes = await eventually(lambda: _delivered(system, children[0]["id"], senco), what="the notification")
    await system.settled()  # a duplicate would have shown up by now
    assert (
        len(
            (
                await system.notify.get("/v1/notifications", params={"child_id": children[0]["id"]}, headers=senco)
            ).json()["items"]
        )
        == len(notes)
        == 1
    )
    assert len(system.smtp.messages) == 1
    other = await system.referral.post("/v1/concerns", json={**body, "summary": "different"}, headers={**senco, **key})
    assert other.status_code == 422 and other.json()["type"] == "urn:tas:problem:validation-error"


async def test_a_second_concern_for_the_same_pupil_matches_the_child(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(12)
    for _ in range(2):
        assert (await system.referral.post("/v1/concerns", json=body, headers=senco)).status_code == 201

    async def two_concerns_on_one_child():
        # The chronology also gains a `notification_delivered` entry per family message, at a time of its own:
        # count the fact this test is about, the two concerns, not every entry.
        children = await _child(system, body["child"]["upn"], senco)
        if not children:
            return None
        r = await system.caseload.get(f"/v1/children/{children[0]['id']}/chronology", headers=senco)
        concerns = [e for e in r.json()["items"] if e["kind"] == "concern_raised"]
        return children if len(concerns) == 2 else None

    assert len(await eventually(two_concerns_on_one_child, what="two concerns on one child")) == 1


@pytest.mark.own_nats
async def test_concern_posted_while_nats_is_down_arrives_after_restart(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    system.nats.stop()
    body = concern_body(13)
    response = await system.referral.post("/v1/concerns", json=body, headers=senco)
    assert response.status_code == 201  # stored with its outbox row; nothing published yet
    ready = await system.referral.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["nats"] is False
    assert await _child(system, body["child"]["upn"], senco) is None
    system.nats.start()
    children = await eventually(
        lambda: _child(system, body["child"]["upn"], senco), timeout=20, what="the event to arrive after NATS restarts"
    )
    await eventually(lambda: _delivered(system, children[0]["id"], senco), timeout=20, what="the notification")
    assert (await system.referral.get("/readyz")).status_code == 200


async def test_request_without_a_valid_token_gets_401_problem(system, token):
    body = concern_body(14)
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await system.referral.post("/v1/concerns", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
    for client, path in (
        (system.caseload, "/v1/children?upn=A999123419000"),
        (system.notify, "/v1/notifications?child_id=x"),
    ):
        assert (await client.get(path)).status_code == 401


async def test_malformed_concern_gets_422_naming_every_bad_field_and_stores_nothing(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(15)
    body["child"]["upn"] = "A123"  # malformed
    body["child"]["nhs_number"] = "9434765918"  # wrong check digit
    body["family_contacts"][0]["mobile"] = "01632 960000"  # a landline
    body["surprise"] = "unknown field"  # rejected, never dropped
    response = await system.referral.post("/v1/concerns", json=body, headers=senco)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.child.upn", "body.child.nhs_number", "body.family_contacts.0.mobile", "body"} <= fields
    assert "surprise" not in response.text  # the object that got it is named, not the caller's own key
    assert "A123" not in response.text  # submitted values are not echoed back


async def test_school_staff_cannot_raise_a_concern_for_another_school(system, token):
    other = token("senco", "school", school_urns=["100001"])
    response = await system.referral.post("/v1/concerns", json=concern_body(16), headers=other)
    assert response.status_code == 403
    health = token("slt", "health", org_id="nhs-trust-1")
    assert (await system.referral.post("/v1/concerns", json=concern_body(16), headers=health)).status_code == 403


async def test_other_schools_staff_cannot_see_the_child_or_its_notifications(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(17)
    await system.referral.post("/v1/concerns", json=body, headers=senco)
    child_id = (await eventually(lambda: _child(system, body["child"]["upn"], senco), what="the child"))[0]["id"]
    stranger = token("senco", "school", school_urns=["100001"])
    assert (await system.caseload.get(f"/v1/children/{child_id}", headers=stranger)).status_code == 404
    assert (await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=stranger)).json()[
        "items"
    ] == []
    assert (
        await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=stranger)
    ).status_code == 404
    parent_elsewhere = token("parent", "family", child_ids=["some-other-child"])
    assert (await system.caseload.get(f"/v1/children/{child_id}", headers=parent_elsewhere)).status_code == 404
