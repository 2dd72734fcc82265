"""A family signs in with a one-time code that crosses caseload → the stream → notify → the SMTP sink or the SMS
outbox, sealed all the way and never stored or logged in the clear; and nothing reaches a family whose contact
the DSL has restricted."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from sqlmodel import select

from notify.domain.models import ChildScope, Notification
from tas_dev.testing import concern_body

from ..conftest import eventually, records_showing

CODES, TOKENS = "/v1/family/sign-in/codes", "/v1/family/sign-in/tokens"


async def _child(system: Any, senco: dict[str, str], body: dict[str, Any]) -> str:
    assert (await system.referral.post("/v1/concerns", json=body, headers=senco)).status_code == 201

    async def found() -> str | None:
        r = await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=senco)
        items = r.json()["items"] if r.status_code == 200 else []
        return items[0]["id"] if items else None

    return await eventually(found, what="the child")


async def _code_email(system: Any, address: str, seen: int) -> str:
    async def arrived() -> str | None:
        mine = [m for m in system.smtp.messages if m["To"] == address and "sign-in code" in m["Subject"]]
        if len(mine) <= seen:
            return None
        parts = mine[-1].walk() if mine[-1].is_multipart() else [mine[-1]]
        plain = next(p for p in parts if p.get_content_type() == "text/plain")
        return plain.get_payload(decode=True).decode()

    text = await eventually(arrived, what=f"a sign-in code for {address}")
    return re.search(r"\b(\d{6})\b", text).group(1)


async def _notifications(system: Any, **where: Any) -> list[Notification]:
    async with system.runtime("notify").db.reader() as session:
        query = select(Notification)
        for key, value in where.items():
            query = query.where(getattr(Notification, key) == value)
        return list((await session.exec(query)).all())


async def test_a_code_by_email_and_by_sms_signs_the_family_in_and_is_never_kept(system, token, caplog):
    caplog.set_level(logging.DEBUG)
    senco = token("senco", "school", org_id="school-100000", school_urns=["100000"])
    child_id = await _child(system, senco, concern_body(561, channel="email"))
    r = await system.caseload.post(CODES, json={"contact": "parent561@example.org"})
    assert r.status_code == 202
    code = await _code_email(system, "parent561@example.org", 0)
    r = await system.caseload.post(TOKENS, json={"contact": "parent561@example.org", "code": code})
    assert r.status_code == 200, r.text
    family = {"Authorization": f"Bearer {r.json()['access_token']}"}

    # notify kept the body with ((code)) in place of the code, and forgot the sealed code once it was sent
    async def forgotten():  # the sink has the email a moment before notify records it sent
        (found,) = await _notifications(system, template="sign_in_code")
        return found if found.secret is None and found.status == "delivered" else None

    row = await eventually(forgotten, what="the code's message recorded as delivered, its sealed code forgotten")
    assert code not in row.body and "((code))" in row.body and row.child_id == child_id
    # the family sees the message among theirs, the code masked
    mine = (await system.notify.get("/v1/notifications", params={"child_id": child_id}, headers=family)).json()
    shown = next(n for n in mine["items"] if n["template"] == "sign_in_code")
    assert code not in shown["body"] and "••••••" in shown["body"]
    # by SMS: the same, to the dev SMS outbox
    await _child(system, senco, concern_body(562, channel="sms"))
    assert (await system.caseload.post(CODES, json={"contact": "07700 900562"})).status_code == 202
    outbox = system.tmp / "sms-outbox.jsonl"

    async def texted() -> str | None:
        lines = outbox.read_text().splitlines() if outbox.exists() else []
        codes = [json.loads(line)["body"] for line in lines if "sign-in code" in json.loads(line)["body"]]
        return codes[-1] if codes else None

    sms_code = re.search(r"\b(\d{6})\b", await eventually(texted, what="the SMS code")).group(1)
    r = await system.caseload.post(TOKENS, json={"contact": "+447700900562", "code": sms_code})
    assert r.status_code == 200, r.text
    await system.settled()
    # everything TAS logged (the SMTP sink's own debug log, the recipient's mail server, is the delivery itself)
    logged = [rec for rec in caplog.records if rec.name != "mail.log"]
    assert not records_showing(logged, code) and not records_showing(logged, sms_code)


async def test_nothing_reaches_a_family_whose_contact_is_restricted(system, token):
    senco = token("senco", "school", org_id="school-100000", school_urns=["100000"])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=["100000"])
    body = concern_body(571, channel="email")
    child_id = await _child(system, senco, body)
    await system.settled()
    url = f"/v1/children/{child_id}/family-contact-restriction"
    restrict = {"restricted": True, "reason": "Police strategy meeting this morning"}
    assert (await system.caseload.put(url, json=restrict, headers=dsl)).status_code == 200

    async def replicated() -> bool:
        async with system.runtime("notify").db.reader() as session:
            scope = await session.get(ChildScope, child_id)
            return scope is not None and scope.family_contact_restricted

    await eventually(replicated, what="notify's replica of the restriction")
    before = len(system.smtp.messages)
    assert (await system.caseload.post(CODES, json={"contact": "parent571@example.org"})).status_code == 202
    etag = (await system.caseload.get(f"/v1/children/{child_id}/plan", headers=senco)).headers["ETag"]
    need = {"area": "communication_and_interaction", "description": "Needs visual prompts"}
    await system.caseload.put(
        f"/v1/children/{child_id}/plan", json={"needs": [need]}, headers={**senco, "If-Match": etag}
    )
    shared = {"status": "shared_for_comment"}
    assert (
        await system.caseload.post(f"/v1/children/{child_id}/plan/publish", json=shared, headers=senco)
    ).status_code == 201
    await system.settled()
    assert len(system.smtp.messages) == before  # no code, no plan message
    assert [
        n.template for n in await _notifications(system, child_id=child_id, template="plan_shared_for_comment")
    ] == []
    lift = {"restricted": False, "reason": "Social worker agreed the family can be told"}
    assert (await system.caseload.put(url, json=lift, headers=dsl)).status_code == 200
    await eventually(lambda: _not(replicated), what="the lift to reach notify")
    agreed = {"status": "agreed"}
    assert (
        await system.caseload.post(f"/v1/children/{child_id}/plan/publish", json=agreed, headers=senco)
    ).status_code == 201

    async def told() -> bool:
        return any(m["To"] == "parent571@example.org" for m in system.smtp.messages[before:])

    await eventually(told, what="the family to be told once the restriction is lifted")


async def _not(probe: Any) -> bool:
    return not await probe()
