"""Every field of `tas.referral.concern.raised` reaches caseload. The child's identity and the family contacts are
one shape each (tas_common.identity) from referral's API to caseload's record; this test walks the event's fields
(not a list written here), so a field added to the event, the identity or a contact fails it until caseload keeps
it — or it is named below as deliberately not kept, with the reason."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from caseload.domain.models import ChronologyEntry
from tas_common.events.schemas import ConcernRaisedV1, FamilyContactV1
from tas_common.identity import ChildIdentity, FamilyContactShape
from tas_common.tables import outbox
from tas_dev.testing import concern_body

from ..conftest import eventually

NOT_KEPT = {
    "family_contacts[].contact_ref": "referral's own row id; caseload merges contacts into its own family members",
}


def _words(value: str) -> str:
    return value.replace("_", " ")


async def _sent(system: Any, concern_id: str) -> dict[str, Any]:
    """The payload as referral wrote it to its outbox."""
    async with system.runtime("referral").db.reader() as session:
        rows = (
            await session.execute(select(outbox.c.payload).where(outbox.c.subject == ConcernRaisedV1.subject))
        ).all()
    return next(e["data"] for e in (json.loads(r.payload) for r in rows) if e["data"]["concern_id"] == concern_id)


async def test_every_field_of_a_raised_concern_reaches_caseload(system, token):
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=["100000"])
    body = concern_body(
        61,
        safeguarding=True,
        urgency="urgent",
        areas_of_need=["communication_and_interaction", "sensory_and_physical"],
        consent_status="refused",
        lawful_basis="safeguarding",
    )
    r = await system.referral.post("/v1/concerns", json=body, headers=senco)
    assert r.status_code == 201, r.text
    sent = await _sent(system, r.json()["id"])

    # the body sets every field, each to something other than its default, so a dropped one cannot pass unseen
    fields = ConcernRaisedV1.model_fields
    unset = [f for f, info in fields.items() if not info.is_required() and sent[f] == info.default]
    unset += [f"child.{f}" for f in ChildIdentity.model_fields if sent["child"].get(f) is None]
    unset += [
        f"family_contacts[].{f}" for f in FamilyContactV1.model_fields if sent["family_contacts"][0].get(f) is None
    ]
    assert unset == [], "give these fields a value in the test's concern"

    async def child_found() -> list[dict[str, Any]] | None:
        res = await system.caseload.get("/v1/children", params={"upn": body["child"]["upn"]}, headers=senco)
        return res.json()["items"] or None

    child_id = (await eventually(child_found, what="the child in caseload"))[0]["id"]
    child = (await system.caseload.get(f"/v1/children/{child_id}", headers=senco)).json()
    family = (await system.caseload.get(f"/v1/children/{child_id}/family", headers=senco)).json()["items"]
    entries = (await system.caseload.get(f"/v1/children/{child_id}/chronology", headers=senco)).json()["items"]
    school = (await system.caseload.get(f"/v1/children/{child_id}/team", headers=senco)).json()["school"]
    entry = next(e for e in entries if e["kind"] == "concern_raised")
    async with system.runtime("caseload").db.reader() as session:
        entry_row = await session.get(ChronologyEntry, entry["id"])
    assert entry_row is not None

    contact = sent["family_contacts"][0]
    member = next(m for m in family if m["email"] == contact["email"])
    reached = {
        "concern_id": entry["ref_id"] == sent["concern_id"],
        "school_urn": child["school_urn"] == sent["school_urn"],
        "school_name": school["name"] == sent["school_name"],  # how the family contacts the school (the team)
        "school_phone": school["phone"] == sent["school_phone"],
        "school_email": school["email"] == sent["school_email"],
        "la_code": child["la_code"] == sent["la_code"],
        "raised_by_org": entry_row.org_id == sent["raised_by_org"],
        "safeguarding": child["safeguarding"] is True and entry["sensitivity"] == "restricted",
        "urgency": f"({sent['urgency']};" in entry["summary"],
        "areas_of_need": all(_words(a) in entry["summary"] for a in sent["areas_of_need"]),
        "consent_status": f"consent {_words(sent['consent_status'])}" in entry["summary"],
        "lawful_basis": f"lawful basis of {_words(sent['lawful_basis'])}" in entry["summary"],
        **{f"child.{f}": child[f] == sent["child"][f] for f in ChildIdentity.model_fields},
        **{f"family_contacts[].{f}": member[f] == contact[f] for f in FamilyContactShape.model_fields},
    }
    every_field = [f for f in ConcernRaisedV1.model_fields if f not in ("child", "family_contacts")]
    every_field += [f"child.{f}" for f in ChildIdentity.model_fields]
    every_field += [f"family_contacts[].{f}" for f in FamilyContactV1.model_fields]
    assert sorted(reached) == sorted(set(every_field) - set(NOT_KEPT)), "say where caseload keeps each field"
    assert [f for f, arrived in reached.items() if not arrived] == []
