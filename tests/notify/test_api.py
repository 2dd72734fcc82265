"""notify's HTTP API through the running service: receipts (signatures), templates admin, contacts' preferences,
and who may read a child's notifications."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from notify.domain import replicas
from notify.domain.models import Notification, Suppression, TeamMember
from tas_common.events.schemas import TeamMemberAddedV1

from .fakes import twilio_sign
from .helpers import accept_referral, add_contact, new_id

TWILIO_TOKEN = "b" * 32
NOTIFY_CALLBACK = "callback-token-0123456789"
BASE = "https://notify.example.org"
pytestmark = pytest.mark.settings(
    notify={"twilio_auth_token": TWILIO_TOKEN, "notify_callback_token": NOTIFY_CALLBACK, "public_base_url": BASE}
)


async def seed(
    system,
    *,
    status="sending",
    provider="twilio",
    provider_ref=None,
    channel="sms",
    recipient="+447700900123",
    child_id=None,
    contact_id=None,
) -> Notification:
    db = system.runtime("notify").db
    n = Notification(
        child_id=child_id or new_id(),
        contact_id=contact_id or new_id(),
        trigger_event_id=new_id(),
        dedupe_key=new_id(),
        recipient_key=new_id(),
        template="referral_accepted",
        template_version=1,
        language="en",
        channel=channel,
        recipient=recipient,
        body="b",
        status=status,
        provider=provider,
        provider_ref=provider_ref,
        attempts=1,
    )
    async with db.transaction() as session:
        session.add(n)
    return n


async def get_row(system, nid) -> Notification:
    async with system.runtime("notify").db.reader() as session:
        return await session.get(Notification, nid)


async def suppressions(system) -> dict[str, str]:
    async with system.runtime("notify").db.reader() as session:
        return {s.address: s.reason for s in (await session.exec(select(Suppression))).all()}


def twilio_post(params: dict[str, str], *, query: str = "", token: str = TWILIO_TOKEN):
    path = "/v1/receipts/twilio" + (f"?{query}" if query else "")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_sign(BASE + path, params, token),
    }
    return path, urlencode(params), headers


# --- receipts -------------------------------------------------------------------------------------------------


async def test_twilio_receipt_with_good_signature_delivers_and_bad_signature_changes_nothing(system):
    n = await seed(system, provider_ref="SM" + "a" * 32)
    params = {"MessageSid": n.provider_ref, "MessageStatus": "delivered", "AccountSid": "AC1"}
    path, body, headers = twilio_post(params, token="wrong-token")
    bad = await system.notify.post(path, content=body, headers=headers)
    assert bad.status_code == 403
    assert (await get_row(system, n.id)).status == "sending"
    path, body, headers = twilio_post(params)
    tampered = await system.notify.post(path, content=body.replace("delivered", "undelivered"), headers=headers)
    assert tampered.status_code == 403
    ok = await system.notify.post(path, content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"matched": True, "notification_id": n.id, "status": "delivered", "suppressed": False}
    assert (await get_row(system, n.id)).status == "delivered"
    again = await system.notify.post(path, content=body, headers=headers)  # a repeated receipt is harmless
    assert again.json()["status"] == "delivered"


async def test_twilio_receipt_finds_the_row_by_our_ref_even_without_a_recorded_sid(system):
    n = await seed(system, provider_ref=None)
    params = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    path, body, headers = twilio_post(params, query=f"ref={n.id}")
    response = await system.notify.post(path, content=body, headers=headers)
    assert response.json()["status"] == "permanent-failure"
    row = await get_row(system, n.id)
    assert row.status == "permanent-failure"
    assert (await suppressions(system))["+447700900123"] == "hard-bounce"


async def test_sms_reply_stop_suppresses_the_number(system):
    path, body, headers = twilio_post({"From": "+447700900555", "Body": " stop ", "MessageSid": "SM1"})
    response = await system.notify.post(path, content=body, headers=headers)
    assert response.json()["suppressed"] is True
    assert (await suppressions(system)) == {"+447700900555": "sms-stop"}


async def test_notify_callback_needs_the_configured_bearer_token(system):
    n = await seed(system, provider="notify", provider_ref=new_id())
    payload = {
        "id": n.provider_ref,
        "reference": n.id,
        "to": n.recipient,
        "status": "temporary-failure",
        "notification_type": "sms",
    }
    for auth in (None, "Bearer nope", f"Basic {NOTIFY_CALLBACK}"):
        headers = {"Authorization": auth} if auth else {}
        assert (await system.notify.post("/v1/receipts/notify", json=payload, headers=headers)).status_code == 403
    assert (await get_row(system, n.id)).status == "sending"
    ok = await system.notify.post(
        "/v1/receipts/notify", json=payload, headers={"Authorization": f"Bearer {NOTIFY_CALLBACK}"}
    )
    assert ok.status_code == 200
    row = await get_row(system, n.id)
    assert row.status == "created" and row.not_before is not None  # retried within the budget
    inbound = await system.notify.post(
        "/v1/receipts/notify",
        headers={"Authorization": f"Bearer {NOTIFY_CALLBACK}"},
        json={"id": new_id(), "source_number": "447700900777", "content": "STOP"},
    )
    assert inbound.json()["suppressed"] is True
    assert "+447700900777" in await suppressions(system)
    assert (await system.notify.post("/v1/receipts/nobody", json={})).status_code == 404


# --- templates admin ------------------------------------------------------------------------------------------


async def test_templates_admin(system, token):
    admin = token("notify_admin", "local_authority", la_code="999", sub="admin-1")
    assert (
        await system.notify.get("/v1/templates", headers=token("send_officer", "local_authority", la_code="999"))
    ).status_code == 403
    assert (await system.notify.get("/v1/templates", headers=token("notify_admin", "school"))).status_code == 403
    listed = (await system.notify.get("/v1/templates", headers=admin)).json()["items"]
    accepted_cy = next(
        t for t in listed if (t["name"], t["channel"], t["language"]) == ("referral_accepted", "sms", "cy")
    )
    assert accepted_cy["version"] == 2 and accepted_cy["sms_fragments"] == 2  # migration 0008's text
    path = f"/v1/templates/{accepted_cy['id']}"
    new_body = {"body": "Mae gwasanaeth wedi derbyn y cais am gymorth. Manylion: ((link))"}
    assert (await system.notify.put(path, json=new_body, headers=admin)).status_code == 428
    assert (await system.notify.put(path, json=new_body, headers={**admin, "If-Match": '"7"'})).status_code == 412
    updated = await system.notify.put(path, json=new_body, headers={**admin, "If-Match": '"2"'})
    assert updated.status_code == 200 and updated.json()["version"] == 3 and updated.headers["ETag"] == '"3"'
    history = (await system.notify.get(path, headers=admin)).json()["history"]
    assert [h["version"] for h in history] == [3, 2, 1] and history[0]["created_by"] == "admin-1"
    for bad, field in [
        ({"body": "Your child's ADHD assessment: ((link))"}, "body.body"),
        ({"body": "Hello ((child_surname))"}, "body.body"),
        ({"body": "ŵ" * 202}, "body.body"),
        ({"body": "Broken ((link)"}, "body.body"),
        ({"body": "ok", "colour": "red"}, "body"),  # the unknown key itself is not echoed
    ]:
        response = await system.notify.put(path, json=bad, headers={**admin, "If-Match": '"3"'})
        assert response.status_code == 422, bad
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == [field] and "colour" not in response.text
    created = await system.notify.post(
        "/v1/templates",
        headers={**admin, "Idempotency-Key": "k1"},
        json={"name": "plan_agreed", "channel": "sms", "language": "pl", "body": "Plan wsparcia uzgodniony: ((link))"},
    )
    assert created.status_code == 201, created.text
    replay = await system.notify.post(
        "/v1/templates",
        headers={**admin, "Idempotency-Key": "k1"},
        json={"name": "plan_agreed", "channel": "sms", "language": "pl", "body": "Plan wsparcia uzgodniony: ((link))"},
    )
    assert replay.json()["id"] == created.json()["id"]
    duplicate = await system.notify.post(
        "/v1/templates",
        headers=admin,
        json={"name": "plan_agreed", "channel": "sms", "language": "pl", "body": "x ((link))"},
    )
    assert duplicate.status_code == 409
    # a message rendered afterwards records the new version
    db = system.runtime("notify").db
    child = new_id()
    await add_contact(db, child_id=child, channel="sms", language="cy")
    settings = system.apps["notify"].state.settings
    (n,) = await accept_referral(db, settings, child_id=child, now=datetime(2026, 6, 10, 11, tzinfo=UTC))
    assert (n.template_id, n.template_version) == (accepted_cy["id"], 3)
    assert n.body.startswith("Mae gwasanaeth wedi derbyn y cais am gymorth. Manylion:")


# --- contacts' preferences ------------------------------------------------------------------------------------


async def test_family_member_reads_and_changes_their_own_preferences(system, token):
    db = system.runtime("notify").db
    child = new_id()
    me = await add_contact(db, child_id=child, channel="sms", mobile="07700 900321", email="me@example.org")
    other = await add_contact(db, child_id=child, channel="email", email="other@example.org")
    mine = token([], "family", sub=me, child_ids=[child])
    path = f"/v1/contacts/{me}/preferences"
    got = await system.notify.get(path, headers=mine)
    assert got.status_code == 200 and got.json()["preferred_channel"] == "sms"
    assert (await system.notify.get(f"/v1/contacts/{other}/preferences", headers=mine)).status_code == 404
    stranger = token([], "family", sub=me, child_ids=[new_id()])
    assert (await system.notify.get(path, headers=stranger)).status_code == 404
    senco_elsewhere = token("senco", "school", school_urns=["999999"])
    assert (await system.notify.get(path, headers=senco_elsewhere)).status_code == 404
    assert (
        await system.notify.patch(
            path, json={"language": "cy"}, headers=token("senco", "school", school_urns=["100000"])
        )
    ).status_code == 403
    bad = await system.notify.patch(path, json={"channel": "sms"}, headers=mine)
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["body"]
    changed = await system.notify.patch(
        path, json={"preferred_channel": "email", "language": "cy", "opted_out": True}, headers=mine
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["opted_out"] is True and changed.json()["language"] == "cy"
    assert sorted(changed.json()["suppressed"]) == ["email: opt-out", "sms: opt-out"]
    assert (await suppressions(system)) == {"+447700900321": "opt-out", "me@example.org": "opt-out"}
    back = await system.notify.patch(path, json={"opted_out": False}, headers=mine)
    assert back.json()["suppressed"] == [] and back.json()["opted_out"] is False


# --- reading notifications ------------------------------------------------------------------------------------


async def test_who_reads_a_childs_notifications(system, token):
    db = system.runtime("notify").db
    child = new_id()
    async with db.transaction() as session:
        await replicas.remember_child_scope(session, child_id=child, school_urn="100000", la_code="999")
        await replicas.team_member_changed(
            session,
            member=TeamMemberAddedV1(
                child_id=child, member_sub="slt-1", member_name="S", org_id="nhs-trust-1", org_type="health"
            ),
            added=True,
        )
    parent_a = await add_contact(db, child_id=child, contact_id="parent-a")
    await add_contact(db, child_id=child, contact_id="parent-b", email="b@example.org")
    mine = await seed(system, status="delivered", child_id=child, contact_id=parent_a)
    theirs = await seed(system, status="delivered", child_id=child, contact_id="parent-b")
    # a parent of another child whose token names this child too (a forged or mis-issued `child_ids`)
    elsewhere = await add_contact(db, child_id=new_id(), email="c@example.org")
    allowed = [
        token("senco", "school", school_urns=["100000"]),
        token("send_officer", "local_authority", la_code="999"),
        token("slt", "health", org_id="nhs-trust-1", sub="slt-1"),
    ]
    for headers in allowed:
        r = await system.notify.get("/v1/notifications", params={"child_id": child}, headers=headers)
        assert r.status_code == 200 and {n["id"] for n in r.json()["items"]} == {mine.id, theirs.id}
    parent = token([], "family", sub="parent-a", child_ids=[child])
    r = await system.notify.get("/v1/notifications", params={"child_id": child}, headers=parent)
    assert [n["id"] for n in r.json()["items"]] == [mine.id]
    assert (await system.notify.get(f"/v1/notifications/{theirs.id}", headers=parent)).status_code == 404
    assert (await system.notify.get(f"/v1/notifications/{mine.id}", headers=parent)).status_code == 200
    denied = [
        token([], "family", sub=elsewhere, child_ids=[child]),
        token([], "family", sub="parent-a", child_ids=[new_id()]),
        token("slt", "health", org_id="nhs-trust-1", sub="slt-2"),
        token("senco", "school", school_urns=["999999"]),
        token("teacher", "school", school_urns=["100000"]),
        token("send_officer", "local_authority", la_code="111"),
    ]
    for headers in denied:
        assert (
            await system.notify.get("/v1/notifications", params={"child_id": child}, headers=headers)
        ).status_code == 404
        assert (await system.notify.get(f"/v1/notifications/{mine.id}", headers=headers)).status_code == 404
    assert (
        await system.notify.get("/v1/notifications", params={"child_id": child}, headers=token("mis", "mis"))
    ).status_code == 403
    async with db.transaction() as session:
        await replicas.team_member_changed(
            session,
            member=TeamMemberAddedV1(
                child_id=child, member_sub="slt-1", member_name="S", org_id="nhs-trust-1", org_type="health"
            ),
            added=False,
        )
        assert await session.get(TeamMember, (child, "slt-1", "nhs-trust-1")) is None
    assert (
        await system.notify.get("/v1/notifications", params={"child_id": child}, headers=allowed[2])
    ).status_code == 404
