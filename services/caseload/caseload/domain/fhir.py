"""FHIR R4 export of the plan: a `collection` Bundle with Patient, CarePlan, one Goal per outcome and CareTeam.
Items are filtered by the caller's sensitivity rule exactly as on GET /plan; the family gets 404 here (the export
is for practitioners' systems; families read the plan itself)."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.errors import NotFound

from . import plan as plans
from .access import visible_child, visible_items
from .models import Child
from .team import active_members

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
GOAL_ACHIEVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CAREPLAN_STATUS = {"draft": "draft", "shared_for_comment": "draft", "agreed": "active"}
"""Our plan status → CarePlan.status (http://hl7.org/fhir/request-status): a plan shared for comment is still a
draft; an agreed plan is active."""
ACHIEVEMENT_DISPLAY = {
    "in-progress": "In Progress",
    "improving": "Improving",
    "worsening": "Worsening",
    "no-change": "No Change",
    "achieved": "Achieved",
    "sustaining": "Sustaining",
    "not-achieved": "Not Achieved",
    "no-progress": "No Progress",
    "not-attainable": "Not Attainable",
}


def _urn(kind: str, item_id: str) -> str:
    return f"urn:uuid:{item_id}" if len(item_id) == 36 else f"urn:tas:{kind}:{item_id}"


async def export(session: AsyncSession, *, principal: Principal, child_id: str) -> dict[str, Any]:
    child = await visible_child(session, principal, child_id)
    if principal.org_type == OrgType.family:
        raise NotFound("no FHIR export in the family view")
    plan = await plans.load_plan(session, child)
    await audit.record(
        session, actor=principal, action="export", resource_type="plan_fhir", resource_id=plan.id, child_id=child.id
    )
    return build_bundle(
        principal,
        child,
        plan.id,
        plan.status,
        plan.content,
        [(m.id, m.name, m.org_id, m.role or m.org_type, m.lead) for m in await active_members(session, child.id)],
    )


def build_bundle(
    principal: Principal,
    child: Child,
    plan_id: str,
    status: str,
    content: dict[str, Any],
    team: list[tuple[str, str, str, str, bool]],
) -> dict[str, Any]:
    patient_ref = _urn("patient", child.id)
    careteam_ref = _urn("careteam", f"team-{child.id}")
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": child.id,
        "name": [{"family": child.family_name, "given": [child.given_name]}],
        "birthDate": child.date_of_birth.isoformat(),
    }
    if child.nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": child.nhs_number}]
    goals = []
    for item in visible_items(principal, child, content.get("outcomes", []), "outcomes"):
        goal: dict[str, Any] = {
            "resourceType": "Goal",
            "id": item["id"],
            "lifecycleStatus": item["lifecycle_status"],
            "description": {"text": item["description"]},
            "subject": {"reference": patient_ref},
            "target": [
                {
                    "detailString": item["measure"],
                    **({"dueDate": item["target_date"]} if item.get("target_date") else {}),
                }
            ],
        }
        if item.get("area"):
            goal["category"] = [{"text": item["area"].replace("_", " ")}]
        if item.get("achievement_status"):
            code = item["achievement_status"]
            goal["achievementStatus"] = {
                "coding": [{"system": GOAL_ACHIEVEMENT_SYSTEM, "code": code, "display": ACHIEVEMENT_DISPLAY[code]}]
            }
        goals.append(goal)
    careteam = {
        "resourceType": "CareTeam",
        "id": f"team-{child.id}",
        "status": "active",
        "name": "Team around the child",
        "subject": {"reference": patient_ref},
        "participant": [
            {"role": [{"text": role}], "member": {"display": name}, "onBehalfOf": {"display": org_id}}
            for _, name, org_id, role, _ in team
        ],
    }
    activities = [
        {
            "detail": {
                "status": "in-progress",
                "description": f"{p['what']} ({p['frequency']})",
                "scheduledPeriod": {"start": p["start"], **({"end": p["end"]} if p.get("end") else {})},
                "performer": [{"display": p.get("person") or p["agency"]}],
            }
        }
        for p in visible_items(principal, child, content.get("provision", []), "provision")
    ]
    careplan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": plan_id,
        "status": CAREPLAN_STATUS[status],
        "intent": "plan",
        "title": "Support plan",
        "subject": {"reference": patient_ref},
        "careTeam": [{"reference": careteam_ref}],
        "goal": [{"reference": _urn("goal", g["id"])} for g in goals],
        "description": " ".join(
            n["description"] for n in visible_items(principal, child, content.get("needs", []), "needs")
        )[:4000]
        or None,
    }
    if activities:
        careplan["activity"] = activities
    if careplan["description"] is None:
        del careplan["description"]
    entries = [(patient_ref, patient), (_urn("careplan", plan_id), careplan), (careteam_ref, careteam)]
    entries += [(_urn("goal", g["id"]), g) for g in goals]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }
