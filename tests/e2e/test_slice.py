"""The thin vertical slice across the three services, against a real nats-server, SQLite and SMTP."""

from __future__ import annotations

import json

from tas_dev.testing import concern_body

from ..conftest import eventually


async def test_concern_creates_child_and_acknowledges_family_by_email(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(1, channel="email")
    response = await system.referral.post("/v1/concerns", json=body, headers=senco)
    assert response.status_code == 201, response.text
    concern = response.json()
    assert concern["child"]["upn"] == body["child"]["upn"]

    async def child_found():
        r = await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=senco)
        return r.json()["items"] if r.status_code == 200 else None

    children = await eventually(child_found, what="the child in caseload")
    child_id = children[0]["id"]
    assert children[0]["school_urn"] == "100000"

    async def notified():
        r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=senco)
        items = r.json().get("items", []) if r.status_code == 200 else []
        return items if items and items[0]["status"] == "delivered" else None

    notes = await eventually(notified, what="the delivered family notification")
    assert [n["channel"] for n in notes] == ["email"]
    assert notes[0]["recipient"] == "parent1@example.org"
    assert len(system.smtp.messages) == 1
    mail = system.smtp.messages[0]
    assert mail["To"] == "parent1@example.org"
    assert "asked for support" in mail["Subject"]
    assert body["child"]["given_name"] not in mail.get_payload()  # says that something happened, not about whom

    async def concern_linked():
        r = await system.referral.get(f"/v1/concerns/{concern['id']}", headers=senco)
        return r.json()["child_id"] if r.json().get("child_id") else None

    assert await eventually(concern_linked, what="referral to learn the child id") == child_id

    chronology = (await system.caseload.get(f"/v1/children/{child_id}/chronology", headers=senco)).json()["items"]
    kinds = [e["kind"] for e in chronology]  # newest first; notify's delivery receipt may have arrived already
    assert kinds[-1] == "concern_raised" and set(kinds) <= {"concern_raised", "notification_delivered"}


async def test_welsh_sms_goes_to_the_dev_outbox(system, token):
    senco = token("senco", "school", school_urns=["100000"])
    body = concern_body(2, channel="sms", language="cy")
    assert (await system.referral.post("/v1/concerns", json=body, headers=senco)).status_code == 201
    outbox = system.tmp / "sms-outbox.jsonl"

    async def sms_written():
        return outbox.exists() and outbox.read_text().strip()

    line = json.loads(await eventually(sms_written, what="the SMS in the dev outbox"))
    assert line["to"] == "+447700900002"
    assert line["body"].startswith("Mae'r ysgol wedi gofyn am gymorth ar gyfer ")  # Welsh, GSM-7 letters only
    assert system.smtp.messages == []


async def test_safeguarding_concern_never_notifies_the_family(system, token):
    dsl = token("dsl", "school", school_urns=["100000"])
    body = concern_body(3, safeguarding=True)
    assert (await system.referral.post("/v1/concerns", json=body, headers=dsl)).status_code == 201

    async def child_found():
        r = await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=dsl)
        return r.json()["items"] if r.status_code == 200 else None

    child_id = (await eventually(child_found, what="the child"))[0]["id"]

    # notify has handled the linking event once it knows the child's scope; then it must have sent nothing
    async def notify_caught_up():
        r = await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=dsl)
        return r if r.status_code == 200 else None

    response = await eventually(notify_caught_up, what="notify to handle the event")
    family = {"parent3@example.org", "+447700900003"}
    # the LA front door's team inbox may be told of the automatic referral; the family never is
    assert [n for n in response.json()["items"] if n["recipient"] in family] == []
    await system.settled()
    assert not any(m["To"] in family for m in system.smtp.messages)
