"""MIS push: one item or a batch of up to 1,000; re-sending creates nothing twice; bad items are reported one by
one; a school outside the client's scope refuses the whole request."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tas_dev.testing import bearer, concern_body

from .conftest import stream_events

pytestmark = pytest.mark.asyncio(loop_scope="module")


def item(serial: int, record_id: str | None = None, **overrides) -> dict:
    return concern_body(serial, mis_record_id=record_id or f"mis-{serial}", **overrides)


async def _school_concerns(env) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await env.client.get("/v1/concerns", params=params, headers=env.headers("senco"))).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_single_item_created_then_duplicate(referral_only):
    mis = referral_only.headers("mis")
    first = await referral_only.client.post("/v1/mis/concerns", json=item(201), headers=mis)
    assert first.status_code == 201, first.text
    result = first.json()["results"][0]
    assert result["status"] == "created" and result["mis_record_id"] == "mis-201"
    again = await referral_only.client.post("/v1/mis/concerns", json=item(201), headers=mis)
    assert again.status_code == 200
    assert again.json()["results"][0] == {**result, "status": "duplicate"}
    concern = await referral_only.client.get(
        f"/v1/concerns/{result['concern_id']}", headers=referral_only.headers("senco")
    )
    assert concern.json()["source"] == "mis" and concern.json()["mis_record_id"] == "mis-201"


async def test_an_invalid_single_item_is_422_naming_its_fields(referral_only):
    bad = item(202)
    bad["child"]["upn"] = "X1"
    del bad["mis_record_id"]
    response = await referral_only.client.post("/v1/mis/concerns", json=bad, headers=referral_only.headers("mis"))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.child.upn", "body.mis_record_id"}


async def test_batch_accepts_the_good_items_and_reports_each(referral_only):
    bad_upn = item(212)
    bad_upn["child"]["upn"] = "A123"
    batch = [
        item(211),
        bad_upn,
        item(211),  # the same record, unchanged, twice in one batch
        item(214, school_urn="100002"),
        item(215, consent_status="given", lawful_basis="safeguarding"),
    ]
    # a client scoped to 100000, 100002 (both in the register) and 777777 (in scope, but no such school)
    env = bearer(
        referral_only.issuer,
        roles=["mis_client"],
        org_type="mis",
        sub="mis-client-1",
        org_id="mis-vendor-1",
        school_urns=["100000", "100002", "777777"],
    )
    batch.append(item(216, school_urn="777777"))
    before = len(await _school_concerns(referral_only))
    response = await referral_only.client.post("/v1/mis/concerns", json={"items": batch}, headers=env)
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [
        (0, "created"),
        (1, "invalid"),
        (2, "duplicate"),
        (3, "created"),
        (4, "invalid"),
        (5, "invalid"),
    ]
    assert (body["created"], body["duplicates"], body["invalid"]) == (2, 1, 3)
    results = body["results"]
    assert results[2]["concern_id"] == results[0]["concern_id"]  # the same MIS id twice in one batch
    assert [e["field"] for e in results[1]["errors"]] == ["child.upn"]
    assert results[1]["mis_record_id"] == "mis-212"
    assert [e["field"] for e in results[5]["errors"]] == ["school_urn"]
    assert len(await _school_concerns(referral_only)) == before + 1  # one for 100000 (the other is 100002)

    resend = await referral_only.client.post("/v1/mis/concerns", json={"items": batch}, headers=env)
    assert [r["status"] for r in resend.json()["results"]] == [
        "duplicate",
        "invalid",
        "duplicate",
        "duplicate",
        "invalid",
        "invalid",
    ]
    assert len(await _school_concerns(referral_only)) == before + 1


async def test_a_school_outside_scope_refuses_the_whole_batch(referral_only):
    before = len(await _school_concerns(referral_only))
    batch = [item(221), item(222), item(223, school_urn="100001")]
    response = await referral_only.client.post(
        "/v1/mis/concerns", json={"items": batch}, headers=referral_only.headers("mis")
    )
    assert response.status_code == 403
    assert len(await _school_concerns(referral_only)) == before


async def test_over_1000_items_is_413_and_stores_nothing(referral_only):
    before = len(await _school_concerns(referral_only))
    batch = [item(20_000 + i) for i in range(1001)]
    response = await referral_only.client.post(
        "/v1/mis/concerns", json={"items": batch}, headers=referral_only.headers("mis")
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:tas:problem:batch-too-large"
    assert len(await _school_concerns(referral_only)) == before


async def test_a_body_over_8_mib_is_413_problem_json_before_it_is_read(referral_only):
    padding = "x" * (8 * 1_048_576)
    response = await referral_only.client.post(
        "/v1/mis/concerns",
        content=b'{"items": [{"summary": "' + padding.encode() + b'"}]}',
        headers={**referral_only.headers("mis"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:tas:problem:payload-too-large" and "xxxx" not in response.text


async def test_a_malformed_envelope_is_422(referral_only):
    mis = referral_only.headers("mis")
    for body, field in (
        ({"items": []}, "body.items"),
        ({"items": "x"}, "body.items"),
        ({"items": [item(231)], "extra": 1}, "body"),
    ):
        response = await referral_only.client.post("/v1/mis/concerns", json=body, headers=mis)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_full_batch_of_1000_in_one_request(referral_only):
    mis = referral_only.headers("mis")
    batch = [item(30_000 + i, record_id=f"bulk-{i}") for i in range(1000)]
    response = await referral_only.client.post("/v1/mis/concerns", json={"items": batch}, headers=mis)
    assert response.status_code == 200
    assert response.json()["created"] == 1000
    assert len({r["concern_id"] for r in response.json()["results"]}) == 1000
    events = await stream_events(referral_only.nats_url, "tas.referral.concern.raised", expect=1000)
    bulk = {e["data"]["concern_id"] for e in events} & {r["concern_id"] for r in response.json()["results"]}
    assert len(bulk) == 1000  # every concern raised its event through the outbox
    again = await referral_only.client.post("/v1/mis/concerns", json={"items": batch}, headers=mis)
    assert again.json()["duplicates"] == 1000 and again.json()["created"] == 0


async def test_an_idempotency_key_replays_the_first_answer(referral_only):
    mis = {**referral_only.headers("mis"), "Idempotency-Key": "push-241"}
    first = await referral_only.client.post("/v1/mis/concerns", json={"items": [item(241)]}, headers=mis)
    again = await referral_only.client.post("/v1/mis/concerns", json={"items": [item(241)]}, headers=mis)
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["results"][0]["status"] == "created"


async def test_wrong_content_type_is_415(referral_only):
    response = await referral_only.client.post(
        "/v1/mis/concerns",
        content=b"<concern/>",
        headers={**referral_only.headers("mis"), "Content-Type": "application/xml"},
    )
    assert response.status_code == 415


async def test_two_concurrent_pushes_of_one_batch_create_each_record_once(referral_only):
    import asyncio

    mis = referral_only.headers("mis")
    batch = {"items": [item(250 + i, record_id=f"race-{i}") for i in range(3)]}
    first, second = await asyncio.gather(
        *(referral_only.client.post("/v1/mis/concerns", json=batch, headers=mis) for _ in range(2))
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["created"] + second.json()["created"] == 3
    assert first.json()["duplicates"] + second.json()["duplicates"] == 3
    ids = {r["concern_id"] for r in first.json()["results"]} | {r["concern_id"] for r in second.json()["results"]}
    assert len(ids) == 3


# --- a re-send with changed content (issue 12.11): updated as a new version, or a conflict naming the fields -------


async def _concern(env, concern_id: str, actor: str = "dsl") -> dict:
    response = await env.client.get(f"/v1/concerns/{concern_id}", headers=env.headers(actor))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_changed_resend_updates_the_concern_as_a_new_version(referral_only):
    mis = referral_only.headers("mis")
    first = (await referral_only.client.post("/v1/mis/concerns", json=item(261), headers=mis)).json()["results"][0]
    changed = item(261, summary="Now also struggling to read aloud.", areas_of_need=["cognition_and_learning"])
    response = await referral_only.client.post("/v1/mis/concerns", json={"items": [changed]}, headers=mis)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicates"], body["updated"], body["conflicts"]) == (0, 0, 1, 0)
    result = body["results"][0]
    assert result["status"] == "updated" and result["concern_id"] == first["concern_id"]
    assert result["changed"] == ["areas_of_need", "summary"] and result["version"] == 2
    assert "read aloud" not in response.text  # field names only, never values
    concern = await _concern(referral_only, first["concern_id"])
    assert concern["summary"] == "Now also struggling to read aloud." and concern["version"] == 2
    assert concern["areas_of_need"] == ["cognition_and_learning"]
    again = await referral_only.client.post("/v1/mis/concerns", json=changed, headers=mis)
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "duplicate"
    events = await stream_events(referral_only.nats_url, "tas.referral.concern.updated", expect=1)
    mine = [e["data"] for e in events if e["data"]["concern_id"] == first["concern_id"]]
    assert [(e["version"], e["changed_fields"], e["escalated"]) for e in mine] == [
        (2, ["areas_of_need", "summary"], False)
    ]
    assert "read aloud" not in str(mine)


async def test_a_resend_that_raises_safeguarding_is_routed_as_a_new_safeguarding_concern(referral_only):
    mis = referral_only.headers("mis")
    first = (
        await referral_only.client.post(
            "/v1/mis/concerns", json=item(262, consent_status="not_sought", lawful_basis="public_task"), headers=mis
        )
    ).json()["results"][0]
    referred = await referral_only.client.post(
        "/v1/referrals",
        json={"concern_id": first["concern_id"], "service_ids": ["999-salt"]},
        headers=referral_only.headers("senco"),
    )
    assert referred.status_code == 201, referred.text
    raised = item(262, safeguarding=True, consent_status="not_sought")  # and the basis it had is dropped
    escalated = await referral_only.client.post("/v1/mis/concerns", json=raised, headers=mis)
    assert escalated.status_code == 200, escalated.text
    result = escalated.json()["results"][0]
    assert result["status"] == "updated" and result["changed"] == ["lawful_basis", "safeguarding"]
    concern = await _concern(referral_only, first["concern_id"])
    assert concern["safeguarding"] is True and concern["urgency"] == "urgent"
    assert concern["front_door_referral_id"] and concern["routed_to"][0] == "dsl"
    assert concern["lawful_basis"] == "safeguarding"  # no consent was given: shared on the safeguarding basis
    # the teacher who did not raise it no longer sees it (it is in the DSL's queue)
    hidden = await referral_only.client.get(
        f"/v1/concerns/{first['concern_id']}", headers=referral_only.headers("teacher")
    )
    assert hidden.status_code == 404
    submitted = await stream_events(referral_only.nats_url, "tas.referral.referral.submitted", expect=1)
    front_door = [e["data"] for e in submitted if e["data"]["referral_id"] == concern["front_door_referral_id"]]
    assert front_door and front_door[0]["safeguarding"] is True and front_door[0]["urgency"] == "urgent"
    # the open referral made before is now a safeguarding one: its later events tell no service to message the family
    salt = await referral_only.client.get(
        f"/v1/referrals/{referred.json()['items'][0]['id']}", headers=referral_only.headers("dsl")
    )
    assert salt.json()["safeguarding"] is True
    updated = await stream_events(referral_only.nats_url, "tas.referral.concern.updated", expect=1)
    mine = [e["data"] for e in updated if e["data"]["concern_id"] == first["concern_id"]]
    assert mine and mine[0]["escalated"] is True and mine[0]["safeguarding"] is True
    again = await referral_only.client.post("/v1/mis/concerns", json=raised, headers=mis)
    assert again.json()["results"][0]["status"] == "duplicate"  # and no second front door referral
    assert (await _concern(referral_only, first["concern_id"]))["front_door_referral_id"] == concern[
        "front_door_referral_id"
    ]


async def test_a_resend_that_would_change_whose_concern_it_is_is_a_conflict_naming_the_fields(referral_only):
    mis = referral_only.headers("mis")
    first = (await referral_only.client.post("/v1/mis/concerns", json=item(263), headers=mis)).json()["results"][0]
    other = item(263)
    born = date.fromisoformat(other["child"]["date_of_birth"])
    other["child"]["given_name"], other["child"]["date_of_birth"] = "Zebedee", str(born + timedelta(days=1))
    other["family_contacts"][0]["email"] = "someone.else@example.org"
    for _ in range(2):  # a conflict stays a conflict until the vendor acts: it never becomes a silent duplicate
        response = await referral_only.client.post("/v1/mis/concerns", json={"items": [other]}, headers=mis)
        body = response.json()
        assert response.status_code == 200 and body["conflicts"] == 1 and body["updated"] == 0
        result = body["results"][0]
        assert result["status"] == "conflict" and result["concern_id"] == first["concern_id"]
        assert result["conflicts"] == ["child.date_of_birth", "child.given_name", "family_contacts"]
        assert result["changed"] == []  # nothing applied
        assert "Zebedee" not in response.text and "someone.else" not in response.text
    concern = await _concern(referral_only, first["concern_id"])
    assert concern["child"]["given_name"] == item(263)["child"]["given_name"] and concern["version"] == 1


async def test_a_conflict_never_holds_back_a_raise_to_safeguarding(referral_only):
    mis = referral_only.headers("mis")
    first = (await referral_only.client.post("/v1/mis/concerns", json=item(264), headers=mis)).json()["results"][0]
    both = item(264, safeguarding=True)
    both["child"]["family_name"] = "Otherton"
    response = await referral_only.client.post("/v1/mis/concerns", json=both, headers=mis)
    result = response.json()["results"][0]
    assert result["status"] == "conflict" and result["conflicts"] == ["child.family_name"]
    assert result["changed"] == ["safeguarding"] and result["version"] == 2
    concern = await _concern(referral_only, first["concern_id"])
    assert concern["safeguarding"] is True and concern["front_door_referral_id"]


async def test_a_resend_cannot_stand_down_a_safeguarding_concern(referral_only):
    mis = referral_only.headers("mis")
    first = (
        await referral_only.client.post("/v1/mis/concerns", json=item(265, safeguarding=True), headers=mis)
    ).json()["results"][0]
    response = await referral_only.client.post("/v1/mis/concerns", json=item(265), headers=mis)
    result = response.json()["results"][0]
    assert result["status"] == "conflict" and result["conflicts"] == ["safeguarding"]
    assert (await _concern(referral_only, first["concern_id"]))["safeguarding"] is True


async def test_a_resend_does_not_undo_what_the_school_recorded_since(referral_only):
    """The comparison is with what the MIS sent last, not with the concern as it is now: the school recorded
    consent through the API after the push, and an unchanged re-send leaves it so."""
    mis = referral_only.headers("mis")
    first = (await referral_only.client.post("/v1/mis/concerns", json=item(266), headers=mis)).json()["results"][0]
    consent = await referral_only.client.put(
        f"/v1/concerns/{first['concern_id']}/consent",
        json={"consent_status": "given"},
        headers=referral_only.headers("senco"),
    )
    assert consent.status_code == 200, consent.text
    again = await referral_only.client.post("/v1/mis/concerns", json=item(266), headers=mis)
    assert again.json()["results"][0]["status"] == "duplicate"
    assert (await _concern(referral_only, first["concern_id"]))["consent_status"] == "given"
