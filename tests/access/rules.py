"""Who may call each route, as data: the authorisation matrix (tests/access/test_matrix.py) asks every route of every
service × every kind of caller × the child in scope and a child out of scope, and docs/access.md is generated from
this table (`python -m tests.access.rules > docs/access.md`).

For each route, `ok` maps a caller to the status it gets about the child in scope — a 2xx, or a 409/412/422/428
that a request only reaches once access is granted (the matrix sends such requests so that it changes nothing that
matters); `out` the same for the child out of scope. Every other caller gets:
- 401 without a token (unless the route is public);
- 403 when the route's guard refuses its organisation type or role, or when it is in `deny` (it may see the
  child but not do this);
- otherwise `other`: 404 for a route about a child (its existence is not revealed), 403 for a route whose body
  names a school outside the caller's scope.

A route about no particular child (`child=False`) is asked once. A list (`sees_in`/`sees_out`) must not mention
a child (its id, UPN or concern id) to callers outside those sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Body = Callable[[dict[str, str], str], Any]


def S(status: int, actors: str) -> dict[str, int]:
    return dict.fromkeys(actors.split(), status)


@dataclass(frozen=True)
class Rule:
    who: str  # for docs/access.md
    ok: dict[str, int] = field(default_factory=dict)
    out: dict[str, int] = field(default_factory=dict)
    deny: str = ""
    other: int = 404
    child: bool = True
    anyone: int | None = None  # every caller passing the guard gets this (lists, public data)
    public: int | None = None  # the route is open: everyone, even without a token, gets this
    body: Body | None = None
    params: Callable[[dict[str, str], str], dict[str, Any]] | None = None
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → key in the world's ids
    headers: dict[str, str] = field(default_factory=dict)
    sees_in: str | None = None  # a list: who may see the in-scope child in it
    sees_out: str = ""
    audited: bool = True  # a 2xx about a child writes an audit row naming caller and child


LEADS = "senco dsl head"
CASE = f"{LEADS} health_member la_officer"  # caseload: the school's leads, the team, the LA's SEND officer
CASE_FAM = f"{CASE} family"
REF_STAFF = "senco dsl head teacher"  # referral: the referring school's staff
REF_ALL = f"{REF_STAFF} health_member la_officer"
CROSS_BOUNDARY = "social_worker"  # break-glass roles that work across local authorities (the child's is 999 or 998)


def _family_member(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {
        "name": f"Kit {actor}",
        "relationship": "carer",
        "parental_responsibility": False,
        "email": f"kit.{actor}@example.org",
        "preferred_channel": "email",
    }


def _concern(ids: dict[str, str], actor: str) -> dict[str, Any]:
    from tas_dev.testing import concern_body

    body = concern_body(101 if ids["urn"] == "100000" else 202, school_urn=ids["urn"])
    body["child"]["upn"] = ids["upn"]
    return body


def _mis(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {**_concern(ids, actor), "mis_record_id": f"MIS-{ids['urn']}"}


def mis_seed_body(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {**_concern(ids, actor), "mis_record_id": "MIS-SEED"}


def webhook_body(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {"url": f"https://mis.example.org/hooks/{actor}", "event_types": ["referral.decided"]}


def mis_client_body(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {"name": f"Vendor for {actor}", "school_urns": ["100000"], "client_secret": True}


def _service(ids: dict[str, str], actor: str) -> dict[str, Any]:
    return {
        "name": "Bereavement Support",
        "organisation_id": "vol-1",
        "organisation_name": "A Charity",
        "organisation_type": "voluntary",
        "taxonomy": ["bereavement"],
        "how_to_refer": "By email.",
        "email": "bereavement@example.org",
        "target_wait_days": 21,
    }


REFERRAL: dict[str, Rule] = {
    "GET /healthz": Rule("anyone", public=200, child=False),
    "GET /readyz": Rule("anyone", public=200, child=False),
    "GET /metrics": Rule("anyone", public=200, child=False),
    "GET /docs": Rule("anyone (off in prod)", public=200, child=False),
    "GET /redoc": Rule("anyone (off in prod)", public=200, child=False),
    "POST /v1/concerns": Rule(
        "staff of the school named in the body (audited with the concern's id: the child is not known yet)",
        ok=S(201, REF_STAFF),
        other=403,
        body=_concern,
        audited=False,
    ),
    "GET /v1/concerns": Rule("school staff: their schools' concerns", anyone=200, child=False, sees_in=REF_STAFF),
    "GET /v1/concerns/{concern_id}": Rule(
        "staff of the concern's school (a teacher: not others' safeguarding)", ok=S(200, REF_STAFF)
    ),
    "PUT /v1/concerns/{concern_id}/consent": Rule(
        "staff of the concern's school", ok=S(200, REF_STAFF), body=lambda i, a: {"consent_status": "given"}
    ),
    "POST /v1/concerns/{concern_id}/consent-overrides": Rule(
        "the DSL of the concern's school, the SEND officers of its LA",
        ok=S(201, "dsl la_officer"),
        body=lambda i, a: {
            "agency_type": "voluntary",
            "lawful_basis": "public_task",
            "reason": f"Override by {a} for the matrix",
        },
    ),
    "GET /v1/consent-overrides": Rule(
        "DSLs (their schools), SEND officers (their LA)", anyone=200, child=False, sees_in="dsl la_officer"
    ),
    "POST /v1/consent-overrides/{override_id}/review": Rule(
        "the DSL of the concern's school, the SEND officers of its LA",
        ok={"dsl": 200, "la_officer": 409},
        body=lambda i, a: {"note": "Reviewed: basis recorded"},
    ),
    "POST /v1/mis/concerns": Rule(
        "a school MIS, for its schools", ok=S(201, "mis_in"), other=403, body=_mis, audited=False
    ),
    "POST /v1/referrals": Rule(
        "staff of the concern's school",
        ok=S(409, REF_STAFF),
        body=lambda i, a: {"concern_id": i["concern_id"], "service_ids": [i["service_id"]]},
    ),
    "GET /v1/referrals": Rule(
        "referrer's staff, the receiving service's practitioners (its roles in its organisation, or members the "
        "directory records: not others of the same organisation), the LA's SEND officers",
        anyone=200,
        child=False,
        sees_in=REF_ALL,
    ),
    "GET /v1/referrals/children/{child_id}": Rule(
        "the child's family: service and status only (no note, reason or outcome; no safeguarding referral)",
        ok=S(200, "family"),
    ),
    "GET /v1/referrals/{referral_id}": Rule(
        "referrer's staff, the receiving service's practitioners, the LA's SEND officers", ok=S(200, REF_ALL)
    ),
    **{
        f"POST /v1/referrals/{{referral_id}}/{move}": Rule(
            "the receiving service's practitioners",
            ok=S(409, "health_member"),
            deny=f"{REF_STAFF} la_officer",
            body=body,
        )
        for move, body in (
            ("accept", None),
            ("decline", lambda i, a: {"reason": "Not for us"}),
            ("redirect", lambda i, a: {"to_service_id": "999-educational-psychology", "reason": "Better there"}),
            ("complete", None),
            ("first-contact", None),
        )
    },
    "POST /v1/referrals/{referral_id}/withdraw": Rule(
        "the referring school's staff",
        ok=S(409, REF_STAFF),
        deny="health_member la_officer",
        body=lambda i, a: {"reason": "No longer needed"},
    ),
    "GET /v1/services": Rule(
        "anyone, without a token (the local offer is a public directory by law)", public=200, child=False
    ),
    "GET /v1/services/{service_id}": Rule("anyone, without a token", public=200, child=False),
    "POST /v1/services": Rule("the LA's offer administrators", ok=S(201, "offer_admin"), child=False, body=_service),
    "PUT /v1/services/{service_id}": Rule(
        "the offer administrators of the service's LA", ok=S(428, "offer_admin"), child=False, body=_service
    ),
    "GET /v1/services/{service_id}/members": Rule(
        "the offer administrators of the service's LA", ok=S(200, "offer_admin"), child=False
    ),
    "POST /v1/services/{service_id}/members": Rule(
        "the offer administrators of the service's LA",
        ok=S(201, "offer_admin"),
        child=False,
        body=lambda i, a: {"sub": f"assistant-{a}", "org_id": "nhs-trust-1", "name": "Ash Assistant"},
    ),
    "DELETE /v1/services/{service_id}/members/{member_id}": Rule(
        "the offer administrators of the service's LA",
        ok=S(204, "offer_admin"),
        child=False,
        ids={"member_id": "service_member_id"},
    ),
    "GET /v1/services/{service_id}/waiting": Rule(
        "anyone signed in (aggregate figures, no child's data)", anyone=200, child=False
    ),
    **{
        f"GET /oruk{path}": Rule(
            "anyone, without a token, from any origin (the Open Referral UK feed of the local offer)",
            public=200,
            child=False,
            ids={"id": f"oruk_{kind}_id"} if kind else {},
        )
        for path, kind in (
            ("/", None),
            ("/services", None),
            ("/services/{id}", "service"),
            ("/service_at_locations", None),
            ("/service_at_locations/{id}", "service_at_location"),
            ("/organizations", None),
            ("/organizations/{id}", "organization"),
            ("/taxonomies", None),
            ("/taxonomies/{id}", "taxonomy"),
            ("/taxonomy_terms", None),
            ("/taxonomy_terms/{id}", "taxonomy_term"),
        )
    },
    "GET /v1/mis/concerns": Rule(
        "an MIS client: what became of its own pushes, for its schools (ids and statuses)",
        anyone=200,
        child=False,
        sees_in="",
    ),
    "GET /v1/mis/concerns/{mis_record_id}": Rule(
        "the MIS client that pushed it, while the school is in its scope",
        ok=S(200, "mis_in"),
        child=False,
        ids={"mis_record_id": "mis_record_id"},
    ),
    "POST /v1/mis/webhooks": Rule("an MIS client (its own subscriptions)", anyone=201, child=False, body=webhook_body),
    "GET /v1/mis/webhooks": Rule("an MIS client (its own subscriptions)", anyone=200, child=False),
    "GET /v1/mis/webhooks/deliveries": Rule(
        "an MIS client (its own deliveries: ids and statuses)", anyone=200, child=False, sees_in=""
    ),
    "POST /v1/mis/webhooks/deliveries/{delivery_id}/replay": Rule(
        "the MIS client whose delivery it is (none here: 404)", anyone=404, child=False
    ),
    "GET /v1/mis/webhooks/{subscription_id}": Rule(
        "the MIS client whose subscription it is",
        ok=S(200, "mis_in"),
        child=False,
        ids={"subscription_id": "webhook_id"},
    ),
    "DELETE /v1/mis/webhooks/{subscription_id}": Rule(
        "the MIS client whose subscription it is",
        ok=S(204, "mis_in"),
        child=False,
        ids={"subscription_id": "webhook_delete_id"},
    ),
    "GET /v1/mis/clients/{client_id}/deliveries": Rule(
        "the integration administrators of the client's LA (its dead-letter list: `status=dead`)",
        ok=S(200, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id"},
    ),
    "POST /v1/mis/clients/{client_id}/deliveries/{delivery_id}/replay": Rule(
        "the integration administrators of the client's LA (none here: 404)",
        ok=S(404, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id"},
    ),
    "POST /v1/mis/clients": Rule(
        "the LA's integration administrators, for schools of their LA",
        ok=S(201, "integration_admin"),
        child=False,
        body=mis_client_body,
    ),
    "GET /v1/mis/clients": Rule("the LA's integration administrators", ok=S(200, "integration_admin"), child=False),
    "GET /v1/mis/clients/{client_id}": Rule(
        "the integration administrators of the client's LA",
        ok=S(200, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id"},
    ),
    "POST /v1/mis/clients/{client_id}/credentials": Rule(
        "the integration administrators of the client's LA",
        ok=S(201, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id"},
        body=lambda i, a: {"client_secret": True, "retire_others_after_hours": 24},
    ),
    "POST /v1/mis/clients/{client_id}/credentials/{credential_id}/revoke": Rule(
        "the integration administrators of the client's LA",
        ok=S(200, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id", "credential_id": "mis_credential_id"},
    ),
    "POST /v1/mis/clients/{client_id}/revoke": Rule(
        "the integration administrators of the client's LA",
        ok=S(200, "integration_admin"),
        child=False,
        ids={"client_id": "mis_client_id"},
    ),
    "POST /v1/mis/oauth/token": Rule(
        "anyone, without a token: the client authenticates with its key or secret (none here: 400)",
        public=400,
        child=False,
    ),
    "GET /v1/mis/oauth/jwks": Rule("anyone, without a token (the MIS issuer's public keys)", public=200, child=False),
    "GET /v1/schools/{urn}/waiting": Rule(
        "the school's staff and its LA's SEND officers", ok=S(200, f"{REF_STAFF} la_officer"), audited=False
    ),
}

CASELOAD: dict[str, Rule] = {
    "GET /healthz": Rule("anyone", public=200, child=False),
    "GET /readyz": Rule("anyone", public=200, child=False),
    "GET /metrics": Rule("anyone", public=200, child=False),
    "GET /docs": Rule("anyone (off in prod)", public=200, child=False),
    "GET /redoc": Rule("anyone (off in prod)", public=200, child=False),
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

NOTIFY: dict[str, Rule] = {
    "GET /healthz": Rule("anyone", public=200, child=False),
    "GET /readyz": Rule("anyone", public=200, child=False),
    "GET /metrics": Rule("anyone", public=200, child=False),
    "GET /docs": Rule("anyone (off in prod)", public=200, child=False),
    "GET /redoc": Rule("anyone (off in prod)", public=200, child=False),
    "GET /v1/notifications": Rule(
        "as the child's record; a family member sees the messages sent to them",
        ok=S(200, CASE_FAM),
        params=lambda i, a: {"child_id": i["child_id"]},
    ),
    "GET /v1/notifications/{notification_id}": Rule("as the list", ok=S(200, CASE_FAM)),
    "GET /v1/contacts/{contact_id}/preferences": Rule("the contact, the child's practitioners", ok=S(200, CASE_FAM)),
    "PATCH /v1/contacts/{contact_id}/preferences": Rule(
        "the contact themselves", ok=S(200, "family"), body=lambda i, a: {"language": "en"}
    ),
    "GET /v1/templates": Rule("the LA's notify administrators", ok=S(200, "notify_admin"), child=False),
    "GET /v1/templates/{template_id}": Rule("the LA's notify administrators", ok=S(200, "notify_admin"), child=False),
    "POST /v1/templates": Rule(
        "the LA's notify administrators (the matrix posts an existing one: 409)",
        ok=S(409, "notify_admin"),
        child=False,
        body=lambda i, a: {
            "name": i["template_name"],
            "channel": i["template_channel"],
            "language": i["template_language"],
            "subject": "Hello",
            "body": "Hello",
        },
    ),
    "PUT /v1/templates/{template_id}": Rule(
        "the LA's notify administrators (no If-Match: 428)",
        ok=S(428, "notify_admin"),
        child=False,
        body=lambda i, a: {"body": "Hi"},
    ),
    "POST /v1/receipts/{provider}": Rule(
        "providers, proving themselves (signature or bearer secret)",
        public=403,
        child=False,
        body=lambda i, a: {"notification_id": "x", "status": "bounced"},
    ),
}


def _insights_scope(ids: dict[str, str], actor: str) -> dict[str, str]:
    """Each caller asks about the scope its kind would: school staff about the in-scope child's school, health and
    social care about the in-scope child's service (SALT of NHS trust 1), LA staff about LA 999."""
    from .conftest import ACTORS

    _, org_type, _ = ACTORS[actor]
    if org_type == "local_authority":
        return {"la_code": "999", "period": "last-12-months"}
    if org_type in ("health", "social_care"):
        return {"service_id": ids["service_id"]}
    return {"school_urn": "100000"}


