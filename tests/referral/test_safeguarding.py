"""A safeguarding concern goes straight to the school's DSL and, as an urgent referral, to the LA's children's
social care front door, and never produces a family notification anywhere (the whole system runs here)."""

from __future__ import annotations

from tas_dev.testing import concern_body

from ..conftest import eventually
from .conftest import FRONT_DOOR, stream_events


async def _child_of(system, headers, upn):
    async def found():
        r = await system.caseload.get("/v1/children", params={"upn": upn}, headers=headers)
        return r.json()["items"] if r.status_code == 200 and r.json()["items"] else None

    return (await eventually(found, what="caseload to register the child"))[0]["id"]


async def test_safeguarding_concern_goes_to_dsl_and_front_door_and_never_to_the_family(system, token):
    teacher = token("teacher", "school", org_id="school-100000", sub="teacher-7", school_urns=["100000"])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=["100000"])
    social_worker = token("social_worker", "social_care", org_id="la-999-csc", sub="sw-1", name="Sol Worker")
    body = concern_body(801, safeguarding=True, consent_status="not_sought", urgency="routine")
    response = await system.referral.post("/v1/concerns", json=body, headers=teacher)
    assert response.status_code == 201, response.text
    concern = response.json()
    assert concern["urgency"] == "urgent" and concern["lawful_basis"] == "safeguarding"
    assert concern["routed_to"] == ["dsl", FRONT_DOOR] and concern["front_door_referral_id"]

    queue = (await system.referral.get("/v1/concerns", params={"safeguarding": "true"}, headers=dsl)).json()
    assert [c["id"] for c in queue["items"]] == [concern["id"]]  # in the DSL's queue

    front_door = (await system.referral.get("/v1/referrals", headers=social_worker)).json()["items"]
    assert [r["id"] for r in front_door] == [concern["front_door_referral_id"]]
    referral = front_door[0]
    assert (referral["urgency"], referral["safeguarding"], referral["lawful_basis"]) == ("urgent", True, "safeguarding")
    child_id = await _child_of(system, dsl, body["child"]["upn"])
    accepted = await system.referral.post(f"/v1/referrals/{referral['id']}/accept", headers=social_worker)
    assert accepted.status_code == 200

    events = await stream_events(system.nats.url, "tas.referral.referral.>", expect=2)
    mine = [e for e in events if e["subject"] == referral["id"]]
    assert [e["type"].rsplit(".", 2)[-2] for e in mine] == ["submitted", "accepted"]
    assert all(e["data"]["safeguarding"] is True for e in mine)
    assert mine[0]["data"]["service_contact_email"] == "frontdoor.999@example.org"

    async def notify_caught_up():
        r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=dsl)
        return r if r.status_code == 200 else None

    family = {body["family_contacts"][0]["email"], "+447700900801"}
    items = (await eventually(notify_caught_up, what="notify to know the child")).json()["items"]
    assert [n for n in items if n["recipient"] in family] == []
    await system.settled()  # the front door's team inbox may be told of the referral; the family never is
    assert not any(m["To"] in family for m in system.smtp.messages)
    assert not (system.tmp / "sms-outbox.jsonl").exists()


async def test_a_safeguarding_item_from_the_mis_is_routed_too(system, token):
    mis = token("mis_client", "mis", org_id="mis-vendor-1", sub="mis-client-1", school_urns=["100000"])
    body = {
        "items": [
            concern_body(811, mis_record_id="sg-1", safeguarding=True, consent_status="refused"),
            concern_body(812, mis_record_id="ok-1"),
        ]
    }
    response = await system.referral.post("/v1/mis/concerns", json=body, headers=mis)
    assert response.status_code == 200 and response.json()["created"] == 2
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=["100000"])
    first = response.json()["results"][0]["concern_id"]
    concern = (await system.referral.get(f"/v1/concerns/{first}", headers=dsl)).json()
    assert concern["routed_to"] == ["dsl", FRONT_DOOR] and concern["lawful_basis"] == "safeguarding"
    referrals = (await system.referral.get("/v1/referrals", headers=dsl)).json()["items"]
    assert [(r["concern_id"], r["service_id"], r["urgency"]) for r in referrals] == [(first, FRONT_DOOR, "urgent")]
