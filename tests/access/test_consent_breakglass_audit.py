"""Consent per agency type gating referrals (and overrides), break-glass, the access log, and the audit chain of a
real service database checked by `tas audit-verify` after real requests."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select, update

from referral.domain.models import ChildConsent
from tas_common.cli import main as tas
from tas_common.db import utcnow
from tas_common.tables import audit_log, outbox
from tas_dev.testing import concern_body

from ..conftest import eventually

SCHOOL = "100000"
child_consent = ChildConsent.__table__  # type: ignore[attr-defined]


async def _child(system, senco, serial: int, school: str = SCHOOL) -> dict:
    body = concern_body(serial, school_urn=school)
    r = await system.referral.post("/v1/concerns", json=body, headers=senco)
    assert r.status_code == 201, r.text
    concern = r.json()

    async def linked():
        got = await system.referral.get(f"/v1/concerns/{concern['id']}", headers=senco)
        return got.json().get("child_id")

    child_id = await eventually(linked, what="the child")
    got = await system.caseload.get(f"/v1/children/{child_id}/family", headers=senco)
    assert got.status_code == 200, got.text
    family = got.json()["items"]
    return {
        "concern_id": concern["id"],
        "child_id": child_id,
        "upn": body["child"]["upn"],
        "member_id": family[0]["id"],
    }


async def test_withdrawn_consent_blocks_sharing_with_that_agency_until_an_override(system, token):
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=[SCHOOL])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=[SCHOOL])
    head = token("head", "school", org_id="school-100000", sub="head-1", school_urns=[SCHOOL])
    la = token("send_officer", "local_authority", org_id="la-999-send", sub="so-1", la_code="999")
    other_la = token("send_officer", "local_authority", org_id="la-998-send", sub="so-8", la_code="998")
    c = await _child(system, senco, 11)
    parent = token("parent", "family", org_id="family-1", sub=c["member_id"], child_ids=[c["child_id"]])
    url = f"/v1/children/{c['child_id']}/consent"

    r = await system.caseload.put(url, json={"agency_type": "health", "status": "withdrawn"}, headers=parent)
    assert r.status_code == 200, r.text
    assert [(x["agency_type"], x["status"]) for x in r.json()["current"]] == [("health", "withdrawn")]
    assert (
        await system.caseload.put(
            url, headers=parent, json={"agency_type": "health", "status": "refused", "lawful_basis": "public_task"}
        )
    ).status_code == 403
    assert (
        await system.caseload.put(url, json={"agency_type": "health", "status": "given"}, headers=head)
    ).status_code == 403
    r = await system.caseload.put(url, json={"agency_type": "health", "status": "sometimes"}, headers=senco)
    assert r.status_code == 422 and "body.status" in r.text
    async with system.runtime("caseload").db.reader() as session:
        subjects = (await session.execute(select(outbox.c.subject))).scalars().all()
    assert "tas.caseload.consent.changed" in subjects

    refer = {"concern_id": c["concern_id"], "service_ids": ["999-salt"]}

    async def withdrawal_replicated():
        # Wait without side effects: a referral POSTed before referral has the event would be created (201).
        async with system.runtime("referral").db.reader() as session:
            row = (
                await session.execute(
                    select(child_consent.c.status).where(
                        child_consent.c.child_id == c["child_id"], child_consent.c.agency_type == "health"
                    )
                )
            ).first()
        return row is not None and row.status == "withdrawn"

    await eventually(withdrawal_replicated, what="consent.changed in referral's replica")

    async def blocked():
        got = await system.referral.post("/v1/referrals", json=refer, headers=senco)
        return got if got.status_code == 409 else None

    r = await eventually(blocked, what="referral to learn that consent for health was withdrawn")
    assert r.json()["type"].endswith("consent-required") and r.json()["agency_type"] == "health"
    # another agency type is not affected: the concern's own consent (given) still shares with the LA's services
    r = await system.referral.post(
        "/v1/referrals",
        headers=senco,
        json={"concern_id": c["concern_id"], "service_ids": ["999-educational-psychology"]},
    )
    assert r.status_code == 201, r.text

    override = {
        "agency_type": "health",
        "lawful_basis": "vital_interests",
        "reason": "Swallowing risk: therapist must assess this week",
    }
    path = f"/v1/concerns/{c['concern_id']}/consent-overrides"
    assert (await system.referral.post(path, json=override, headers=senco)).status_code == 403
    assert (await system.referral.post(path, json=override, headers=other_la)).status_code == 404
    r = await system.referral.post(path, json={**override, "reason": "short"}, headers=dsl)
    assert r.status_code == 422 and "body.reason" in r.text
    r = await system.referral.post(path, json=override, headers=dsl)
    assert r.status_code == 201 and r.json()["reviewed_at"] is None
    override_id = r.json()["id"]

    r = await system.referral.post("/v1/referrals", json=refer, headers=senco)
    assert r.status_code == 201, r.text
    assert r.json()["items"][0]["lawful_basis"] == "vital_interests"

    queue = (await system.referral.get("/v1/consent-overrides", params={"reviewed": "false"}, headers=la)).json()
    assert [o["id"] for o in queue["items"]] == [override_id]
    assert (await system.referral.get("/v1/consent-overrides", headers=other_la)).json()["items"] == []
    r = await system.referral.post(f"/v1/consent-overrides/{override_id}/review", json={"note": "Agreed"}, headers=la)
    assert r.status_code == 200 and r.json()["reviewed_by"] == "so-1"
    assert (
        await system.referral.post(f"/v1/consent-overrides/{override_id}/review", json={"note": "again"}, headers=la)
    ).status_code == 409
    assert (await system.referral.get("/v1/consent-overrides", params={"reviewed": "false"}, headers=la)).json()[
        "items"
    ] == []

    # consent given again: sharing with health needs no override for the next concern's referrals either
    r = await system.caseload.put(url, json={"agency_type": "health", "status": "given"}, headers=dsl)
    assert [x["status"] for x in r.json()["history"]] == ["given", "withdrawn"]


async def test_break_glass_opens_a_record_read_only_for_a_while_and_is_flagged_and_logged(system, token):
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=[SCHOOL])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=[SCHOOL])
    social = token("social_worker", "social_care", org_id="council-sc", sub="sw-1", name="Sam Social")
    therapist = token("slt", "health", org_id="nhs-trust-2", sub="slt-2")
    c = await _child(system, senco, 12)
    child = f"/v1/children/{c['child_id']}"
    parent = token("parent", "family", org_id="family-1", sub=c["member_id"], child_ids=[c["child_id"]])

    assert (await system.caseload.get(child, headers=social)).status_code == 404
    found = (await system.caseload.get("/v1/children", params={"upn": c["upn"]}, headers=social)).json()
    assert found == {"items": [], "next_cursor": None, "break_glass_required": [c["child_id"]]}
    found = (await system.caseload.get("/v1/children", params={"upn": c["upn"]}, headers=therapist)).json()
    assert found["items"] == [] and found["break_glass_required"] == []
    assert (
        await system.caseload.post(
            f"{child}/break-glass", json={"reason": "Urgent: the child is missing"}, headers=therapist
        )
    ).status_code == 403
    r = await system.caseload.post(f"{child}/break-glass", json={"reason": "too short"}, headers=social)
    assert r.status_code == 422 and "body.reason" in r.text

    r = await system.caseload.post(
        f"{child}/break-glass",
        headers=social,
        json={"reason": "Strategy meeting tonight: the child is missing from home"},
    )
    assert r.status_code == 201, r.text
    grant = r.json()
    lasts = datetime.fromisoformat(grant["expires_at"]) - datetime.fromisoformat(grant["granted_at"])
    assert lasts == timedelta(hours=4)
    assert (await system.caseload.get(child, headers=social)).status_code == 200
    assert (await system.caseload.get(f"{child}/plan", headers=social)).status_code == 200
    r = await system.caseload.post(
        f"{child}/family",
        headers=social,
        json={
            "name": "Jo",
            "relationship": "carer",
            "parental_responsibility": False,
            "email": "jo@example.org",
            "preferred_channel": "email",
        },
    )
    assert r.status_code == 403 and "read access only" in r.text
    assert (
        await system.caseload.post(f"{child}/break-glass", json={"reason": "Again, the same emergency"}, headers=dsl)
    ).status_code == 409  # the DSL has a relationship already

    queue = (await system.caseload.get("/v1/break-glass", params={"reviewed": "false"}, headers=dsl)).json()
    assert [(g["id"], g["sub"], g["reason"]) for g in queue["items"] if g["kind"] == "grant"] == [
        (grant["id"], "sw-1", "Strategy meeting tonight: the child is missing from home")
    ]

    staff_log = (await system.caseload.get(f"{child}/access-log", headers=senco)).json()["items"]
    glass = [e for e in staff_log if e["break_glass"]]
    assert {e["action"] for e in glass} == {"break_glass", "break_glass_read"}
    assert all(e["actor"] == "sw-1" and "missing from home" in e["reason"] for e in glass)
    family_log = (await system.caseload.get(f"{child}/access-log", headers=parent)).json()["items"]
    assert family_log and all(e["actor"] is None and e["reason"] is None for e in family_log)
    assert any(  # the family sees the kind (or name) of organisation, never its id
        e["break_glass"]
        and e["actor_org"] is None
        and e["actor_org_type"] == "social_care"
        and e["organisation_name"] == "Children's social care"
        for e in family_log
    )
    assert (await system.caseload.get(f"{child}/access-log", headers=social)).status_code == 403

    r = await system.caseload.post(f"/v1/break-glass/{grant['id']}/review", json={"note": "Justified"}, headers=dsl)
    assert r.status_code == 200 and r.json()["reviewed_by"] == "dsl-1"

    from caseload.domain.models import BreakGlass

    async with system.runtime("caseload").db.transaction() as session:  # four hours later
        await session.execute(update(BreakGlass).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await system.caseload.get(child, headers=social)).status_code == 404
    found = (await system.caseload.get("/v1/children", params={"upn": c["upn"]}, headers=social)).json()
    assert found["break_glass_required"] == [c["child_id"]]


async def test_break_glass_is_for_the_childs_own_la_and_roles_that_cross_boundaries_and_each_discovery_is_reviewed(
    system, token
):
    """Issue 12.3: a SEND officer (or a DSL) of another local authority is not told that a child exists, nor may they
    open it; a DSL of another school of the child's LA, and social workers and CAMHS anywhere, may. Every discovery is
    an audit row and waits in the review queue of the child's DSL and LA."""
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=[SCHOOL])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=[SCHOOL])
    la = token("send_officer", "local_authority", org_id="la-999-send", sub="so-1", la_code="999")
    c = await _child(system, senco, 14)  # LA 999
    # a child at each other school makes that school's LA known to caseload
    await _child(system, token("senco", "school", school_urns=["100001"]), 150, school="100001")  # LA 999
    await _child(system, token("senco", "school", school_urns=["200000"]), 160, school="200000")  # LA 998
    callers = {
        "so-8": token("send_officer", "local_authority", org_id="la-998-send", sub="so-8", la_code="998"),
        "dsl-8": token("dsl", "school", org_id="school-200000", sub="dsl-8", school_urns=["200000"]),
        "dsl-2": token("dsl", "school", org_id="school-100001", sub="dsl-2", school_urns=["100001"]),
        "sw-8": token("social_worker", "social_care", org_id="la-998-csc", sub="sw-8"),
        "camhs-9": token("camhs", "health", org_id="nhs-mh-trust-9", sub="camhs-9"),
    }
    may = {"dsl-2", "sw-8", "camhs-9"}
    before = {g["id"] for g in (await system.caseload.get("/v1/break-glass", headers=la)).json()["items"]}
    for sub, headers in callers.items():
        found = (await system.caseload.get("/v1/children", params={"upn": c["upn"]}, headers=headers)).json()
        assert found["items"] == [], sub
        assert found["break_glass_required"] == ([c["child_id"]] if sub in may else []), sub
    async with system.runtime("caseload").db.reader() as session:
        hinted = (
            await session.execute(
                select(audit_log.c.actor).where(
                    audit_log.c.child_id == c["child_id"], audit_log.c.action == "search_break_glass_hint"
                )
            )
        ).scalars()
        assert sorted(hinted) == sorted(may)
    for reviewer in (dsl, la):
        queue = (await system.caseload.get("/v1/break-glass", params={"reviewed": "false"}, headers=reviewer)).json()
        discoveries = [g for g in queue["items"] if g["id"] not in before and g["child_id"] == c["child_id"]]
        assert sorted((g["sub"], g["kind"]) for g in discoveries) == sorted((s, "discovery") for s in may)
        assert all(g["expires_at"] == g["granted_at"] for g in discoveries)  # a discovery opens nothing
    assert (await system.caseload.get(f"/v1/children/{c['child_id']}", headers=callers["dsl-2"])).status_code == 404
    reviewed = await system.caseload.post(
        f"/v1/break-glass/{discoveries[0]['id']}/review", json={"note": "Asked: a new pupil's record"}, headers=la
    )
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == "so-1"
    reason = {"reason": "Child presented at A&E in our area tonight"}
    for sub, headers in callers.items():
        opened = await system.caseload.post(f"/v1/children/{c['child_id']}/break-glass", json=reason, headers=headers)
        assert opened.status_code == (201 if sub in may else 404), (sub, opened.text)