INSIGHTS_READERS = f"{LEADS} health_member la_officer"
INSIGHTS: dict[str, Rule] = {
    "GET /healthz": Rule("anyone", public=200, child=False),
    "GET /readyz": Rule("anyone", public=200, child=False),
    "GET /metrics": Rule("anyone", public=200, child=False),
    "GET /docs": Rule("anyone (off in prod)", public=200, child=False),
    "GET /redoc": Rule("anyone (off in prod)", public=200, child=False),
    **{
        f"GET /v1/insights/{answer}": Rule(
            "an LA's SEND officers (their LA, its schools and services), a school's leads (their school), a "
            "service's practitioners or `service_manager` (their service); families and MIS clients 403; audited"
            + ("" if per_service else " (per LA or school: a service's practitioners get 422)"),
            ok=S(200, INSIGHTS_READERS) if per_service else {**S(200, f"{LEADS} la_officer"), "health_member": 422},
            child=False,
            other=403,
            params=_insights_scope,
        )
        for answer, per_service in (("waiting", True), ("timeliness", False), ("outcomes", True), ("schools", False))
    },
}

RULES: dict[str, dict[str, Rule]] = {
    "referral": REFERRAL,
    "caseload": CASELOAD,
    "notify": NOTIFY,
    "insights": INSIGHTS,
}


def markdown() -> str:
    lines = [
        "# Who may call what",
        "",
        "Generated from `tests/access/rules.py` (`python -m tests.access.rules > docs/access.md`), the table the",
        "authorisation matrix (`tests/access/test_matrix.py`) checks against every route of every service, for",
        "every kind of caller, about a child in scope and a child out of scope. Without a token: 401. A caller",
        "whose organisation type or role the route does not take: 403. A caller with no relationship to the",
        "child: 404 (the child's existence is not revealed). A caller who may see the child but not do this:",
        '403. See README.md "Roles and tokens" for the roles and how to mint tokens.',
        "",
    ]
    for service, rules in RULES.items():
        lines += [f"## {service}", "", "| route | who may call it |", "| --- | --- |"]
        lines += [f"| `{route}` | {rule.who} |" for route, rule in rules.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
