"""Concern → referral → accept across the running services: the accepted event, naming the practitioner and the
child, reaches the JetStream stream (caseload puts the practitioner on the team from it)."""

from __future__ import annotations

import json

import nats as nats_client
from nats.js.api import DeliverPolicy

from tas_dev.testing import concern_body

from ..conftest import eventually


async def _accepted_events(url: str) -> list[dict]:
    nc = await nats_client.connect(url)
    try:
        sub = await nc.jetstream().subscribe(
            "tas.referral.referral.accepted", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        found = []
        while True:
            try:
                found.append(json.loads((await sub.next_msg(timeout=0.3)).data))
            except (TimeoutError, nats_client.errors.TimeoutError):
                return found
    finally:
        await nc.close()


async def test_concern_referral_accept_reaches_the_stream(system, token):
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=["100000"])
    therapist = token("slt", "health", org_id="nhs-trust-1", sub="slt-1", name="Sam Therapist")
    body = concern_body(901)
    concern = (await system.referral.post("/v1/concerns", json=body, headers=senco)).json()

    async def linked():
        r = await system.referral.get(f"/v1/concerns/{concern['id']}", headers=senco)
        return r.json()["child_id"]

    child_id = await eventually(linked, what="caseload to link the concern to a child")
    created = await system.referral.post(
        "/v1/referrals", json={"concern_id": concern["id"], "service_ids": ["999-salt"]}, headers=senco
    )
    assert created.status_code == 201, created.text
    referral = created.json()["items"][0]
    assert referral["child_id"] == child_id

    inbox = (await system.referral.get("/v1/referrals", params={"status": "submitted"}, headers=therapist)).json()
    assert [r["id"] for r in inbox["items"]] == [referral["id"]]
    accepted = await system.referral.post(f"/v1/referrals/{referral['id']}/accept", headers=therapist)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    events = await eventually(lambda: _accepted_events(system.nats.url), what="the accepted event on the stream")
    assert len(events) == 1
    event = events[0]
    assert event["type"] == "tas.referral.referral.accepted.v1" and event["subject"] == referral["id"]
    assert event["data"] == {
        "referral_id": referral["id"],
        "concern_id": concern["id"],
        "child_id": child_id,
        "service_id": "999-salt",
        "school_urn": "100000",
        "safeguarding": False,
        "practitioner_sub": "slt-1",
        "practitioner_name": "Sam Therapist",
        "practitioner_org_id": "nhs-trust-1",
        "practitioner_org_type": "health",
        "practitioner_role": "slt",
        "service_name": "Children's Speech and Language Therapy",
        "organisation_name": "Fictional Community Health NHS Trust",
        "service_contact_email": "salt.referrals@example.org",
    }
