"""Who may call caseload's routes. Relationship checks to a particular child happen in domain/access.py (out of
relationship → 404), finer role checks in the domain functions (a role that may not do it → 403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from tas_common.access import allow
from tas_common.auth import OrgType, Principal
from tas_common.deps import DatabaseDep, OnceDep

PRACTITIONER_ORGS = [OrgType.school, OrgType.health, OrgType.social_care, OrgType.local_authority]

AnyPractitionerOrFamily = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[*PRACTITIONER_ORGS, OrgType.family],
            description="practitioners and families; the child's record is then checked for a relationship",
        )
    ),
]

Practitioner = Annotated[
    Principal,
    Depends(
        allow(
            org_types=PRACTITIONER_ORGS, description="practitioners with a relationship to the child (not the family)"
        )
    ),
]

DuplicateReviewer = Annotated[
    Principal,
    Depends(
        allow(
            org_types=[OrgType.school, OrgType.local_authority],
            roles=["senco", "dsl", "head", "send_officer"],
            description="the school's leads or the LA's SEND officers",
        )
    ),
]

LaSendOfficer = Annotated[
    Principal,
    Depends(allow(org_types=[OrgType.local_authority], roles=["send_officer"], description="the LA's SEND officers")),
]


async def comment_days(request: Request) -> int:
    """TAS_PLAN_COMMENT_DAYS: how long a plan (not an EHC draft) shared for comment takes the family's comments."""
    return int(request.app.state.settings.plan_comment_days)


CommentDays = Annotated[int, Depends(comment_days)]

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=200, description="the ETag you read; 428 without it, 412 when it is stale"),
]

__all__ = [
    "AnyPractitionerOrFamily",
    "CommentDays",
    "DatabaseDep",
    "DuplicateReviewer",
    "IfMatch",
    "LaSendOfficer",
    "OnceDep",
    "Practitioner",
]
