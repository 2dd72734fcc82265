"""Who may call referral's routes, and what routes inject."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep, IdempotencyKey, OnceDep
from tas_common.vocab import SCHOOL_STAFF_ROLES

from ..domain.mis_gate import ClientGate

SchoolStaff = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school], roles=SCHOOL_STAFF_ROLES, description="SENCO, DSL, teacher or head of a school"
        )
    ),
]
_MisToken = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.mis],
            roles=["mis_client"],
            description="a school MIS (client credentials, scoped to URNs)",
        )
    ),
]


async def _admitted(request: Request, principal: _MisToken) -> Principal:
    """A registered client that is revoked gets 401; its schools are its registration's now; over its rate, 429."""
    gate: ClientGate = request.app.state.runtime.extras["mis_gate"]
    return await gate.admit(principal)


MisClient = Annotated[Principal, Depends(_admitted)]
IntegrationAdmin = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.local_authority],
            roles=["integration_admin"],
            description="the LA's integration administrators (MIS client registrations)",
        )
    ),
]
AnyUser = Annotated[Principal, Depends(allow(description="anyone signed in: the local offer is public information"))]
OfferAdmin = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.local_authority],
            roles=["offer_admin"],
            description="the LA's local offer administrators",
        )
    ),
]
ReferralParty = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority],
            description="school staff, the receiving services' practitioners, LA officers; each sees only their own",
        )
    ),
]
Family = Annotated[
    Principal,
    Depends(allow(org_types=[OrgType.family], description="the child's family (caseload's family issuer)")),
]
SchoolOrLA = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.local_authority],
            description="the school's staff and its LA's SEND officers",
        )
    ),
]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", max_length=100, description="The ETag you read; required to update")
]

__all__ = [
    "AnyUser",
    "DatabaseDep",
    "Family",
    "IdempotencyKey",
    "IfMatch",
    "IntegrationAdmin",
    "MisClient",
    "OfferAdmin",
    "OnceDep",
    "ReferralParty",
    "SchoolOrLA",
    "SchoolStaff",
]

ConsentOverrider = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.local_authority],
            roles=["dsl", "send_officer"],
            description="the school's DSL or the LA's SEND officers (consent overrides and their review)",
        )
    ),
]
__all__ += ["ConsentOverrider"]
