"""Consent overrides: sharing with an agency type without (or against) consent, on a lawful basis, and the review
list of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import consent
from ..domain.concern_schemas import ConsentOverrideCreate, ConsentOverridePublic, ConsentOverrideReview
from .deps import ConsentOverrider, DatabaseDep

router = APIRouter(tags=["consent"])


@router.post(
    "/v1/concerns/{concern_id}/consent-overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentOverridePublic,
    summary="Share the concern with an agency type without consent, on a lawful basis and with a reason "
    "(the school's DSL or the LA's SEND officer); flagged for review",
)
async def override_consent(
    concern_id: str, body: ConsentOverrideCreate, principal: ConsentOverrider, db: DatabaseDep
) -> ConsentOverridePublic:
    async with db.transaction() as session:
        return await consent.create_override(session, principal=principal, concern_id=concern_id, data=body)


@router.get(
    "/v1/consent-overrides",
    response_model=Page[ConsentOverridePublic],
    summary="Overrides on your schools' (DSL) or LA's (SEND officer) concerns, unreviewed first",
)
async def list_consent_overrides(
    principal: ConsentOverrider,
    db: DatabaseDep,
    reviewed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ConsentOverridePublic]:
    async with db.transaction() as session:
        return Page[ConsentOverridePublic](
            items=await consent.list_overrides(session, principal=principal, reviewed=reviewed, limit=limit)
        )


@router.post(
    "/v1/consent-overrides/{override_id}/review",
    response_model=ConsentOverridePublic,
    summary="Mark an override reviewed",
    responses=problems(409),
)
async def review_consent_override(
    override_id: str, body: ConsentOverrideReview, principal: ConsentOverrider, db: DatabaseDep
) -> ConsentOverridePublic:
    async with db.transaction() as session:
        return await consent.review_override(session, principal=principal, override_id=override_id, data=body)
