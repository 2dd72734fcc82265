"""An MIS re-send that raises a concern to safeguarding, across the running services (issue 12.11): referral
routes it to the front door, caseload marks the child and restricts family contact as for a new safeguarding
concern, and notify sends the family nothing more about it."""

from __future__ import annotations

from notify.domain.replicas import family_contact_restricted
from tas_dev.testing import concern_body

from ..conftest import eventually


async def test_a_resend_raised_to_safeguarding_restricts_the_family_contact_in_caseload_and_notify(system, token):
    mis = token("mis_client", "mis", org_id="mis-vendor-1", sub="mis-client-1", school_urns=["100000"])
    dsl = token("dsl", "school", org_id="school-100000", sub="dsl-1", school_urns=["100000"])
    item = concern_body(961, mis_record_id="SIMS-961")
    first = await system.referral.post("/v1/mis/concerns", json=item, headers=mis)
    assert first.status_code == 201, first.text
    concern_id = first.json()["results"][0]["concern_id"]

    async def linked():
        return (await system.referral.get(f"/v1/concerns/{concern_id}", headers=dsl)).json()["child_id"]

    child_id = await eventually(linked, what="caseload to link the concern to a child")
    child = (await system.caseload.get(f"/v1/children/{child_id}", headers=dsl)).json()
    assert child["safeguarding"] is False and child["family_contact_restricted"] is False

    raised = await system.referral.post(
        "/v1/mis/concerns", json={**item, "safeguarding": True, "summary": "Disclosed at school today."}, headers=mis
    )
    assert raised.json()["results"][0]["status"] == "updated", raised.text

    async def restricted():
        body = (await system.caseload.get(f"/v1/children/{child_id}", headers=dsl)).json()
        return body if body["family_contact_restricted"] else None

    child = await eventually(restricted, what="caseload to restrict the family contact")
    assert child["safeguarding"] is True
    entries = (await system.caseload.get(f"/v1/children/{child_id}/chronology", headers=dsl)).json()["items"]
    by_kind = {e["kind"]: e for e in entries}
    assert by_kind["concern_updated"]["sensitivity"] == "restricted"
    assert (
        "summary" in by_kind["concern_updated"]["summary"] and "Disclosed" not in by_kind["concern_updated"]["summary"]
    )
    assert by_kind["concern_raised"]["sensitivity"] == "restricted"
    assert by_kind["family_contact_restricted"]

    async def notify_knows():
        async with system.runtime("notify").db.transaction() as session:
            return await family_contact_restricted(session, child_id)

    await eventually(notify_knows, what="notify's replica of the restriction")
    await system.settled()
