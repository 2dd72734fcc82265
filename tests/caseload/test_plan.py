"""The co-produced plan: If-Match concurrency, the family's voice, sensitivity on every read, versions and diffs,
reviews feeding the outcomes."""

from __future__ import annotations

NEED = {"area": "communication_and_interaction", "description": "Difficulty following spoken instructions"}
OUTCOME = {
    "area": "communication_and_interaction",
    "description": "Follows two-step instructions in class",
    "measure": "8 of 10 observed instructions by the end of term",
    "target_date": "2027-07-20",
    "lifecycle_status": "active",
}
PROVISION = {
    "what": "Speech and language therapy",
    "agency": "NHS Trust 1",
    "person": "Pat slt-1",
    "frequency": "30 minutes weekly",
    "start": "2026-12-01",
    "end": "2027-07-20",
    "funded_by": "NHS",
}


async def test_two_agencies_edit_the_same_version_one_wins_the_other_gets_412_and_nothing_is_lost(system, h):
    child = await h.child(11)
    await h.accept(child)
    cid = child["id"]
    _, etag = await h.plan(cid, h.senco)
    _, same = await h.plan(cid, h.slt)
    assert etag == same
    r = await h.put_plan(cid, h.senco, None, needs=[NEED])
    assert r.status_code == 428 and r.headers["content-type"].startswith("application/problem+json")
    won = await h.put_plan(cid, h.senco, etag, needs=[NEED])
    assert won.status_code == 200, won.text
    assert won.headers["ETag"] != etag
    lost = await h.put_plan(cid, h.slt, same, outcomes=[OUTCOME])
    assert lost.status_code == 412
    plan, fresh = await h.plan(cid, h.slt)
    assert plan["sections"]["outcomes"] == [] and len(plan["sections"]["needs"]) == 1  # the loser changed nothing
    again = await h.put_plan(cid, h.slt, fresh, outcomes=[OUTCOME], provision=[PROVISION])
    assert again.status_code == 200, again.text
    plan, _ = await h.plan(cid, h.senco)
    assert [n["description"] for n in plan["sections"]["needs"]] == [NEED["description"]]
    outcome = plan["sections"]["outcomes"][0]
    assert (outcome["org_type"], outcome["author"], outcome["lifecycle_status"]) == ("health", "slt-1", "active")
    assert (await h.put_plan(cid, h.senco, '"stale.1"', needs=[])).status_code == 412
    bad = await h.put_plan(cid, h.senco, fresh, needs=[{"area": "unknown", "description": "x"}], extra=1)
    assert bad.status_code == 422 and {"body", "body.needs.0.area"} <= {e["field"] for e in bad.json()["errors"]}


async def test_family_writes_about_me_but_not_needs_and_sees_only_family_items(system, h):
    child = await h.child(12)
    await h.accept(child)
    cid = child["id"]
    family = h.family(cid)
    _, etag = await h.plan(cid, h.senco)
    r = await h.put_plan(
        cid,
        h.senco,
        etag,
        needs=[{**NEED, "sensitivity": "team"}, {**NEED, "description": "Needs visual prompts"}],
        about_me=[{"voice": "child", "text": "I like trains", "sensitivity": "team"}],
    )
    # items are the family's unless marked otherwise, and the editor is told which the family will see
    assert [(n["sensitivity"], n["family_visible"]) for n in r.json()["sections"]["needs"]] == [
        ("team", False),
        ("family", True),
    ]
    etag = r.headers["ETag"]
    r = await h.put_plan(cid, h.slt, etag, outcomes=[{**OUTCOME, "sensitivity": "agency"}])
    assert r.status_code == 200
    plan, _ = await h.plan(cid, family)
    assert (plan["shared_version"], plan["sections"]["needs"]) == (None, [])  # nothing shared with them yet
    r = await system.caseload.post(
        f"/v1/children/{cid}/plan/publish", json={"status": "shared_for_comment"}, headers=h.senco
    )
    assert r.status_code == 201, r.text
    plan, etag = await h.plan(cid, family)
    assert (plan["shared_version"], plan["status"]) == (1, "shared_for_comment")
    assert [n["description"] for n in plan["sections"]["needs"]] == ["Needs visual prompts"]
    assert plan["sections"]["outcomes"] == []  # a health-only item
    assert [a["text"] for a in plan["sections"]["about_me"]] == ["I like trains"]
    r = await h.put_plan(cid, family, etag, needs=[])
    assert r.status_code == 403, r.text
    mine = {"voice": "family", "text": "We want him to enjoy school again", "sensitivity": "restricted"}
    keep = {k: plan["sections"]["about_me"][0][k] for k in ("id", "voice", "text", "sensitivity")}
    r = await h.put_plan(cid, family, etag, about_me=[keep, mine])
    assert r.status_code == 200, r.text
    written = next(a for a in r.json()["sections"]["about_me"] if a["voice"] == "family")
    assert (written["sensitivity"], written["org_type"]) == ("family", "family")  # the family's words are family
    plan, etag = await h.plan(cid, h.senco)
    assert {a["text"] for a in plan["sections"]["about_me"]} == {"I like trains", mine["text"]}
    family_item = next(a for a in plan["sections"]["about_me"] if a["voice"] == "family")
    others = [
        {k: a[k] for k in ("id", "voice", "text", "sensitivity")}
        for a in plan["sections"]["about_me"]
        if a["voice"] != "family"
    ]
    assert (await h.put_plan(cid, h.senco, etag, about_me=others)).status_code == 403  # cannot drop their words
    r = await h.put_plan(
        cid,
        h.senco,
        etag,
        about_me=[*others, {**{k: family_item[k] for k in ("id", "voice", "sensitivity")}, "text": "edited by school"}],
    )
    assert r.status_code == 403
    # the school edits needs without seeing health's agency outcome; the outcome survives
    plan, etag = await h.plan(cid, h.slt)
    assert len(plan["sections"]["outcomes"]) == 1
    school_view, etag = await h.plan(cid, h.senco)
    assert school_view["sections"]["outcomes"] == []
    assert (await h.put_plan(cid, h.senco, etag, outcomes=[])).status_code == 200
    assert len((await h.plan(cid, h.slt))[0]["sections"]["outcomes"]) == 1
    hidden_id = plan["sections"]["outcomes"][0]["id"]
    _, etag = await h.plan(cid, h.senco)
    r = await h.put_plan(cid, h.senco, etag, outcomes=[{**OUTCOME, "id": hidden_id}])
    assert r.status_code == 422  # an item you cannot see is not yours to name


