"""The child's record: family contacts, possible duplicates and merging, the chronology, EHC requests."""

from __future__ import annotations

import uuid

from tas_common.events.schemas import NotificationDeliveredV1, NotificationFailedV1


async def test_family_members_are_kept_with_normalised_mobiles_and_each_change_is_an_event(system, h):
    child = await h.child(21)
    url = f"/v1/children/{child['id']}/family"
    before = len(await h.events("tas.caseload.family.contact_changed"))
    new = {
        "name": "Jo Bevan",
        "relationship": "carer",
        "parental_responsibility": False,
        "mobile": "+44 7700 900321",
        "preferred_channel": "sms",
        "language": "cy",
    }
    assert (await system.caseload.post(url, json=new, headers=h.outsider)).status_code == 404
    assert (await system.caseload.post(url, json=new, headers=h.family(child["id"]))).status_code == 403
    bad = await system.caseload.post(url, json={**new, "mobile": "01632 960000", "email": "nope"}, headers=h.senco)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"body.mobile", "body.email"}
    r = await system.caseload.post(url, json=new, headers=h.senco)
    assert r.status_code == 201, r.text
    member = r.json()
    assert member["mobile"] == "+447700900321"
    # preferences and opting out are the family member's own, changed in notify (which owns them): not here
    r = await system.caseload.patch(
        f"{url}/{member['id']}", json={"opted_out": True, "language": "en"}, headers=h.family(child["id"])
    )
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"body"}  # unknown fields
    r = await system.caseload.patch(
        f"{url}/{member['id']}", json={"mobile": "07700 900322"}, headers=h.family(child["id"])
    )
    assert r.status_code == 404  # another parent's details are not this parent's to change
    own = h.family_members[child["id"]]
    r = await system.caseload.patch(f"{url}/{own}", json={"mobile": "07700 900333"}, headers=h.family(child["id"]))
    assert r.status_code == 200 and r.json()["mobile"] == "+447700900333"
    r = await system.caseload.patch(f"{url}/{member['id']}", json={"mobile": "07700 900322"}, headers=h.senco)
    assert r.status_code == 200 and r.json()["mobile"] == "+447700900322"
    r = await system.caseload.patch(f"{url}/{member['id']}", json={"mobile": None}, headers=h.senco)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.mobile"  # sms needs a mobile
    events = (await h.events("tas.caseload.family.contact_changed"))[before:]
    assert [
        (e["contact_id"], e["language"], e["opted_out"], e["mobile"]) for e in events if e["contact_id"] == member["id"]
    ] == [
        (member["id"], "cy", False, "+447700900321"),
        (member["id"], "cy", False, "+447700900322"),
    ]
    assert [e["mobile"] for e in events if e["contact_id"] == own] == ["+447700900333"]
    listed = (await system.caseload.get(url, headers=h.la)).json()["items"]
    assert member["id"] in {m["id"] for m in listed}


async def test_possible_duplicate_is_flagged_then_merged_keeping_history(system, h):
    first = await h.child(22)
    identity = first["body"]["child"]
    from tas_dev.testing import fictional_nhs_number, fictional_upn

    second = await h.child(23, child={**identity, "upn": fictional_upn(523), "nhs_number": fictional_nhs_number(523)})
    assert second["id"] != first["id"] and second["possible_duplicate_of"] == first["id"]
    pairs = (await system.caseload.get("/v1/children/possible-duplicates", headers=h.senco)).json()["items"]
    assert [(p["child"]["id"], p["possible_duplicate_of"]["id"]) for p in pairs] == [(second["id"], first["id"])]
    assert (await system.caseload.get("/v1/children/possible-duplicates", headers=h.slt)).status_code == 403
    await h.accept(second)
    _, etag = await h.plan(second["id"], h.slt)
    await h.put_plan(second["id"], h.slt, etag, needs=[{"area": "sensory_and_physical", "description": "Hearing"}])
    await system.settled()  # the family messages' delivered facts are on the timeline before the merge, not after it
    merge = f"/v1/children/{first['id']}/merge"
    assert (await system.caseload.post(merge, json={"duplicate_id": second["id"]}, headers=h.dsl)).status_code == 403
    assert (
        await system.caseload.post(merge, json={"duplicate_id": second["id"]}, headers=h.outsider)
    ).status_code == 404
    r = await system.caseload.post(merge, json={"duplicate_id": second["id"]}, headers=h.la)
    assert r.status_code == 200, r.text
    gone = await system.caseload.get(f"/v1/children/{second['id']}", headers=h.senco)
    assert gone.status_code == 410 and gone.json()["merged_into"] == first["id"]
    assert (await system.caseload.get(f"/v1/children/{second['id']}", headers=h.outsider)).status_code == 404
    # team, plan and chronology moved to the survivor
    assert (await system.caseload.get(f"/v1/children/{first['id']}", headers=h.slt)).status_code == 200
    plan, _ = await h.plan(first["id"], h.senco)
    assert [n["description"] for n in plan["sections"]["needs"]] == ["Hearing"]
    kinds = [
        e["kind"]
        for e in (await system.caseload.get(f"/v1/children/{first['id']}/chronology", headers=h.senco)).json()["items"]
    ]
    assert kinds[0] == "child_merged" and kinds.count("concern_raised") == 2 and "referral_accepted" in kinds
    assert (await system.caseload.get("/v1/children/possible-duplicates", headers=h.la)).json()["items"] == []
    assert (await system.caseload.post(merge, json={"duplicate_id": first["id"]}, headers=h.la)).status_code == 422


