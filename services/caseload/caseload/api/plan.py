from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response, status

from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import fhir, plan, plan_versions
from ..domain.plan_schemas import (
    PlanDiff,
    PlanPublic,
    PlanUpdate,
    PlanVersionPublic,
    PlanVersionSummary,
    PublishRequest,
)
from .deps import AnyPractitionerOrFamily, CommentDays, DatabaseDep, IfMatch, Practitioner

router = APIRouter(prefix="/v1/children/{child_id}/plan", tags=["plan"])
MAX_VERSION = 1_000_000
"""Version numbers are bounded in the schema: one beyond 64 bits reached SQLite and was a 500."""


@router.get("", response_model=PlanPublic, summary="The child's plan as you may see it, with its ETag")
async def get_plan(
    child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep, response: Response, days: CommentDays
) -> PlanPublic:
    async with db.transaction() as session:
        result = await plan.get_plan(session, principal=principal, child_id=child_id, comment_days=days)
    response.headers["ETag"] = result.etag
    return result


@router.put(
    "",
    response_model=PlanPublic,
    summary="Edit sections of the plan with If-Match (the family writes in about_me only); each item you get back "
    "says whether the family will see it (`family_visible`)",
    responses=problems(428),
)
async def update_plan(
    child_id: str,
    body: PlanUpdate,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    response: Response,
    days: CommentDays,
    if_match: IfMatch = None,
) -> PlanPublic:
    async with db.transaction() as session:
        result = await plan.update_plan(
            session, principal=principal, child_id=child_id, if_match=if_match, data=body, comment_days=days
        )
    response.headers["ETag"] = result.etag
    return result


@router.post(
    "/publish",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanVersionSummary,
    summary="Publish the plan as a new immutable version (If-Match optional)",
    responses=problems(409),
)
async def publish_plan(
    child_id: str, body: PublishRequest, principal: Practitioner, db: DatabaseDep, if_match: IfMatch = None
) -> PlanVersionSummary:
    async with db.transaction() as session:
        return await plan_versions.publish(
            session, principal=principal, child_id=child_id, if_match=if_match, data=body
        )


@router.get(
    "/versions",
    response_model=Page[PlanVersionSummary],
    summary="The published versions, newest first: who changed what, for which agency",
)
async def list_plan_versions(
    child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep
) -> Page[PlanVersionSummary]:
    async with db.transaction() as session:
        return Page(items=await plan_versions.list_versions(session, principal=principal, child_id=child_id))


@router.get("/versions/{number}", response_model=PlanVersionPublic, summary="One published version")
async def get_plan_version(
    child_id: str,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    days: CommentDays,
    number: int = Path(ge=1, le=MAX_VERSION),
) -> PlanVersionPublic:
    async with db.transaction() as session:
        return await plan_versions.get_version(
            session, principal=principal, child_id=child_id, number=number, comment_days=days
        )


@router.get("/diff", response_model=PlanDiff, summary="What changed between two published versions")
async def diff_plan_versions(
    child_id: str,
    principal: AnyPractitionerOrFamily,
    db: DatabaseDep,
    from_: int = Query(alias="from", ge=1, le=MAX_VERSION),
    to: int = Query(ge=1, le=MAX_VERSION),
) -> PlanDiff:
    async with db.transaction() as session:
        return await plan_versions.diff(
            session, principal=principal, child_id=child_id, from_number=from_, to_number=to
        )


@router.get(
    "/fhir",
    response_model=dict[str, Any],
    summary="The plan as a FHIR R4 Bundle (CarePlan, Goal, CareTeam, Patient); not in the family view",
)
async def export_plan_fhir(child_id: str, principal: AnyPractitionerOrFamily, db: DatabaseDep) -> Response:
    async with db.transaction() as session:
        bundle = await fhir.export(session, principal=principal, child_id=child_id)
    return Response(bundle.model_dump_json(), media_type="application/fhir+json")