async def test_restricted_items_reach_only_the_authoring_organisation_and_the_dsl_senco(system, h):
    child = await h.child(13)
    await h.accept(child)
    await h.accept(child, sub="sw-1", org_id="council-sc", org_type="social_care", role="social worker")
    cid = child["id"]
    _, etag = await h.plan(cid, h.social)
    r = await h.put_plan(
        cid,
        h.social,
        etag,
        needs=[{**NEED, "sensitivity": "restricted", "description": "Known to children's social care"}],
    )
    assert r.status_code == 200
    seen = {
        name: len((await h.plan(cid, hdrs))[0]["sections"]["needs"])
        for name, hdrs in (
            ("social", h.social),
            ("dsl", h.dsl),
            ("senco", h.senco),
            ("slt", h.slt),
            ("la", h.la),
            ("family", h.family(cid)),
        )
    }
    assert seen == {"social": 1, "dsl": 1, "senco": 1, "slt": 0, "la": 0, "family": 0}
    assert (await system.caseload.get(f"/v1/children/{cid}/plan", headers=h.outsider)).status_code == 404


async def test_publish_versions_diff_and_the_published_event(system, h):
    child = await h.child(14, safeguarding=True)
    await h.accept(child)
    cid = child["id"]
    _, etag = await h.plan(cid, h.senco)
    etag = (await h.put_plan(cid, h.senco, etag, needs=[NEED])).headers["ETag"]
    r = await system.caseload.post(f"/v1/children/{cid}/plan/publish", json={}, headers=h.senco)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert (v1["number"], v1["status"], v1["changed_sections"]) == (1, "draft", ["needs"])
    assert [(c["action"], c["by"], c["for_agency"]) for c in v1["changes"]] == [("added", "senco-1", "school")]
    assert (
        await system.caseload.post(f"/v1/children/{cid}/plan/publish", json={}, headers=h.senco)
    ).status_code == 409  # nothing changed
    _, etag = await h.plan(cid, h.slt)
    await h.put_plan(
        cid,
        h.slt,
        etag,
        outcomes=[OUTCOME, {**OUTCOME, "description": "Clinic-only goal", "sensitivity": "agency"}],
        provision=[PROVISION],
    )
    r = await system.caseload.post(
        f"/v1/children/{cid}/plan/publish", json={"status": "shared_for_comment"}, headers=h.slt
    )
    assert r.json()["changed_sections"] == ["outcomes", "provision"]
    assert (
        await system.caseload.post(f"/v1/children/{cid}/plan/publish", json={}, headers=h.family(cid))
    ).status_code == 403
    r = await system.caseload.post(f"/v1/children/{cid}/plan/publish", json={"status": "bogus"}, headers=h.slt)
    assert r.status_code == 422
    versions = (await system.caseload.get(f"/v1/children/{cid}/plan/versions", headers=h.senco)).json()["items"]
    assert [v["number"] for v in versions] == [2, 1]
    assert len(versions[0]["changes"]) == 2  # the school does not learn of health's agency-only goal
    v2_slt = (await system.caseload.get(f"/v1/children/{cid}/plan/versions/2", headers=h.slt)).json()
    assert len(v2_slt["sections"]["outcomes"]) == 2 and len(v2_slt["changes"]) == 3
    v1_full = (await system.caseload.get(f"/v1/children/{cid}/plan/versions/1", headers=h.slt)).json()
    assert v1_full["sections"]["outcomes"] == []  # immutable: later edits do not reach version 1
    diff = (
        await system.caseload.get(f"/v1/children/{cid}/plan/diff", params={"from": 1, "to": 2}, headers=h.senco)
    ).json()
    assert diff["status"] == {"from": "draft", "to": "shared_for_comment"}
    assert [o["description"] for o in diff["sections"]["outcomes"]["added"]] == [OUTCOME["description"]]
    assert diff["sections"]["needs"] == {"added": [], "removed": [], "changed": []}
    assert (await system.caseload.get(f"/v1/children/{cid}/plan/versions/9", headers=h.senco)).status_code == 404
    assert (await system.caseload.get(f"/v1/children/{cid}/plan/versions", headers=h.outsider)).status_code == 404
    published = await h.events("tas.caseload.plan.published")
    assert [(e["version"], e["status"], e["changed_sections"], e["safeguarding"]) for e in published] == [
        (1, "draft", ["needs"], True),
        (2, "shared_for_comment", ["outcomes", "provision"], True),
    ]
    r = await system.caseload.post(f"/v1/children/{cid}/plan/publish", json={"status": "agreed"}, headers=h.senco)
    assert r.json()["status"] == "agreed"
    assert (
        await system.caseload.post(
            f"/v1/children/{cid}/plan/publish", json={"status": "shared_for_comment"}, headers=h.senco
        )
    ).status_code == 409


