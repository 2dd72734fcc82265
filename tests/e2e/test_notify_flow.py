"""Real events through the real publishing path → the family's message appears once, in their language."""

from __future__ import annotations

import json
import uuid

from tas_common.events.schemas import ReferralAcceptedV1, ReferralSubmittedV1
from tas_dev.testing import concern_body, referral_accepted

from ..conftest import eventually
from .flows import child_and_ack, notify_caught_up, publish_from_referral


async def test_referral_accepted_reaches_the_family_once_in_welsh(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    child_id = await child_and_ack(system, senco, concern_body(41, channel="email", language="cy"))
    accepted = referral_accepted(child_id)
    event = await publish_from_referral(system, accepted)

    def accepted_mail():
        return [m for m in system.smtp.messages if m["Subject"].endswith(": mae'r cais wedi'i dderbyn")]

    async def mailed():
        return accepted_mail() or None

    (mail,) = await eventually(mailed, what="the Welsh acceptance email")
    assert mail["To"] == "parent41@example.org"
    # the same event delivered again (another Nats-Msg-Id, so JetStream cannot drop it) and a second event about
    # the same fact: neither sends anything more
    js = system.runtime("referral").js
    await js.publish(ReferralAcceptedV1.subject, event.to_bytes(), headers={"Nats-Msg-Id": f"again-{event.id}"})
    await publish_from_referral(system, accepted)
    await notify_caught_up(system)

    async def relay_idle():
        return (await system.runtime("referral").relay.lag()).pending == 0

    await eventually(relay_idle, what="referral's outbox to publish")
    await notify_caught_up(system)
    assert len(accepted_mail()) == 1
    r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=senco)
    templates = sorted(n["template"] for n in r.json()["items"])
    assert templates == ["concern_acknowledged", "referral_accepted"]


async def test_sms_family_and_team_inbox_from_a_new_referral(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    child_id = await child_and_ack(system, senco, concern_body(42, channel="sms", language="en"))
    submitted = ReferralSubmittedV1(
        referral_id=str(uuid.uuid4()),
        concern_id=str(uuid.uuid4()),
        child_id=child_id,
        service_id="svc-ot",
        school_urn="100000",
        service_org_id="nhs-trust-1",
        service_org_type="health",
        urgency="urgent",
        service_contact_email="ot-team@example.org",
    )
    await publish_from_referral(system, submitted)

    async def inbox_mail():
        found = [m for m in system.smtp.messages if m["To"] == "ot-team@example.org"]
        return found or None

    (mail,) = await eventually(inbox_mail, what="the team inbox email")
    assert mail["Subject"] == "New request for support: urgent"
    lines = [json.loads(line) for line in (system.tmp / "sms-outbox.jsonl").read_text().splitlines()]
    assert [line["to"] for line in lines] == ["+447700900042"]  # the family's acknowledgement, by SMS, once
    child = concern_body(42)["child"]  # which child: the first name only, never the family name
    assert child["given_name"] in lines[0]["body"] and child["family_name"] not in lines[0]["body"]
