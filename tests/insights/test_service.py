"""Insights in the running system: referral's and caseload's real events reach it through the stream, its answer
says what happened and never a small number, each read is audited, a CSV is the same table, and the wrong person
gets 403 (or 404 for a school it does not know). Referral's own API says which referral is over target."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tas_common import clock
from tas_common.tables import audit_log
from tas_dev.testing import concern_body

from ..conftest import eventually

pytestmark = pytest.mark.insights

SENCO = {"role": "senco", "org_type": "school", "org_id": "school-100000", "school_urns": ["100000"]}
SLT = {"role": "slt", "org_type": "health", "org_id": "nhs-trust-1", "sub": "slt-1", "name": "Sam Therapist"}
LA = {"role": "send_officer", "org_type": "local_authority", "org_id": "la-999", "sub": "so-1", "la_code": "999"}


async def _referral_waited(system, senco, slt, serial: int, submitted: datetime, contact_days: int | None) -> str:
    with clock.at(submitted):
        concern = (await system.referral.post("/v1/concerns", json=concern_body(serial), headers=senco)).json()
        made = await system.referral.post(
            "/v1/referrals", json={"concern_id": concern["id"], "service_ids": ["999-salt"]}, headers=senco
        )
        referral = made.json()["items"][0]["id"]
    if contact_days is not None:
        with clock.at(submitted + timedelta(days=contact_days)):
            r = await system.referral.post(f"/v1/referrals/{referral}/accept", headers=slt)
            assert r.status_code == 200, r.text
            r = await system.referral.post(f"/v1/referrals/{referral}/first-contact", json={}, headers=slt)
            assert r.status_code == 200, r.text
    return referral


@pytest.mark.settings(insights={"alert_interval_seconds": 0.2})
async def test_waiting_from_the_real_stream(system, token):
    senco, slt, la = token(**SENCO), token(**SLT), token(**LA)
    now = datetime.now(UTC)
    start = now - timedelta(days=300)
    waits = [10, 20, 40, 60, 200]  # the last is over SALT's 126-day target
    for n, wait in enumerate(waits):
        await _referral_waited(system, senco, slt, 9100 + n, start, wait)
    late = await _referral_waited(system, senco, slt, 9200, now - timedelta(days=130), None)

    listed = (await system.referral.get(f"/v1/referrals/{late}", headers=senco)).json()
    assert (listed["days_waiting"], listed["target_wait_days"], listed["breached"]) == (130, 126, True)

    async def measured():
        r = await system.insights.get("/v1/insights/waiting", params={"service_id": "999-salt"}, headers=slt)
        if r.status_code != 200:
            return None
        summary = {row["measure"]: row for row in r.json()["tables"][0]["rows"]}
        waiting_now = next(t for t in r.json()["tables"] if t["name"] == "waiting_now")["rows"][-1]["waiting"]
        return r.json() if summary["Referral to first contact"]["referrals"] == 5 and waiting_now != 0 else None

    answer = await eventually(measured, timeout=20, what="insights to measure the five waits")

    from insights.domain.models import Alert

    async def alerted():
        async with system.runtime("insights").db.reader() as session:
            return sorted((a.kind, a.ref_id, a.recipient) for a in (await session.execute(select(Alert))).scalars())

    # the referral past SALT's target: raised to the service's team and the school's SENCO (the others were waiting
    # too, from insights' view, while this test wrote their past one step at a time: a sweep may have caught them)
    expected = {("referral_over_target", late, "school:100000"), ("referral_over_target", late, "service:999-salt")}

    async def raised():
        return expected <= set(await alerted())

    await eventually(raised, what="the alert sweep")
    contact = answer["tables"][0]["rows"][1]
    assert contact["median_days"] == 40.0 and contact["over_target"] == "fewer than 5"
    now_table = next(t for t in answer["tables"] if t["name"] == "waiting_now")
    assert now_table["rows"][-1] == {"band": "All", "waiting": "fewer than 5", "over_target": "fewer than 5"}

    csv_answer = await system.insights.get(
        "/v1/insights/waiting",
        params={"service_id": "999-salt", "table": "summary"},
        headers={**slt, "Accept": "text/csv"},
    )
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert rows[1]["referrals"] == "5" and rows[1]["over_target"] == "fewer than 5"
    assert "attachment" in csv_answer.headers["content-disposition"]

    school = await system.insights.get("/v1/insights/waiting", params={"school_urn": "100000"}, headers=la)
    assert school.status_code == 200
    async with system.runtime("insights").db.reader() as session:
        audited = (await session.execute(select(audit_log).where(audit_log.c.actor == "so-1"))).all()
    assert [(a.action, a.resource_type, a.resource_id) for a in audited] == [
        ("read", "insights_waiting", "school:100000")
    ]


async def test_the_wrong_people_are_refused(system, token):
    async def ask(claims, **params):
        return (await system.insights.get("/v1/insights/waiting", params=params, headers=token(**claims))).status_code

    other_la = {**LA, "sub": "so-8", "org_id": "la-998", "la_code": "998"}
    teacher = {**SENCO, "role": "teacher", "sub": "teacher-1"}
    ot = {**SLT, "role": "ot", "sub": "ot-1"}
    parent = {"role": "parent", "org_type": "family", "org_id": "family-1", "sub": "m-1", "child_ids": ["c-1"]}
    mis = {"role": "mis_client", "org_type": "mis", "org_id": "mis-1", "school_urns": ["100000"]}
    manager = {"role": "service_manager", "org_type": "health", "org_id": "nhs-trust-1", "sub": "manager-1"}

    async def known():
        return await ask(LA, school_urn="100000") == 200 and await ask(LA, service_id="999-salt") == 200

    await eventually(known, timeout=20, what="insights to know the school register")
    assert await ask(other_la, la_code="999") == 403
    assert await ask(other_la, school_urn="100000") == 403
    assert await ask(teacher, school_urn="100000") == 403
    assert await ask(ot, service_id="999-salt") == 403
    assert await ask(manager, service_id="999-salt") == 200
    assert await ask(parent, school_urn="100000") == 403
    assert await ask(mis, school_urn="100000") == 403
    assert await ask(LA, school_urn="123456") == 404
    assert await ask(LA, la_code="999", school_urn="100000") == 422
    assert await ask(LA, la_code="999", period="2025-13") == 422
    assert (await system.insights.get("/v1/insights/waiting", params={"la_code": "999"})).status_code == 401


async def test_caseload_facts_reach_the_tallies(system, token):
    """An EHC request's milestones and the progress at a review, recorded through caseload's API, become insights'
    facts through the stream (the answers' arithmetic is tests/insights/test_answers.py's)."""
    from insights.domain.models import EhcRequest, OutcomeObservation, Tally

    senco, la = token(**SENCO), token(**LA)
    concern = (await system.referral.post("/v1/concerns", json=concern_body(9300), headers=senco)).json()

    async def linked():
        return (await system.referral.get(f"/v1/concerns/{concern['id']}", headers=senco)).json().get("child_id")

    child = await eventually(linked, what="the child")
    requested = datetime.now(UTC).date() - timedelta(days=200)
    made = await system.caseload.post(
        f"/v1/children/{child}/ehc-requests", json={"requested_on": requested.isoformat()}, headers=la
    )
    assert made.status_code == 201, made.text
    milestones = {
        "decision": "assess",
        "decision_on": (requested + timedelta(days=50)).isoformat(),
        "decision_exception": "absent_from_area",
        "draft_issued_on": (requested + timedelta(days=150)).isoformat(),
        "final_issued_on": (requested + timedelta(days=170)).isoformat(),
    }
    patched = await system.caseload.patch(
        f"/v1/children/{child}/ehc-requests/{made.json()['id']}", json=milestones, headers=la
    )
    assert patched.status_code == 200 and patched.json()["decision_exception"] == "absent_from_area", patched.text
    plan = await system.caseload.get(f"/v1/children/{child}/plan", headers=senco)
    outcome = {"area": "cognition_and_learning", "description": "Reads a short text", "measure": "Reads it aloud"}
    put = await system.caseload.put(
        f"/v1/children/{child}/plan", json={"outcomes": [outcome]}, headers={**senco, "If-Match": plan.headers["ETag"]}
    )
    outcome_id = put.json()["sections"]["outcomes"][0]["id"]
    review = await system.caseload.post(
        f"/v1/children/{child}/reviews",
        json={"scheduled_for": "2026-01-10T10:00:00Z", "place": "School", "attendees": [{"name": "Sam Senco"}]},
        headers=senco,
    )
    progress = await system.caseload.post(
        f"/v1/children/{child}/reviews/{review.json()['id']}/progress",
        json={"progress": [{"outcome_id": outcome_id, "achievement_status": "improving", "note": "Never stored"}]},
        headers=senco,
    )
    assert progress.status_code == 200, progress.text

    async def facts():
        async with system.runtime("insights").db.reader() as session:
            request = (await session.execute(select(EhcRequest))).scalars().first()
            seen = (await session.execute(select(OutcomeObservation))).scalars().all()
            return (request, seen) if request is not None and request.final_issued_on and seen else None

    request, observed = await eventually(facts, timeout=20, what="insights to hold the EHC request and the review")
    assert (request.decision_exception, request.school_urn, request.version) == ("absent_from_area", "100000", 2)
    assert [(o.outcome_id, o.area, o.status, o.cycle) for o in observed] == [
        (outcome_id, "cognition_and_learning", "improving", 1)
    ]
    async with system.runtime("insights").db.reader() as session:
        plans = (
            (await session.execute(select(Tally).where(Tally.metric == "ehc_plans", Tally.scope == "la")))
            .scalars()
            .all()
        )
    assert [(t.k1, t.k2, t.n) for t in plans] == [("170", "", 1)]
    body = concern_body(9300)
    identity = [body["child"]["upn"], body["child"]["given_name"], body["child"]["family_name"]]
    identity += [c["email"] for c in body["family_contacts"]] + [c["name"] for c in body["family_contacts"]]
    identity += ["Never stored", body["summary"], outcome["description"]]
    from insights.domain.models import metadata

    async with system.runtime("insights").db.reader() as session:
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                text = " ".join(str(v) for v in row)
                assert not [s for s in identity if s in text], f"{table.name} holds personal data or free text"

    # `tas insights rebuild` replays the real stream into the same database: the same figures
    from tas_common.cli.insights import rebuild

    await system.settled()
    settings = system.runtime("insights").settings

    async def tallies():
        async with system.runtime("insights").db.reader() as session:
            return sorted(
                (t.metric, t.scope, t.scope_id, t.month, t.k1, t.k2, t.n)
                for t in (await session.execute(select(Tally))).scalars()
            )

    before = await tallies()
    rebuilt = await rebuild(settings.database_url, settings.nats_url, settings.stream_name)
    assert rebuilt.events >= 5 and await tallies() == before and before
