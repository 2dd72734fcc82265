"""The plan is the family's plan: items default to `family`, the editor is told what the family will see, the family
sees versions shared with them (never drafts nor unpublished edits), and comments with replies while the plan is
shared for comment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from caseload.domain.models import PlanVersion
from tas_common.db import utcnow
from tas_common.tables import audit_log

NEED = {"area": "communication_and_interaction", "description": "Finds it hard to follow long instructions"}
OUTCOME = {
    "area": "communication_and_interaction",
    "description": "Follows two-step instructions in class",
    "measure": "8 of 10 observed",
    "lifecycle_status": "active",
}
COMMENTS_ADDED = "tas.caseload.plan.comment_added"


async def publish(system: Any, h: Any, cid: str, status: str | None = None) -> dict[str, Any]:
    r = await system.caseload.post(
        f"/v1/children/{cid}/plan/publish", json={"status": status} if status else {}, headers=h.senco
    )
    assert r.status_code == 201, r.text
    return r.json()


async def shared_plan(system: Any, h: Any, serial: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A child whose plan (a need, an outcome by the therapist, a team-only need) is shared for comment."""
    child = await h.child(serial)
    await h.accept(child)
    cid = child["id"]
    _, etag = await h.plan(cid, h.senco)
    r = await h.put_plan(cid, h.senco, etag, needs=[NEED, {**NEED, "description": "Staff only", "sensitivity": "team"}])
    r = await h.put_plan(cid, h.slt, r.headers["ETag"], outcomes=[OUTCOME])
    assert r.status_code == 200, r.text
    await publish(system, h, cid, "shared_for_comment")
    plan, _ = await h.plan(cid, h.family(cid))
    return child, plan


async def test_the_family_sees_what_is_shared_with_them_and_the_editor_knows_what_that_is(system, h):
    child = await h.child(801)
    await h.accept(child)
    cid, family = child["id"], h.family(child["id"])
    _, etag = await h.plan(cid, h.slt)
    r = await h.put_plan(
        cid, h.slt, etag, outcomes=[OUTCOME, {**OUTCOME, "description": "Clinic", "sensitivity": "agency"}]
    )
    assert [(o["sensitivity"], o["family_visible"]) for o in r.json()["sections"]["outcomes"]] == [
        ("family", True),
        ("agency", False),
    ]
    await publish(system, h, cid)  # version 1: a draft, not the family's
    plan, _ = await h.plan(cid, family)
    assert (plan["shared_version"], plan["status"], plan["sections"]["outcomes"]) == (None, "draft", [])
    assert (await system.caseload.get(f"/v1/children/{cid}/plan/versions", headers=family)).json()["items"] == []
    assert (await system.caseload.get(f"/v1/children/{cid}/plan/versions/1", headers=family)).status_code == 404
    await publish(system, h, cid, "shared_for_comment")  # version 2
    plan, etag = await h.plan(cid, family)
    assert (plan["shared_version"], plan["status"]) == (2, "shared_for_comment")
    assert [o["description"] for o in plan["sections"]["outcomes"]] == [OUTCOME["description"]]
    assert plan["comment_period"]["open"] is True and plan["comment_period"]["kind"] == "plan"
    # a practitioner's unpublished edit does not reach the family until it is shared again
    _, slt_etag = await h.plan(cid, h.slt)
    current = (await h.plan(cid, h.slt))[0]["sections"]["outcomes"]
    edited = [{k: o[k] for k in ("id", "area", "measure", "lifecycle_status", "sensitivity")} for o in current]
    edited[0]["description"] = "Follows three-step instructions"
    edited[1]["description"] = "Clinic"
    assert (await h.put_plan(cid, h.slt, slt_etag, outcomes=edited)).status_code == 200
    plan, _ = await h.plan(cid, family)
    assert [o["description"] for o in plan["sections"]["outcomes"]] == [OUTCOME["description"]]
    versions = (await system.caseload.get(f"/v1/children/{cid}/plan/versions", headers=family)).json()["items"]
    assert [v["number"] for v in versions] == [2]
    diff = await system.caseload.get(f"/v1/children/{cid}/plan/diff", params={"from": 1, "to": 2}, headers=family)
    assert diff.status_code == 404  # version 1 was a draft
    await publish(system, h, cid, "agreed")  # version 3
    plan, _ = await h.plan(cid, family)
    assert (plan["shared_version"], plan["status"], plan["comment_period"]) == (3, "agreed", None)
    assert [o["description"] for o in plan["sections"]["outcomes"]] == ["Follows three-step instructions"]
    kinds = [
        (e["kind"], e["summary"])
        for e in (await system.caseload.get(f"/v1/children/{cid}/chronology", headers=family)).json()["items"]
    ]
    published = [k for k in kinds if k[0] == "plan_published"]
    assert len(published) == 2 and all("draft" not in s for _, s in published)  # the family's two versions
    # the family writes its own and the child's words, not a practitioner's
    _, etag = await h.plan(cid, family)
    r = await h.put_plan(cid, family, etag, about_me=[{"voice": "practitioner", "text": "I am the teacher"}])
    assert r.status_code == 422


async def test_the_family_comments_a_therapist_replies_and_the_period_closes(system, h, token):
    child, plan = await shared_plan(system, h, 802)
    cid, family = child["id"], h.family(child["id"])
    assert [n["description"] for n in plan["sections"]["needs"]] == [NEED["description"]]  # not the staff-only one
    outcome = plan["sections"]["outcomes"][0]
    url = f"/v1/children/{cid}/plan/comments"
    words = "At home he manages two steps when we show him pictures."
    r = await system.caseload.post(
        url,
        json={"section": "outcomes", "item_id": outcome["id"], "text": words},
        headers={**family, "Idempotency-Key": "comment-1"},
    )
    assert r.status_code == 201, r.text
    comment = r.json()
    assert (comment["by_family"], comment["mine"], comment["author_label"], comment["version"]) == (
        True,
        True,
        "You",
        1,
    )
    again = await system.caseload.post(
        url,
        json={"section": "outcomes", "item_id": outcome["id"], "text": words},
        headers={**family, "Idempotency-Key": "comment-1"},
    )
    assert again.status_code == 201 and again.json()["id"] == comment["id"]  # a double submit posts once
    staff_need = next(n for n in (await h.plan(cid, h.senco))[0]["sections"]["needs"] if not n["family_visible"])
    hidden = await system.caseload.post(
        url, json={"section": "needs", "item_id": staff_need["id"], "text": "?"}, headers=family
    )
    assert hidden.status_code == 422  # an item the family cannot see is not theirs to comment on
    # practitioners reply in the family's thread; they do not start threads
    start = await system.caseload.post(
        url, json={"section": "outcomes", "item_id": outcome["id"], "text": "Note"}, headers=h.slt
    )
    assert start.status_code == 403
    reply = await system.caseload.post(
        url, json={"in_reply_to": comment["id"], "text": "Thank you, we will use pictures in therapy."}, headers=h.slt
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["author_label"].startswith("Speech and language therapist")
    seen = (await system.caseload.get(url, headers=family)).json()
    assert [(c["text"], c["in_reply_to"]) for c in seen["items"]] == [
        (words, None),
        ("Thank you, we will use pictures in therapy.", comment["id"]),
    ]
    assert seen["version"] == 1 and seen["comment_period"]["open"] is True
    # another parent of the child does not read this parent's thread; the school does
    kit = await h.second_parent(cid)
    other_parent = token("parent", "family", org_id="family", sub=kit, child_ids=[cid])
    assert (await system.caseload.get(url, headers=other_parent)).json()["items"] == []
    assert len((await system.caseload.get(url, headers=h.senco)).json()["items"]) == 2
    # the wrong person: another child's parent, a forged child_ids, an outsider
    other = await h.child(803)
    forged = token("parent", "family", org_id="family", sub=h.family_members[other["id"]], child_ids=[cid])
    for caller in (h.family(other["id"]), forged, h.outsider):
        assert (await system.caseload.get(url, headers=caller)).status_code == 404
        body = {"section": "outcomes", "item_id": outcome["id"], "text": "x"}
        assert (await system.caseload.post(url, json=body, headers=caller)).status_code == 404
    events = await h.events(COMMENTS_ADDED)
    assert [(e["author_org_type"], e["thread_member_id"], e["in_reply_to"]) for e in events] == [
        ("family", h.family_members[cid], None),
        ("health", h.family_members[cid], comment["id"]),
    ]
    assert words not in str(events)  # ids, never the words
    async with system.runtime("caseload").db.reader() as session:
        rows = (await session.execute(select(audit_log).where(audit_log.c.resource_type == "plan_comment"))).all()
    assert sorted(r.actor for r in rows) == sorted([h.family_members[cid], "slt-1"])
    # the period ends: the family can no longer comment; the therapist can still answer
    async with system.runtime("caseload").db.transaction() as session:
        await session.execute(update(PlanVersion).values(published_at=utcnow() - timedelta(days=15)))
    late = await system.caseload.post(
        url, json={"section": "outcomes", "item_id": outcome["id"], "text": "One more thing"}, headers=family
    )
    assert late.status_code == 409 and late.json()["type"].endswith("comment-period-ended")
    assert (
        await system.caseload.post(url, json={"in_reply_to": comment["id"], "text": "Noted."}, headers=h.slt)
    ).status_code == 201
    # a new version closes the old one's comments, for everyone
    await publish(system, h, cid, "agreed")
    closed = await system.caseload.post(url, json={"in_reply_to": comment["id"], "text": "x"}, headers=h.slt)
    assert closed.status_code == 409 and closed.json()["type"].endswith("comments-closed")
    old = (await system.caseload.get(url, params={"version": 1}, headers=family)).json()
    assert len(old["items"]) == 3 and old["comment_period"]["open"] is False


async def test_an_ehc_draft_takes_comments_for_15_days_from_its_issue(system, h):
    child, _ = await shared_plan(system, h, 804)
    cid = child["id"]
    r = await system.caseload.post(
        f"/v1/children/{cid}/ehc-requests", json={"requested_on": "2026-09-01"}, headers=h.la
    )
    request_id = r.json()["id"]
    issued = date.today() - timedelta(days=3)
    r = await system.caseload.patch(
        f"/v1/children/{cid}/ehc-requests/{request_id}",
        json={"decision": "assess", "decision_on": "2026-10-01", "draft_issued_on": issued.isoformat()},
        headers=h.la,
    )
    assert r.status_code == 200, r.text
    period = (await h.plan(cid, h.family(cid)))[0]["comment_period"]
    assert period["kind"] == "ehc_draft" and period["ends_at"].startswith((issued + timedelta(days=15)).isoformat())
    assert period["open"] is True