async def test_review_is_scheduled_and_progress_feeds_the_outcome_history(system, h):
    child = await h.child(15)
    await h.accept(child)
    cid = child["id"]
    _, etag = await h.plan(cid, h.slt)
    outcome_id = (await h.put_plan(cid, h.slt, etag, outcomes=[OUTCOME])).json()["sections"]["outcomes"][0]["id"]
    parent = (await system.caseload.get(f"/v1/children/{cid}/family", headers=h.senco)).json()["items"][0]
    review = {
        "scheduled_for": "2027-02-01T15:30:00Z",
        "place": "School meeting room",
        "attendees": [
            {"name": "Sam Senco", "role": "SENCO"},
            {"name": parent["name"], "family_member_id": parent["id"]},
        ],
    }
    assert (
        await system.caseload.post(f"/v1/children/{cid}/reviews", json=review, headers=h.family(cid))
    ).status_code == 403
    assert (
        await system.caseload.post(f"/v1/children/{cid}/reviews", json=review, headers=h.outsider)
    ).status_code == 404
    bad = {**review, "attendees": [{"name": "X", "family_member_id": "nope"}]}
    r = await system.caseload.post(f"/v1/children/{cid}/reviews", json=bad, headers=h.senco)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.attendees.0.family_member_id"]
    r = await system.caseload.post(f"/v1/children/{cid}/reviews", json=review, headers=h.senco)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    scheduled = await h.events("tas.caseload.review.scheduled")
    assert [(e["review_id"], e["safeguarding"]) for e in scheduled] == [(rid, False)]
    _, etag_before = await h.plan(cid, h.slt)
    for status, note in (("improving", "5 of 10"), ("achieved", "9 of 10")):
        r = await system.caseload.post(
            f"/v1/children/{cid}/reviews/{rid}/progress",
            headers=h.slt,
            json={"progress": [{"outcome_id": outcome_id, "achievement_status": status, "note": note}]},
        )
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "held"
    plan, etag_after = await h.plan(cid, h.senco)
    assert etag_after != etag_before  # a stale editor now gets 412 instead of overwriting the progress
    outcome = plan["sections"]["outcomes"][0]
    assert outcome["achievement_status"] == "achieved"
    assert [(p["achievement_status"], p["note"]) for p in outcome["history"]] == [
        ("improving", "5 of 10"),
        ("achieved", "9 of 10"),
    ]
    assert plan["reviews"][0]["id"] == rid
    r = await system.caseload.post(
        f"/v1/children/{cid}/reviews/{rid}/progress",
        headers=h.slt,
        json={"progress": [{"outcome_id": "nope", "achievement_status": "sustaining"}]},
    )
    assert r.status_code == 422
    r = await system.caseload.post(
        f"/v1/children/{cid}/reviews/{rid}/progress",
        headers=h.slt,
        json={"progress": [{"outcome_id": outcome_id, "achievement_status": "great"}]},
    )
    assert r.status_code == 422
