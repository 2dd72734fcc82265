"""FHIR R4 export of the plan: a `collection` Bundle with Patient, CarePlan, one Goal per outcome and CareTeam, built
as `fhir.resources` objects (its R4B models, which validate each resource and element as it is made: a plan that
would give an invalid resource fails here, not in the receiving system). Items are filtered by the caller's
sensitivity rule exactly as on GET /plan; the family gets 404 here (the export is for practitioners' systems;
families read the plan itself)."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.careplan import CarePlan, CarePlanActivity, CarePlanActivityDetail
from fhir.resources.R4B.careteam import CareTeam, CareTeamParticipant
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.goal import Goal, GoalTarget
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
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


async def export(session: AsyncSession, *, principal: Principal, child_id: str) -> Bundle:
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


def _patient(child: Child) -> Patient:
    return Patient(
        id=child.id,
        name=[HumanName(family=child.family_name, given=[child.given_name])],
        birthDate=child.date_of_birth,
        identifier=[Identifier(system=NHS_NUMBER_SYSTEM, value=child.nhs_number)] if child.nhs_number else None,
    )


def _goal(item: dict[str, Any], patient: Reference) -> Goal:
    code = item.get("achievement_status")
    return Goal(
        id=item["id"],
        lifecycleStatus=item["lifecycle_status"],
        description=CodeableConcept(text=item["description"]),
        subject=patient,
        target=[GoalTarget(detailString=item["measure"], dueDate=item.get("target_date"))],
        category=[CodeableConcept(text=item["area"].replace("_", " "))] if item.get("area") else None,
        achievementStatus=CodeableConcept(
            coding=[Coding(system=GOAL_ACHIEVEMENT_SYSTEM, code=code, display=ACHIEVEMENT_DISPLAY[code])]
        )
        if code
        else None,
    )


def _activity(provision: dict[str, Any]) -> CarePlanActivity:
    return CarePlanActivity(
        detail=CarePlanActivityDetail(
            status="in-progress",
            description=f"{provision['what']} ({provision['frequency']})",
            scheduledPeriod=Period(start=provision["start"], end=provision.get("end")),
            performer=[Reference(display=provision.get("person") or provision["agency"])],
        )
    )


def build_bundle(
    principal: Principal,
    child: Child,
    plan_id: str,
    status: str,
    content: dict[str, Any],
    team: list[tuple[str, str, str, str, bool]],
) -> Bundle:
    patient_ref = Reference(reference=_urn("patient", child.id))
    careteam_ref = _urn("careteam", f"team-{child.id}")
    goals = [
        (_urn("goal", item["id"]), _goal(item, patient_ref))
        for item in visible_items(principal, child, content.get("outcomes", []), "outcomes")
    ]
    careteam = CareTeam(
        id=f"team-{child.id}",
        status="active",
        name="Team around the child",
        subject=patient_ref,
        participant=[
            CareTeamParticipant(
                role=[CodeableConcept(text=role)], member=Reference(display=name), onBehalfOf=Reference(display=org_id)
            )
            for _, name, org_id, role, _ in team
        ]
        or None,
    )
    needs = " ".join(n["description"] for n in visible_items(principal, child, content.get("needs", []), "needs"))
    careplan = CarePlan(
        id=plan_id,
        status=CAREPLAN_STATUS[status],
        intent="plan",
        title="Support plan",
        subject=patient_ref,
        careTeam=[Reference(reference=careteam_ref)],
        goal=[Reference(reference=url) for url, _ in goals] or None,
        description=needs[:4000] or None,
        activity=[_activity(p) for p in visible_items(principal, child, content.get("provision", []), "provision")]
        or None,
    )
    entries: list[tuple[str, Resource]] = [
        (_urn("patient", child.id), _patient(child)),
        (_urn("careplan", plan_id), careplan),
        (careteam_ref, careteam),
        *goals,
    ]
    return Bundle(type="collection", entry=[BundleEntry(fullUrl=url, resource=resource) for url, resource in entries])
