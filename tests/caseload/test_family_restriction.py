"""The child's "family contact restricted" flag: set by a safeguarding concern, lifted and set by the DSL or the
LA's front door with a reason, audited, on the chronology, emitted; family tokens do not open the record while set."""

from __future__ import annotations

from sqlalchemy import select

from tas_common.tables import audit_log

EVENT = "tas.caseload.child.family_contact_restriction_changed"


def url(child_id: str) -> str:
    return f"/v1/children/{child_id}/family-contact-restriction"


async def test_a_safeguarding_concern_restricts_and_the_dsl_lifts_with_a_reason(system, h, token):
    child = await h.child(701, safeguarding=True)
    cid = child["id"]
    assert child["family_contact_restricted"] is True
    state = (await system.caseload.get(url(cid), headers=h.senco)).json()
    assert state["restricted"] is True and [c["source"] for c in state["history"]] == ["safeguarding_concern"]
    assert [(e["child_id"], e["restricted"]) for e in await h.events(EVENT)] == [(cid, True)]
    assert (await system.caseload.get(f"/v1/children/{cid}", headers=h.family(cid))).status_code == 404

    lift = {"restricted": False, "reason": "Strategy meeting: the family can be told about the plan"}
    # the LA's front door (children's social care) joins the team by accepting the safeguarding referral
    await h.accept(child, sub="fd-1", org_id="la-999-csc", org_type="social_care", role="front door social worker")
    front_door = token("social_worker", "social_care", org_id="la-999-csc", sub="fd-1")
    not_on_team = token("social_worker", "social_care", org_id="la-998-csc", sub="fd-8")
    for caller, status in (
        (h.senco, 403),
        (h.slt, 404),  # not on the team
        (h.la, 403),  # a SEND officer is not the front door
        (not_on_team, 404),
        (h.family(cid), 403),
        (h.token("parent", "family", sub="someone", child_ids=["another-child"]), 403),
        (h.outsider, 404),
    ):
        assert (await system.caseload.put(url(cid), json=lift, headers=caller)).status_code == status
    short = await system.caseload.put(url(cid), json={"restricted": False, "reason": "ok"}, headers=h.dsl)
    assert short.status_code == 422
    r = await system.caseload.put(url(cid), json=lift, headers=h.dsl)
    assert r.status_code == 200, r.text
    assert r.json()["restricted"] is False and r.json()["history"][0]["reason"] == lift["reason"]
    assert (await system.caseload.put(url(cid), json=lift, headers=h.dsl)).status_code == 409
    assert (await system.caseload.get(f"/v1/children/{cid}", headers=h.family(cid))).status_code == 200
    assert [e["restricted"] for e in await h.events(EVENT)] == [True, False]

    restrict = {"restricted": True, "reason": "New information from the police this morning"}
    assert (await system.caseload.put(url(cid), json=restrict, headers=front_door)).status_code == 200
    assert (await system.caseload.get(f"/v1/children/{cid}", headers=h.family(cid))).status_code == 404
    entries = (await system.caseload.get(f"/v1/children/{cid}/chronology", headers=h.senco)).json()["items"]
    assert [e["kind"] for e in entries if e["kind"].startswith("family_contact")] == [
        "family_contact_restricted",
        "family_contact_lifted",
        "family_contact_restricted",
    ]
    assert all(lift["reason"] not in e["summary"] for e in entries)  # the reason stays in the history
    async with system.runtime("caseload").db.reader() as session:
        rows = (await session.execute(select(audit_log).where(audit_log.c.child_id == cid))).all()
    assert ("dsl-1", "lift_family_contact_restriction") in [(r.actor, r.action) for r in rows]
    assert ("fd-1", "restrict_family_contact") in [(r.actor, r.action) for r in rows]


async def test_a_new_safeguarding_concern_restricts_again_after_a_lift(system, h):
    child = await h.child(702, safeguarding=True)
    cid = child["id"]
    lift = {"restricted": False, "reason": "The DSL spoke to the family and social care"}
    assert (await system.caseload.put(url(cid), json=lift, headers=h.dsl)).status_code == 200
    again = await h.child(702, safeguarding=True)
    assert again["id"] == cid and again["family_contact_restricted"] is True
    assert [e["restricted"] for e in await h.events(EVENT)] == [True, False, True]
    plain = await h.child(703)
    assert plain["family_contact_restricted"] is False
    assert (await system.caseload.get(url(plain["id"]), headers=h.dsl)).json()["history"] == []
