"""Support for tests and benchmarks: a real nats-server on a free port (natsserver.py), and fictional people.

Fictional data only: UPNs and NHS numbers with correct check characters, mobiles in Ofcom's drama range
07700 900000-900999, emails at example.org.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from tas_common.auth import DevIssuer
from tas_common.events.schemas import ReferralAcceptedV1
from tas_common.identifiers import nhs_check_digit, upn_check_letter, year_group_of

from .natsserver import NatsAccount, NatsAccountPool, NatsServer, free_port, nats_server_binary, wait_for_port

__all__ = [
    "DEV_AUDIENCE",
    "DEV_ISSUER",
    "FAMILY",
    "GIVEN",
    "NatsAccount",
    "NatsAccountPool",
    "NatsServer",
    "bearer",
    "concern_body",
    "family_plan",
    "fictional_mobile",
    "fictional_nhs_number",
    "fictional_upn",
    "free_port",
    "nats_server_binary",
    "referral_accepted",
    "wait_for_port",
]


# The issuer and audience the dev and test settings trust (TAS_JWT_ISSUER, TAS_JWT_AUDIENCE).
DEV_ISSUER, DEV_AUDIENCE = "tas-dev", "tas"


def bearer(
    issuer: DevIssuer, *, roles: Iterable[str], org_type: str, sub: str, org_id: str, **claims: Any
) -> dict[str, str]:
    """Authorization headers with a token of the dev `issuer` for one person (`claims`: name, school_urns,
    la_code, child_ids, ttl_seconds)."""
    jwt = issuer.mint(
        issuer=DEV_ISSUER, audience=DEV_AUDIENCE, sub=sub, org_id=org_id, org_type=org_type, roles=roles, **claims
    )
    return {"Authorization": f"Bearer {jwt}"}


# --- fictional people ---------------------------------------------------------------------------------------

GIVEN = [
    "Amara",
    "Ben",
    "Cerys",
    "Dylan",
    "Efa",
    "Finn",
    "Grace",
    "Harri",
    "Isla",
    "Jac",
    "Kai",
    "Lowri",
    "Maya",
    "Noah",
    "Osian",
    "Priya",
    "Rhys",
    "Seren",
    "Tomos",
    "Zara",
]
FAMILY = [
    "Abbott",
    "Bevan",
    "Chowdhury",
    "Davies",
    "Evans",
    "Fairweather",
    "Griffiths",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lloyd",
    "Morgan",
    "Nowak",
    "Owen",
    "Patel",
    "Roberts",
    "Singh",
    "Thomas",
    "Williams",
]


def fictional_upn(serial: int, la: int = 999, school: int = 1234, year: int = 19) -> str:
    body = f"{la:03d}{school:04d}{year:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


def fictional_nhs_number(seed: int) -> str:
    """A 10-digit NHS number with a valid check digit, from the 999 range used for test patients."""
    n = seed
    while True:
        first_nine = f"999{n % 1_000_000:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
        n += 1


def fictional_mobile(n: int) -> str:
    return f"07700 900{n % 1000:03d}"


def concern_body(
    serial: int,
    *,
    school_urn: str = "100000",
    channel: str = "email",
    language: str = "en",
    safeguarding: bool = False,
    rng: random.Random | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    rng = rng or random.Random(serial)
    born = date(2016, 1 + serial % 12, 1 + serial % 28)
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    body: dict[str, Any] = {
        "school_urn": school_urn,
        "child": {
            "upn": fictional_upn(serial, school=serial // 1000 % 10000),
            "nhs_number": fictional_nhs_number(serial),
            "given_name": given,
            "family_name": family,
            "date_of_birth": born.isoformat(),
            "year_group": year_group_of(born, date.today()),
        },
        "areas_of_need": ["communication_and_interaction"],
        "safeguarding": safeguarding,
        "summary": "Finds it hard to follow spoken instructions in class; speech is often unclear to peers.",
        "urgency": "routine",
        "already_tried": "Small-group language support for one term; visual timetable.",
        "family_contacts": [
            {
                "name": f"Alex {family}",
                "relationship": "parent",
                "parental_responsibility": True,
                "mobile": fictional_mobile(serial),
                "email": f"parent{serial}@example.org",
                "preferred_channel": channel,
                "language": language,
            }
        ],
        "consent_status": "given",
    }
    body.update(overrides)
    return body


def referral_accepted(child_id: str | None, **overrides: Any) -> ReferralAcceptedV1:
    """The event that speech and language therapy accepted a referral (new referral and concern ids) for
    `child_id`; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "referral_id": str(uuid.uuid4()),
        "concern_id": str(uuid.uuid4()),
        "child_id": child_id,
        "service_id": "svc-slt",
        "school_urn": "100000",
        "practitioner_sub": "slt-1",
        "practitioner_name": "Practitioner",
        "practitioner_org_id": "nhs-trust-1",
        "practitioner_org_type": "health",
    }
    return ReferralAcceptedV1(**(fields | overrides))


def family_plan() -> dict[str, Any]:
    """A plan body (`PUT /v1/children/{id}/plan`) whose items the family may see: one need, one outcome and one
    provision (a new dict each call)."""
    return {
        "needs": [
            {
                "area": "communication_and_interaction",
                "description": "Finds it hard to follow spoken instructions in a busy classroom.",
                "sensitivity": "family",
            }
        ],
        "outcomes": [
            {
                "area": "communication_and_interaction",
                "description": "Follows two-step instructions in class",
                "measure": "8 of 10 observed instructions by the end of term",
                "target_date": "2027-03-31",
                "lifecycle_status": "active",
                "sensitivity": "family",
            }
        ],
        "provision": [
            {
                "what": "Speech and language therapy sessions",
                "agency": "NHS speech and language therapy",
                "frequency": "Weekly, 30 minutes",
                "start": "2026-12-01",
                "end": "2027-03-31",
                "funded_by": "NHS",
                "sensitivity": "family",
            }
        ],
    }
