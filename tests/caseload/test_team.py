"""The team around the child: joining from referral's events, leaving when the referral closes, by hand, the
lead professional, and access following membership."""

from __future__ import annotations

import uuid

from caseload.events.handlers import on_referral_accepted
from tas_common.events.schemas import ReferralCompletedV1, ReferralDeclinedV1, ReferralSubmittedV1, ReferralWithdrawnV1


async def test_accepted_referral_puts_the_practitioner_on_the_team_and_they_can_see_the_child(system, h):
    child = await h.child(1)
    url = f"/v1/children/{child['id']}"
    assert (await system.caseload.get(url, headers=h.slt)).status_code == 404  # not yet on the team
    referral_id = str(uuid.uuid4())
    await h.accept(child, referral_id=referral_id)
    assert (await system.caseload.get(url, headers=h.slt)).status_code == 200
    team = (await system.caseload.get(f"{url}/team", headers=h.senco)).json()
    assert [(m["sub"], m["org_id"], m["referral_id"]) for m in team["members"]] == [
        ("slt-1", "nhs-trust-1", referral_id)
    ]
    # another practitioner of the same trust, and the same sub in another organisation, are still outsiders
    assert (await system.caseload.get(url, headers=h.ot)).status_code == 404
    other_org = h.token("slt", "health", org_id="nhs-trust-2", sub="slt-1")
    assert (await system.caseload.get(url, headers=other_org)).status_code == 404
    added = await h.events("tas.caseload.team.member_added")
    assert [(e["member_sub"], e["referral_id"]) for e in added] == [("slt-1", referral_id)]
    kinds = [e["kind"] for e in (await system.caseload.get(f"{url}/chronology", headers=h.senco)).json()["items"]]
    assert "referral_accepted" in kinds and "team_member_added" in kinds


async def test_a_redelivered_event_and_the_same_fact_under_a_new_id_change_nothing(system, h):
    child = await h.child(2)
    referral_id = str(uuid.uuid4())
    first = await h.accept(child, referral_id=referral_id)
    runner = system.runtime("caseload").runners[0]
    assert (
        await runner._process(first, first.payload(), on_referral_accepted) is True
    )  # the processed-events table says: seen
    again = await h.accept(child, referral_id=referral_id)  # same fact, another event id
    assert again.id != first.id
    team = (await system.caseload.get(f"/v1/children/{child['id']}/team", headers=h.senco)).json()
    assert len(team["members"]) == 1 and team["members"][0]["referral_ids"] == [referral_id]
    assert len(await h.events("tas.caseload.team.member_added")) == 1
    chronology = (
        await system.caseload.get(
            f"/v1/children/{child['id']}/chronology",
            params={"kind": ["referral_accepted", "team_member_added"]},
            headers=h.senco,
        )
    ).json()["items"]
    assert sorted(e["kind"] for e in chronology) == ["referral_accepted", "team_member_added"]


async def test_completed_referral_ends_membership_and_access_but_another_open_referral_keeps_it(system, h):
    child = await h.child(3)
    url = f"/v1/children/{child['id']}"
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    await h.accept(child, referral_id=r1)
    await h.accept(child, referral_id=r2, with_child_id=False)  # found through the concern
    base = dict(concern_id=child["concern_id"], child_id=child["id"], service_id="svc-slt", school_urn="100000")
    await h.processed((await h.publish_referral(ReferralCompletedV1(referral_id=r1, outcome="goals met", **base))).id)
    assert (await system.caseload.get(url, headers=h.slt)).status_code == 200  # r2 still open
    await h.processed((await h.publish_referral(ReferralWithdrawnV1(referral_id=r2, reason="family moved", **base))).id)
    assert (await system.caseload.get(url, headers=h.slt)).status_code == 404
    assert (await system.caseload.get(f"{url}/plan", headers=h.slt)).status_code == 404
    team = (await system.caseload.get(f"{url}/team", headers=h.senco)).json()
    assert team["members"] == [] and [m["sub"] for m in team["former_members"]] == ["slt-1"]
    removed = await h.events("tas.caseload.team.member_removed")
    assert [e["member_sub"] for e in removed] == ["slt-1"]


async def test_submitted_declined_and_redirected_reach_the_chronology_once(system, h):
    child = await h.child(4)
    rid = str(uuid.uuid4())
    base = dict(
        referral_id=rid, concern_id=child["concern_id"], child_id=child["id"], service_id="svc-ot", school_urn="100000"
    )
    for payload in (
        ReferralSubmittedV1(service_org_id="nhs-trust-1", service_org_type="health", **base),
        ReferralDeclinedV1(reason="not meeting threshold", **base),
        ReferralDeclinedV1(reason="not meeting threshold", **base),
    ):
        await h.processed((await h.publish_referral(payload)).id)
    items = (await system.caseload.get(f"/v1/children/{child['id']}/chronology", headers=h.senco)).json()["items"]
    assert [e["kind"] for e in items if e["ref_id"] == rid] == ["referral_declined", "referral_submitted"]


async def test_senco_manages_the_team_by_hand_and_names_one_lead(system, h):
    child = await h.child(5)
    url = f"/v1/children/{child['id']}/team"
    member = {
        "sub": "sw-1",
        "name": "Sam Social",
        "org_id": "council-sc",
        "org_type": "social_care",
        "role": "social worker",
    }
    assert (await system.caseload.post(url, json=member, headers=h.dsl)).status_code == 403  # not the SENCO
    assert (await system.caseload.post(url, json=member, headers=h.outsider)).status_code == 404
    assert (await system.caseload.post(url, json={**member, "extra": 1}, headers=h.senco)).status_code == 422
    r = await system.caseload.post(url, json=member, headers=h.senco)
    assert r.status_code == 201, r.text
    sw_id = r.json()["id"]
    assert (await system.caseload.post(url, json=member, headers=h.senco)).status_code == 409
    assert (await system.caseload.get(f"/v1/children/{child['id']}", headers=h.social)).status_code == 200
    await h.accept(child)
    team = (await system.caseload.get(url, headers=h.senco)).json()
    slt_id = next(m["id"] for m in team["members"] if m["sub"] == "slt-1")
    assert (await system.caseload.put(f"{url}/lead", json={"member_id": sw_id}, headers=h.senco)).json()["lead"][
        "id"
    ] == sw_id
    team = (await system.caseload.put(f"{url}/lead", json={"member_id": slt_id}, headers=h.senco)).json()
    assert team["lead"]["id"] == slt_id and [m["lead"] for m in team["members"]].count(True) == 1
    assert (await system.caseload.put(f"{url}/lead", json={"member_id": slt_id}, headers=h.slt)).status_code == 403
    assert (await system.caseload.delete(f"{url}/{sw_id}", headers=h.slt)).status_code == 403
    assert (await system.caseload.delete(f"{url}/{sw_id}", headers=h.senco)).status_code == 204
    assert (await system.caseload.get(f"/v1/children/{child['id']}", headers=h.social)).status_code == 404
    assert (await system.caseload.delete(f"{url}/{sw_id}", headers=h.senco)).status_code == 404
    family_view = await system.caseload.get(url, headers=h.family(child["id"]))  # the family's view: no ids
    assert family_view.status_code == 200
    assert all(m["sub"] is None and m["org_id"] is None for m in family_view.json()["members"])
