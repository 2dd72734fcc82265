"""Waiting times on known data: clocks are backdated in the database, then the figures are checked by hand.

Target 28 days (submission to first contact). Days ago: submitted / decided / first contact:
  r1 40 / 38 accepted / 30  → decision 2, contact 10
  r2 40 / 36 accepted / 10  → decision 4, contact 30 (breach)
  r3 20 / 14 declined / -   → decision 6, closed
  r4 35 / -  submitted / -  → open, awaiting decision, 35 days (open breach)
  r5  5 /  3 accepted / -   → decision 2, open, awaiting first contact
to decision [2, 2, 4, 6]: median 3, p90 5.4; to first contact [10, 30]: median 20, p90 28.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import update

from referral.domain.models import Referral
from tas_common.db import utcnow
from tas_dev.testing import bearer

from .test_offer import NEW

pytestmark = pytest.mark.asyncio(loop_scope="module")

PLAN = [
    (40, 38, 30, "accept"),
    (40, 36, 10, "accept"),
    (20, 14, None, "decline"),
    (35, None, None, None),
    (5, 3, None, "accept"),
]


async def _setup(env) -> dict:
    c, admin = env.client, env.headers("offer_admin")
    service = (
        await c.post(
            "/v1/services",
            json={
                **NEW,
                "name": "Waiting Test Service",
                "target_wait_days": 28,
                "organisation_id": "vol-waiting",
                "practitioner_roles": ["counsellor"],
            },
            headers=admin,
        )
    ).json()
    senco = bearer(
        env.issuer, roles=["senco"], org_type="school", sub="senco-3", org_id="school-100003", school_urns=["100003"]
    )
    practitioner = bearer(env.issuer, roles=["counsellor"], org_type="health", sub="p-1", org_id="vol-waiting")
    from tas_dev.testing import concern_body

    now = utcnow()
    db = env.app.state.runtime.db
    for serial, (submitted, decided, contact, move) in enumerate(PLAN, start=700):
        concern = (await c.post("/v1/concerns", json=concern_body(serial, school_urn="100003"), headers=senco)).json()
        referral = (
            await c.post(
                "/v1/referrals", json={"concern_id": concern["id"], "service_ids": [service["id"]]}, headers=senco
            )
        ).json()["items"][0]
        if move:
            body = {"reason": "Not for us"} if move == "decline" else None
            assert (
                await c.post(f"/v1/referrals/{referral['id']}/{move}", json=body, headers=practitioner)
            ).status_code == 200
        async with db.transaction() as session:
            await session.execute(
                update(Referral)
                .where(Referral.id == referral["id"])
                .values(
                    submitted_at=now - timedelta(days=submitted),
                    decided_at=now - timedelta(days=decided) if decided is not None else None,
                    first_contact_at=now - timedelta(days=contact) if contact is not None else None,
                )
            )
    return {"service": service, "senco": senco}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def known(referral_only):
    return await _setup(referral_only)


def _check(figures: dict) -> None:
    assert figures["referrals"] == 5
    assert figures["to_decision"] == {"count": 4, "median_days": 3.0, "p90_days": 5.4}
    assert figures["to_first_contact"] == {"count": 2, "median_days": 20.0, "p90_days": 28.0}
    assert (figures["open_count"], figures["awaiting_decision"], figures["awaiting_first_contact"]) == (2, 1, 1)
    assert (figures["breaches"], figures["open_breaches"]) == (2, 1)


async def test_service_waiting_times(referral_only, known):
    response = await referral_only.client.get(
        f"/v1/services/{known['service']['id']}/waiting", headers=referral_only.headers("salt")
    )
    assert response.status_code == 200
    figures = response.json()
    assert figures["scope"] == "service" and figures["target_wait_days"] == 28
    _check(figures)


async def test_school_waiting_times_for_its_staff_and_la(referral_only, known):
    response = await referral_only.client.get("/v1/schools/100003/waiting", headers=known["senco"])
    assert response.status_code == 200
    figures = response.json()
    assert figures["scope"] == "school" and figures["name"] == "Castle Hill Primary School"
    _check(figures)
    la = await referral_only.client.get("/v1/schools/100003/waiting", headers=referral_only.headers("la_officer"))
    assert la.json() == {**figures, "as_of": la.json()["as_of"]}
    other_school = await referral_only.client.get("/v1/schools/100003/waiting", headers=referral_only.headers("senco"))
    assert other_school.status_code == 404
    assert (await referral_only.client.get("/v1/schools/999999/waiting", headers=known["senco"])).status_code == 404


async def test_a_window_on_submission(referral_only, known):
    since = (utcnow() - timedelta(days=25)).isoformat()
    figures = (
        await referral_only.client.get(
            f"/v1/services/{known['service']['id']}/waiting", params={"since": since}, headers=known["senco"]
        )
    ).json()
    assert figures["referrals"] == 2  # r3 and r5
    assert figures["to_decision"] == {"count": 2, "median_days": 4.0, "p90_days": 5.6}


async def test_the_referral_shows_its_own_clocks(referral_only, known):
    listed = (
        await referral_only.client.get(
            "/v1/referrals", params={"service_id": known["service"]["id"]}, headers=known["senco"]
        )
    ).json()["items"]
    contacted = sorted(r["days_to_first_contact"] for r in listed if r["days_to_first_contact"] is not None)
    assert contacted == [10.0, 30.0]


async def test_first_contact_cannot_precede_the_referral_or_be_in_the_future(referral_only, known):
    listed = (
        await referral_only.client.get(
            "/v1/referrals", params={"service_id": known["service"]["id"], "status": "accepted"}, headers=known["senco"]
        )
    ).json()["items"]
    waiting = next(r for r in listed if r["first_contact_at"] is None)
    practitioner = bearer(
        referral_only.issuer, roles=["counsellor"], org_type="health", sub="p-1", org_id="vol-waiting"
    )
    path = f"/v1/referrals/{waiting['id']}/first-contact"
    for when in (utcnow() - timedelta(days=30), utcnow() + timedelta(days=2)):
        response = await referral_only.client.post(path, json={"contacted_at": when.isoformat()}, headers=practitioner)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.contacted_at"
    ok = await referral_only.client.post(
        path, json={"contacted_at": (utcnow() - timedelta(days=1)).isoformat()}, headers=practitioner
    )
    assert ok.status_code == 200 and ok.json()["days_to_first_contact"] == pytest.approx(4.0, abs=0.01)
