"""The embedded default's people: a dev sign-in page lists them and signs in as one with the dev issuer (the key
`tas token` uses). Never in `TAS_ENV=prod`, where practitioners sign in with their organisation's provider.

Fictional people of the seeded fictional organisations: school 100000 of LA 999, the NHS trust whose speech and
language therapy is in the local offer (`999-salt`, practitioner role `slt`), LA 999's social care and council."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tas_common.auth import DevIssuer

from ...templating import N_
from .me import Me


@dataclass(frozen=True)
class Persona:
    key: str
    description: str
    me: Me


def _me(sub: str, name: str, org_id: str, org_type: str, role: str, **scope: object) -> Me:
    return Me(
        sub=sub,
        name=name,
        org_id=org_id,
        org_type=org_type,
        roles=frozenset({role}),
        school_urns=tuple(scope.get("school_urns", ())),  # type: ignore[arg-type]
        la_code=scope.get("la_code"),  # type: ignore[arg-type]
    )


SCHOOL = {"school_urns": ("100000",)}
PERSONAS: tuple[Persona, ...] = (
    Persona(
        "senco",
        N_("SENCO of Meadowbank Primary School (100000)"),
        _me("senco-100000", "Alex Morgan", "school-100000", "school", "senco", **SCHOOL),
    ),
    Persona(
        "dsl",
        N_("Designated safeguarding lead of Meadowbank Primary School (100000)"),
        _me("dsl-100000", "Jo Evans", "school-100000", "school", "dsl", **SCHOOL),
    ),
    Persona(
        "teacher",
        N_("Class teacher at Meadowbank Primary School (100000)"),
        _me("teacher-100000", "Chris Lee", "school-100000", "school", "teacher", **SCHOOL),
    ),
    Persona(
        "slt",
        N_("Speech and language therapist, Fictional Community Health NHS Trust"),
        _me("slt-1", "Priya Shah", "nhs-trust-1", "health", "slt"),
    ),
    Persona(
        "social_worker",
        N_("Social worker, Fictional Borough Children’s Social Care"),
        _me("social-worker-1", "Dan Hughes", "la-999-csc", "social_care", "social_worker"),
    ),
    Persona(
        "send_officer",
        N_("SEND officer, Fictional Borough Council (LA 999)"),
        _me("send-officer-999", "Ruth Okafor", "la-999", "local_authority", "send_officer", la_code="999"),
    ),
    Persona(
        "offer_admin",
        N_("Local offer administrator, Fictional Borough Council (LA 999)"),
        _me("offer-admin-999", "Ben Carter", "la-999", "local_authority", "offer_admin", la_code="999"),
    ),
)
BY_KEY = {p.key: p for p in PERSONAS}
TOKEN_SECONDS = 8 * 3600


def mint(persona: Persona, *, key_dir: Path, issuer: str, audience: str) -> tuple[str, float]:
    """A dev-issuer token for the persona (as `tas token` mints), and when it expires."""
    me = persona.me
    token = (
        DevIssuer(key_dir)
        .ensure()
        .mint(
            issuer=issuer,
            audience=audience,
            sub=me.sub,
            org_id=me.org_id,
            org_type=me.org_type,
            roles=sorted(me.roles),
            name=me.name,
            school_urns=me.school_urns,
            la_code=me.la_code,
            ttl_seconds=TOKEN_SECONDS,
        )
    )
    return token, time.time() + TOKEN_SECONDS - 60