async def test_audit_verify_detects_tampering_with_a_real_service_log(system, token):
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=[SCHOOL])
    c = await _child(system, senco, 13)
    for path in ("", "/plan", "/chronology", "/family"):
        assert (await system.caseload.get(f"/v1/children/{c['child_id']}{path}", headers=senco)).status_code == 200
    url = system.apps["caseload"].state.settings.database_url

    async def verify() -> int:
        return await asyncio.to_thread(tas, ["audit-verify", "--service", "caseload", "--database-url", url])

    assert await verify() == 0
    async with system.runtime("caseload").db.transaction() as session:
        rows = (
            await session.execute(
                select(audit_log.c.seq, audit_log.c.action).where(
                    audit_log.c.child_id == c["child_id"], audit_log.c.actor == "senco-1"
                )
            )
        ).all()
        assert len(rows) >= 4 and {r.action for r in rows} == {"read"}
        await session.execute(update(audit_log).where(audit_log.c.seq == rows[0].seq).values(actor="someone-else"))
    assert await verify() == 1
    async with system.runtime("caseload").db.transaction() as session:  # put it back, then delete a row
        await session.execute(update(audit_log).where(audit_log.c.seq == rows[0].seq).values(actor="senco-1"))
    assert await verify() == 0
    async with system.runtime("caseload").db.transaction() as session:
        await session.execute(audit_log.delete().where(audit_log.c.seq == rows[1].seq))
    assert await verify() == 1
