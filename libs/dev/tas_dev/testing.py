"""Support for tests and benchmarks: a real nats-server on a free port (natsserver.py), and fictional people.

Fictional data only: UPNs and NHS numbers with correct check characters, mobiles in Ofcom's drama range
07700 900000-900999, emails at example.org.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from tas_common.identifiers import nhs_check_digit, upn_check_letter, year_group_of

from .natsserver import NatsAccount, NatsAccountPool, NatsServer, free_port, nats_server_binary, wait_for_port

__all__ = [
    "FAMILY",
    "GIVEN",
    "NatsAccount",
    "NatsAccountPool",
    "NatsServer",
    "concern_body",
    "fictional_mobile",
    "fictional_nhs_number",
    "fictional_upn",
    "free_port",
    "nats_server_binary",
    "wait_for_port",
]


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
