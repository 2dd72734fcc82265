"""What the family pages read: the team (organisations, roles, the lead, how to contact them and the school), their
own contact details, and who looked at the record in plain words — each for the family, and 404 for the wrong
person."""

from __future__ import annotations

from typing import Any


async def _team_child(system: Any, h: Any, serial: int) -> dict[str, Any]:
    child = await h.child(serial)
    await h.accept(
        child,
        organisation_name="Fictional Community Health NHS Trust",
        service_name="Speech and Language Therapy",
        role="speech and language therapist",
    )
    return child


async def test_the_family_sees_the_team_and_how_to_contact_it_without_ids(system, h, token):
    child = await _team_child(system, h, 901)
    cid, family = child["id"], h.family(child["id"])
    members = (await system.caseload.get(f"/v1/children/{cid}/team", headers=h.senco)).json()["members"]
    slt = next(m for m in members if m["sub"] == "slt-1")
    r = await system.caseload.put(f"/v1/children/{cid}/team/lead", json={"member_id": slt["id"]}, headers=h.senco)
    assert r.status_code == 200
    team = (await system.caseload.get(f"/v1/children/{cid}/team", headers=family)).json()
    (member,) = team["members"]
    assert (member["sub"], member["org_id"], member["referral_ids"]) == (None, None, [])
    assert member["organisation_name"] == "Fictional Community Health NHS Trust"
    assert (member["service_name"], member["contact_email"]) == (
        "Speech and Language Therapy",
        "team.inbox@example.org",
    )
    assert member["role"] == "speech and language therapist" and team["lead"]["id"] == member["id"]
    assert member["shared_phone"] is None  # no personal number unless the practitioner shares one
    assert team["school"] == {
        "urn": "100000",
        "name": "School 100000",
        "phone": "01632 960000",
        "email": "office.100000@example.org",
    }
    assert team["former_members"] == []
    # the practitioner chooses to share a work number; nobody else may choose it for them
    url = f"/v1/children/{cid}/team/{member['id']}/contact"
    assert (await system.caseload.put(url, json={"shared_phone": "01632 960123"}, headers=h.senco)).status_code == 403
    assert (await system.caseload.put(url, json={"shared_phone": "01632 960123"}, headers=family)).status_code == 403
    assert (await system.caseload.put(url, json={"shared_phone": "not a phone"}, headers=h.slt)).status_code == 422
    r = await system.caseload.put(url, json={"shared_phone": "01632 960123"}, headers=h.slt)
    assert r.status_code == 200, r.text
    team = (await system.caseload.get(f"/v1/children/{cid}/team", headers=family)).json()
    assert team["members"][0]["shared_phone"] == "01632 960123"
    # the wrong person
    other = await h.child(902)
    forged = token("parent", "family", org_id="family", sub=h.family_members[other["id"]], child_ids=[cid])
    for caller in (h.family(other["id"]), forged, h.outsider):
        assert (await system.caseload.get(f"/v1/children/{cid}/team", headers=caller)).status_code == 404


async def test_the_family_sees_its_own_contact_details_and_changes_only_its_own(system, h):
    child = await h.child(903)
    cid, family = child["id"], h.family(child["id"])
    kit = await h.second_parent(cid)
    assert len((await system.caseload.get(f"/v1/children/{cid}/family", headers=h.senco)).json()["items"]) == 2
    mine = (await system.caseload.get(f"/v1/children/{cid}/family", headers=family)).json()["items"]
    assert [m["id"] for m in mine] == [h.family_members[cid]]  # not the other parent's mobile and email
    r = await system.caseload.patch(f"/v1/children/{cid}/family/{kit}", json={"name": "Someone"}, headers=family)
    assert r.status_code == 404


async def test_who_looked_in_plain_words_organisations_by_name_never_people_ids_or_reasons(system, h):
    child = await _team_child(system, h, 904)
    cid, family = child["id"], h.family(child["id"])
    await system.caseload.get(f"/v1/children/{cid}/plan", headers=h.slt)
    await system.caseload.get(f"/v1/children/{cid}", headers=family)
    log = (await system.caseload.get(f"/v1/children/{cid}/access-log", headers=family)).json()["items"]
    therapist = next(e for e in log if e["resource_type"] == "plan" and e["actor_org_type"] == "health")
    assert therapist["organisation_name"] == "Fictional Community Health NHS Trust"
    assert therapist["role"] == "Speech and language therapist" and therapist["summary"] == "Looked at the plan"
    assert (therapist["actor"], therapist["actor_org"], therapist["reason"]) == (None, None, None)
    own = next(e for e in log if e["actor_org_type"] == "family" and e["resource_type"] == "child")
    assert own["organisation_name"] == "You"
    school = next(e for e in log if e["actor_org_type"] == "school")
    assert school["organisation_name"] == "School 100000" and school["role"] == "School staff"
    assert all(e["organisation_name"] and e["summary"] for e in log)
    # practitioners still see who and why
    staff = (await system.caseload.get(f"/v1/children/{cid}/access-log", headers=h.senco)).json()["items"]
    assert any(e["actor"] == "slt-1" and e["actor_org"] == "nhs-trust-1" for e in staff)
