"""Who may call each of caseload's routes (the matrix: rules.py)."""

from __future__ import annotations

from typing import Any

from .rule_base import CASE, CASE_FAM, CROSS_BOUNDARY, LEADS, OPEN_ROUTES, Rule, S


def _family_member(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {
        "name": f"Kit {actor}",
        "relationship": "carer",
        "parental_responsibility": False,
        "email": f"kit.{actor}@example.org",
        "preferred_channel": "email",
    }


CASELOAD: dict[str, Rule] = {
    **OPEN_ROUTES,
    "GET /v1/children": Rule(
        "practitioners and families: children they have a relationship with; break-glass roles of the child's own "
        "LA, and social workers and CAMHS of any, also learn the id of a child they may open by break-glass (a "
        "discovery: audited and flagged for review)",
        anyone=200,
        params=lambda i, a: {"upn": i["upn"]},
        sees_in=f"{CASE_FAM} {CROSS_BOUNDARY}",
        sees_out=CROSS_BOUNDARY,
        audited=False,
    ),
    "GET /v1/caseload": Rule(
        "practitioners, their caseload: school leads their schools' children, SEND officers "
        "their LA's, everyone else the children on whose team they are",
        anyone=200,
        child=False,
        sees_in=CASE,
    ),
    "GET /v1/me": Rule("anyone signed in: who their own token says they are", anyone=200, child=False, audited=False),
    "GET /v1/tasks": Rule(
        "practitioners: reviews coming up on their caseload, EHC milestones (SEND officers), break-glass to review "
        "(DSL, SEND officers)",
        anyone=200,
        child=False,
        sees_in=CASE,
    ),
    "GET /v1/children/possible-duplicates": Rule(
        "school leads and SEND officers, for their children", anyone=200, child=False, sees_in=""
    ),
    "GET /v1/children/{child_id}": Rule(
        "the child's team, school leads, LA SEND officers, family", ok=S(200, CASE_FAM)
    ),
    "GET /v1/children/{child_id}/summary": Rule(
        "practitioners with a relationship (the child, team, consent, reviews, EHC in one read)", ok=S(200, CASE)
    ),
    "POST /v1/children/{child_id}/merge": Rule(
        "the LA's SEND officer of both, or the SENCO of both schools (the matrix asks to merge a child into "
        "itself: 422 once access is granted)",
        ok=S(422, CASE),
        body=lambda i, a: {"duplicate_id": i["child_id"]},
    ),
    "GET /v1/children/{child_id}/chronology": Rule("as the record; items by sensitivity", ok=S(200, CASE_FAM)),
    "GET /v1/children/{child_id}/family": Rule("as the record", ok=S(200, CASE_FAM)),
    "POST /v1/children/{child_id}/family": Rule(
        "practitioners with a relationship", ok=S(201, CASE), body=_family_member
    ),
    "PATCH /v1/children/{child_id}/family/{member_id}": Rule(
        "practitioners with a relationship, the family",
        ok=S(200, CASE_FAM),
        body=lambda i, a: {"relationship": "parent"},
    ),
    "GET /v1/children/{child_id}/team": Rule(
        "as the record (the family: the current team without ids)", ok=S(200, CASE_FAM)
    ),
    "PUT /v1/children/{child_id}/team/{member_id}/contact": Rule(
        "the team member themselves (what they share with the family)",
        ok={"health_member": 200},
        deny="senco dsl head la_officer",
        ids={"member_id": "team_member_id"},
        body=lambda i, a: {"shared_phone": "01632 960999"},
    ),
    "POST /v1/children/{child_id}/team": Rule(
        "the SENCO of the child's school",
        ok=S(201, "senco"),
        deny="dsl head health_member la_officer",
        body=lambda i, a: {"sub": f"extra-{a}", "name": "Ed Extra", "org_id": "council-sc", "org_type": "social_care"},
    ),
    "DELETE /v1/children/{child_id}/team/{member_id}": Rule(
        "the SENCO of the child's school",
        ok=S(204, "senco"),
        deny="dsl head health_member la_officer",
        ids={"member_id": "removable_member_id"},
    ),
    "PUT /v1/children/{child_id}/team/lead": Rule(
        "the SENCO of the child's school",
        ok=S(200, "senco"),
        deny="dsl head health_member la_officer",
        body=lambda i, a: {"member_id": i["team_member_id"]},
    ),
    "GET /v1/children/{child_id}/plan": Rule("as the record; items by sensitivity", ok=S(200, CASE_FAM)),
    "PUT /v1/children/{child_id}/plan": Rule(
        "practitioners with a relationship; the family in about_me (the matrix sends no If-Match: 428)",
        ok=S(428, CASE_FAM),
        body=lambda i, a: {"about_me": []},
    ),
    "POST /v1/children/{child_id}/plan/publish": Rule(
        "practitioners with a relationship (the matrix sends a stale If-Match: 412)",
        ok=S(412, CASE),
        body=lambda i, a: {},
        headers={"If-Match": '"stale"'},
    ),
    "GET /v1/children/{child_id}/plan/comments": Rule(
        "as the record (the family: its own threads, on versions shared with it)", ok=S(200, CASE_FAM)
    ),
    "POST /v1/children/{child_id}/plan/comments": Rule(
        "the family (a new comment) and practitioners with a relationship (a reply in a family's thread), while "
        "the newest version is shared for comment (the matrix names no item: 422; a practitioner starting a "
        "thread: 403)",
        ok={"family": 422},
        deny=CASE,
        body=lambda i, a: {"section": "needs", "item_id": "not-an-item", "text": f"Matrix comment by {a}"},
    ),
    "GET /v1/children/{child_id}/plan/versions": Rule("as the record", ok=S(200, CASE_FAM)),
    "GET /v1/children/{child_id}/plan/versions/{number}": Rule("as the record", ok=S(200, CASE_FAM)),
    "GET /v1/children/{child_id}/plan/diff": Rule(
        "as the record", ok=S(200, CASE_FAM), params=lambda i, a: {"from": 1, "to": 1}
    ),
    "GET /v1/children/{child_id}/plan/fhir": Rule("as the record, not the family", ok={**S(200, CASE), "family": 404}),
    "POST /v1/children/{child_id}/reviews": Rule(
        "practitioners with a relationship",
        ok=S(201, CASE),
        body=lambda i, a: {
            "scheduled_for": "2031-03-01T10:00:00Z",
            "place": "School",
            "attendees": [{"name": "Sam Senco"}],
        },
    ),
    "GET /v1/children/{child_id}/reviews": Rule("as the record", ok=S(200, CASE_FAM)),
    "POST /v1/children/{child_id}/reviews/{review_id}/progress": Rule(
        "practitioners with a relationship (the matrix names no outcome of the plan: 422)",
        ok=S(422, CASE),
        body=lambda i, a: {"progress": [{"outcome_id": "not-an-outcome", "achievement_status": "improving"}]},
    ),
    "POST /v1/children/{child_id}/ehc-requests": Rule(
        "the school's leads, the LA's SEND officers",
        ok=S(201, f"{LEADS} la_officer"),
        deny="health_member",
        body=lambda i, a: {"requested_on": "2026-01-05"},
    ),
    "GET /v1/children/{child_id}/ehc-requests": Rule("as the record", ok=S(200, CASE_FAM)),
    "PATCH /v1/children/{child_id}/ehc-requests/{request_id}": Rule(
        "the LA's SEND officers", ok=S(200, "la_officer"), body=lambda i, a: {}
    ),
    "GET /v1/ehc-clocks": Rule(
        "the LA's SEND officers: their LA's clocks",
        anyone=200,
        child=False,
        params=lambda i, a: {"due_within_days": 60},
        sees_in="la_officer",
    ),
    "GET /v1/children/{child_id}/consent": Rule("as the record", ok=S(200, CASE_FAM)),
    "PUT /v1/children/{child_id}/consent": Rule(
        "the SENCO/DSL of the child's school, a parent with parental responsibility",
        ok=S(200, "senco dsl family"),
        deny="head health_member la_officer",
        body=lambda i, a: {"agency_type": "voluntary", "status": "given"},
    ),
    "GET /v1/children/{child_id}/access-log": Rule(
        "the SENCO/DSL of the child's school, the lead professional, the family",
        ok=S(200, "senco dsl health_member family"),
        deny="head la_officer",
    ),
    "GET /v1/break-glass": Rule(
        "DSLs (their schools' children), SEND officers (their LA's)", anyone=200, child=False, sees_in="dsl la_officer"
    ),
    "POST /v1/break-glass/{grant_id}/review": Rule(
        "the DSL of the child's school, the SEND officers of its LA",
        ok={"dsl": 200, "la_officer": 409},
        body=lambda i, a: {"note": "Checked with the social worker"},
    ),
    "GET /v1/children/{child_id}/family-contact-restriction": Rule(
        "practitioners with a relationship (not the family)", ok=S(200, CASE)
    ),
    "PUT /v1/children/{child_id}/family-contact-restriction": Rule(
        "the DSL of the child's school, children's social care on the child's team (the matrix lifts a "
        "restriction that is not set: 409)",
        ok={"dsl": 409},
        deny="senco head health_member la_officer",
        body=lambda i, a: {"restricted": False, "reason": f"Matrix check by {a}"},
    ),
    "POST /v1/family/sign-in/codes": Rule(
        "anyone, without a token (the answer never says whether the contact is held; rate-limited)",
        public=202,
        child=False,
        body=lambda i, a: {"contact": f"matrix.{a}@example.org"},
    ),
    "POST /v1/family/sign-in/tokens": Rule(
        "anyone, without a token (the matrix sends a code never asked for: 400 code-expired)",
        public=400,
        child=False,
        body=lambda i, a: {"contact": f"matrix.{a}@example.org", "code": "123456"},
    ),
    "GET /.well-known/jwks.json": Rule("anyone (the family issuer's public keys)", public=200, child=False),
    # last: its grants let their holders read the children they opened
    "POST /v1/children/{child_id}/break-glass": Rule(
        "practitioners with role dsl or send_officer of the child's LA, or social_worker or camhs of any, and no "
        "relationship to the child (409 with one); read-only, for TAS_BREAK_GLASS_HOURS",
        ok={**S(409, "dsl la_officer"), **S(201, CROSS_BOUNDARY)},
        out=S(201, CROSS_BOUNDARY),
        body=lambda i, a: {"reason": f"Out-of-hours emergency ({a})"},
    ),
}
