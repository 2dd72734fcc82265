"""`GET /v1/insights/{waiting|timeliness|outcomes|schools}`: one answer, for one LA, school or service and a period;
as JSON, or one of its tables as CSV. Every read is audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.clock import today
from tas_common.db import Database
from tas_common.openapi import problems

from ..domain import outcomes, schools, timeliness, waiting
from ..domain.access import Scope, authorise, requested
from ..domain.periods import Period, parse_period
from ..domain.schemas import Answer
from .csv import CSV_TYPE, csv_response, wants_csv
from .deps import DatabaseDep, Format, InsightsReader, LaCode, PeriodText, SchoolUrn, ServiceId, TableName

router = APIRouter(prefix="/v1/insights", tags=["insights"])
Builder = Callable[..., Awaitable[Answer]]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The answer, or a table as CSV"}
}


async def _answer(
    request: Request,
    db: Database,
    principal: Principal,
    name: str,
    build: Builder,
    *,
    la_code: str | None,
    school_urn: str | None,
    service_id: str | None,
    period: str | None,
    format_: str | None,
    table: str | None,
) -> Answer | Response:
    kind, scope_id = requested(la_code, school_urn, service_id)
    span = parse_period(period, today=today())
    async with db.transaction() as session:
        scope = await authorise(session, principal, kind, scope_id)
        answer = await build(session, scope=scope, period=span, principal=principal)
        await audit.record(
            session,
            actor=principal,
            action="read",
            resource_type=f"insights_{name}",
            resource_id=f"{kind}:{scope_id}",
            reason=span.label,
        )
    if wants_csv(request, format_):
        return csv_response(answer, table)
    return answer


async def _waiting(session: AsyncSession, *, scope: Scope, period: Period, principal: Principal) -> Answer:
    return await waiting.answer(session, scope=scope, period=period)


async def _timeliness(session: AsyncSession, *, scope: Scope, period: Period, principal: Principal) -> Answer:
    return await timeliness.answer(session, scope=scope, period=period)


async def _outcomes(session: AsyncSession, *, scope: Scope, period: Period, principal: Principal) -> Answer:
    return await outcomes.answer(session, scope=scope, period=period)


async def _schools(session: AsyncSession, *, scope: Scope, period: Period, principal: Principal) -> Answer:
    return await schools.answer(session, scope=scope, period=period, principal=principal)


ANSWERS: dict[str, tuple[Builder, str, str]] = {
    "waiting": (
        _waiting,
        "get_waiting",
        "Waiting: days to decision and to first contact (median, 90th percentile, histogram, by month) and the "
        "referrals waiting now against their service's target",
    ),
    "timeliness": (
        _timeliness,
        "get_timeliness",
        "Statutory timeliness by calendar year, comparable with SEN2: EHC decisions within 6 weeks, plans within "
        "20 weeks (with and without exception cases), beside England (an LA or a school)",
    ),
    "outcomes": (
        _outcomes,
        "get_outcomes",
        "Outcomes by achievement status per review cycle, area of need and service; progress after support ends",
    ),
    "schools": (
        _schools,
        "get_schools",
        "The inclusion comparison of an LA's schools: concerns per 100 pupils, referred on, first help, EHC "
        "requests and plans, beside the LA median (a school's leads: their school against anonymised peers)",
    ),
}


def _route(name: str, build: Builder, operation: str, summary: str) -> None:
    async def get_answer(
        request: Request,
        principal: InsightsReader,
        db: DatabaseDep,
        la_code: LaCode = None,
        school_urn: SchoolUrn = None,
        service_id: ServiceId = None,
        period: PeriodText = None,
        format: Format = None,
        table: TableName = None,
    ) -> Any:
        return await _answer(
            request,
            db,
            principal,
            name,
            build,
            la_code=la_code,
            school_urn=school_urn,
            service_id=service_id,
            period=period,
            format_=format,
            table=table,
        )

    get_answer.__name__ = operation
    router.add_api_route(
        f"/{name}",
        get_answer,
        methods=["GET"],
        name=operation,
        response_model=Answer,
        responses={**CSV_RESPONSE, **problems(404)},
        summary=summary,
    )


for _name, (_build, _operation, _summary) in ANSWERS.items():
    _route(_name, _build, _operation, _summary)


__all__ = ["CSV_TYPE", "router"]
