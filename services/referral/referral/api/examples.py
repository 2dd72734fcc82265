"""An example request body per operation (operationId → body), shown in the OpenAPI document. Fictional data only;
tests/common/test_openapi.py checks that each one is valid for its operation."""

from __future__ import annotations

from typing import Any

CONCERN: dict[str, Any] = {
    "school_urn": "100000",
    "child": {
        "upn": "K999000019001",
        "nhs_number": "9990000018",
        "given_name": "Maya",
        "family_name": "Fairweather",
        "date_of_birth": "2018-02-02",
        "year_group": "Y4",
    },
    "areas_of_need": ["communication_and_interaction"],
    "safeguarding": False,
    "summary": "Finds it hard to follow spoken instructions in class; speech is often unclear to peers.",
    "urgency": "routine",
    "already_tried": "Small-group language support for one term; visual timetable.",
    "family_contacts": [
        {
            "name": "Alex Fairweather",
            "relationship": "parent",
            "parental_responsibility": True,
            "mobile": "07700 900001",
            "email": "parent1@example.org",
            "preferred_channel": "email",
            "language": "en",
        }
    ],
    "consent_status": "given",
}
_SERVICE: dict[str, Any] = {
    "name": "Speech and Language Therapy (children)",
    "description": "Assessment and therapy for children with speech, language and communication needs.",
    "organisation_id": "nhs-trust-1",
    "organisation_name": "Example Community NHS Trust",
    "organisation_type": "health",
    "taxonomy": ["speech_and_language"],
    "areas_of_need": ["communication_and_interaction"],
    "minimum_age": 2,
    "maximum_age": 18,
    "how_to_refer": "Through TAS, with the family's consent.",
    "email": "salt-team@example.org",
    "target_wait_days": 126,
    "current_wait_days": 98,
    "status": "active",
    "practitioner_roles": ["slt"],
}
_ID = "6f1c2b0e-3d4a-4e5f-9a8b-7c6d5e4f3a21"
_PUBLIC_KEY = {  # an EC P-256 public key (a vendor's: TAS never sees the private half)
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "kid": "vendor-key-2026-11",
}

EXAMPLES: dict[str, Any] = {
    "raise_concern": CONCERN,
    "record_concern_consent": {"consent_status": "given"},
    "push_concerns": {"items": [{**CONCERN, "mis_record_id": "mis-2025-000123"}]},
    "create_referrals": {
        "concern_id": _ID,
        "service_ids": ["svc-salt-999"],
        "urgency": "routine",
        "note": "Please assess speech sound production and understanding of spoken language.",
    },
    "accept_referral": {"first_contact_at": "2025-03-04T10:30:00Z"},
    "decline_referral": {"reason": "Outside our criteria: the school's current support meets the child's needs."},
    "redirect_referral": {
        "to_service_id": "svc-ot-999",
        "reason": "Fine-motor needs: occupational therapy is the right service.",
    },
    "withdraw_referral": {"reason": "The family has moved out of the area."},
    "complete_referral": {"outcome": "Six sessions delivered; targets met; strategies handed to the class teacher."},
    "record_first_contact": {"contacted_at": "2025-03-04T10:30:00Z"},
    "create_service": _SERVICE,
    "update_service": {**_SERVICE, "current_wait_days": 84},
    "add_service_member": {"sub": "ta-1", "org_id": "nhs-trust-1", "name": "Tal Assistant"},
    "override_consent": {
        "agency_type": "social_care",
        "lawful_basis": "safeguarding",
        "reason": "Disclosure today suggests risk of significant harm; the family may not be told yet.",
    },
    "review_consent_override": {"note": "Reviewed with the DSL: the basis and the reason stand."},
    "register_mis_client": {
        "name": "Example MIS (Brackenford primaries)",
        "school_urns": ["100000", "100001"],
        "public_key": _PUBLIC_KEY,
    },
    "add_mis_client_credential": {
        "public_key": {**_PUBLIC_KEY, "kid": "vendor-key-2027-05"},
        "retire_others_after_hours": 168,
    },
    "subscribe_webhook": {
        "url": "https://mis.example.org/tas/webhooks",
        "event_types": ["concern.linked", "referral.decided", "review.scheduled"],
        "description": "Brackenford primaries",
    },
    "issue_mis_token": {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "eyJhbGciOiJFUzI1NiIsImtpZCI6InZlbmRvci1rZXktMjAyNi0xMSJ9.eyJpc3MiOiIuLi4ifQ.c2ln",
    },
}