async def test_chronology_is_paged_filtered_and_sensitivity_is_enforced(system, h):
    child = await h.child(24, safeguarding=True)
    cid = child["id"]
    await h.accept(child)
    for n in range(3):
        payload = (NotificationDeliveredV1 if n < 2 else NotificationFailedV1)(
            notification_id=str(uuid.uuid4()),
            child_id=cid,
            channel="sms",
            template="plan_published",
            status="delivered" if n < 2 else "failed",
        )
        await h.processed((await h.publish_referral(payload)).id)
    url = f"/v1/children/{cid}/chronology"
    dsl_items = (await system.caseload.get(url, headers=h.dsl)).json()["items"]
    assert "concern_raised" in [e["kind"] for e in dsl_items]  # a safeguarding concern: restricted
    slt_kinds = [e["kind"] for e in (await system.caseload.get(url, headers=h.slt)).json()["items"]]
    assert "concern_raised" not in slt_kinds and "notification_failed" in slt_kinds
    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await system.caseload.get(url, params=params, headers=h.dsl)).json()
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    flat = [e["id"] for p in pages for e in p]
    assert flat == [e["id"] for e in dsl_items] and len(pages) == (len(flat) + 1) // 2
    assert [e["at"] for e in dsl_items] == sorted((e["at"] for e in dsl_items), reverse=True)
    only = (await system.caseload.get(url, params={"kind": "notification_delivered"}, headers=h.dsl)).json()
    # the two delivered above, plus the real team-inbox email notify sent for the submitted referral
    kinds = [e["kind"] for e in only["items"]]
    assert set(kinds) == {"notification_delivered"} and len(kinds) >= 2
    assert (await system.caseload.get(url, params={"from": "2100-01-01"}, headers=h.dsl)).json()["items"] == []
    assert (await system.caseload.get(url, params={"cursor": "!!"}, headers=h.dsl)).status_code == 422
    assert (await system.caseload.get(url, headers=h.outsider)).status_code == 404
    # a safeguarding concern restricts family contact: the family's token does not open the record until the
    # DSL lifts the restriction
    assert (await system.caseload.get(url, headers=h.family(cid))).status_code == 404
    lift = {"restricted": False, "reason": "Strategy meeting agreed the family can be told"}
    r = await system.caseload.put(f"/v1/children/{cid}/family-contact-restriction", json=lift, headers=h.dsl)
    assert r.status_code == 200, r.text
    r = await system.caseload.get(url, headers=h.family(cid))
    assert r.status_code == 200 and all(e["sensitivity"] == "family" for e in r.json()["items"])


async def test_ehc_request_clock_and_the_la_list(system, h):
    child = await h.child(25)
    url = f"/v1/children/{child['id']}/ehc-requests"
    assert (await system.caseload.post(url, json={"requested_on": "2026-10-01"}, headers=h.slt)).status_code == 404
    await h.accept(child)
    assert (await system.caseload.post(url, json={"requested_on": "2026-10-01"}, headers=h.slt)).status_code == 403
    r = await system.caseload.post(url, json={"requested_on": "2026-10-01"}, headers=h.senco)
    assert r.status_code == 201, r.text
    clock = r.json()
    due = {m["name"]: m["due"] for m in clock["milestones"]}
    assert due["decision_to_assess"] == "2026-11-12" and due["final_plan"] == "2027-02-18"
    rid = clock["id"]
    assert (
        await system.caseload.patch(f"{url}/{rid}", json={"decision": "assess"}, headers=h.senco)
    ).status_code == 403
    r = await system.caseload.patch(
        f"{url}/{rid}",
        headers=h.la,
        json={"decision": "assess", "decision_on": "2026-11-10", "advice_requested_on": "2026-11-11"},
    )
    assert r.status_code == 200, r.text
    assert {m["name"]: m["status"] for m in r.json()["milestones"]}["decision_to_assess"] == "done"
    listed = await system.caseload.get(
        "/v1/ehc-clocks", params={"due_within_days": 14, "as_of": "2026-12-20"}, headers=h.la
    )
    assert [c["id"] for c in listed.json()["items"]] == [rid]  # advice due 23 December
    quiet = await system.caseload.get(
        "/v1/ehc-clocks", params={"due_within_days": 14, "as_of": "2026-11-12"}, headers=h.la
    )
    assert quiet.json()["items"] == []
    late = await system.caseload.get(
        "/v1/ehc-clocks", params={"due_within_days": 0, "as_of": "2027-03-01"}, headers=h.la
    )
    assert late.json()["items"][0]["breached"] is True
    other_la = h.token("send_officer", "local_authority", org_id="la-888", la_code="888")
    assert (await system.caseload.get("/v1/ehc-clocks", params={"as_of": "2027-03-01"}, headers=other_la)).json()[
        "items"
    ] == []
    assert (await system.caseload.get("/v1/ehc-clocks", headers=h.senco)).status_code == 403
