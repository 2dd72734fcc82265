"""Who may call each of referral's routes (the matrix: rules.py), and the bodies the matrix sends them."""

from __future__ import annotations

from typing import Any

from .rule_base import OPEN_ROUTES, REF_ALL, REF_STAFF, Rule, S


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
    **OPEN_ROUTES,
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
