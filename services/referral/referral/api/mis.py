from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from tas_common.auth import Principal
from tas_common.db import Database
from tas_common.errors import InvalidInput
from tas_common.idempotency import remember, replay, request_hash
from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import mis, mis_readback
from ..domain.mis_schemas import MisConcernStatus, MisPushResult
from .deps import DatabaseDep, IdempotencyKey, MisClient

router = APIRouter(prefix="/v1/mis", tags=["mis"])
ROUTE = "POST /v1/mis/concerns"

_ITEM = {
    "type": "object",
    "description": "A concern as for POST /v1/concerns plus `mis_record_id` (string, "
    "1-100 characters, the MIS's own id)",
    "required": ["mis_record_id", "school_urn", "child", "summary"],
}
_BODY_SCHEMA = {
    "oneOf": [
        _ITEM,
        {
            "type": "object",
            "required": ["items"],
            "additionalProperties": False,
            "properties": {"items": {"type": "array", "minItems": 1, "maxItems": mis.MAX_BATCH, "items": _ITEM}},
        },
    ]
}


@router.post(
    "/concerns",
    response_model=MisPushResult,
    summary="Push concerns from a school MIS (one or a batch)",
    description='One concern, or `{"items": [...]}` with up to 1,000. Each item needs the MIS\'s own '
    "`mis_record_id`; re-sending one creates nothing: unchanged it is `duplicate`; changed, the concern "
    "gets a new version (`updated`, naming the `changed` fields; a raise to safeguarding is routed as a new "
    "safeguarding concern) or, for what a re-send may not change (the school, the child's identity, family "
    "contacts, standing safeguarding down), `conflict` naming those fields. Bad items are "
    "reported per item (status `invalid`, with the fields) while the good ones are stored. "
    "An item for a school outside the client's scope: 403 and nothing is stored. Over 1,000 "
    "items: 413 `batch-too-large`. A batch answers 200; a single item 201 when created, 200 "
    "when a duplicate, updated or a conflict, 422 when invalid.",
    responses={201: {"model": MisPushResult}, 403: {}, 413: {}, 422: {}, **problems(429)},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}},
)
async def push_concerns(
    principal: MisClient, db: DatabaseDep, payload: dict[str, Any] = Body(...), idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    body_hash = request_hash(payload)
    for attempt in range(2):  # a concurrent push of the same record ids loses on the unique key, then dedupes
        try:
            return await _push_once(db, principal=principal, payload=payload, key=idempotency_key, body_hash=body_hash)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _push_once(
    db: Database, *, principal: Principal, payload: dict[str, Any], key: str | None, body_hash: str
) -> JSONResponse:
    async with db.transaction() as session:
        if key:
            stored = await replay(session, principal=principal, key=key, route=ROUTE, body_hash=body_hash)
            if stored is not None:
                return JSONResponse(
                    stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
                )
        result, is_batch = await mis.push(session, principal=principal, payload=payload)
        if not is_batch and result.invalid:
            errors = [{"field": f"body.{e['field']}", "message": e["message"]} for e in result.results[0].errors or []]
            raise InvalidInput(
                f"{len(errors)} invalid field(s): " + ", ".join(e["field"] for e in errors), errors=errors
            )
        status_code = 201 if not is_batch and result.created else 200
        body = result.model_dump(mode="json")
        if key:
            await remember(
                session,
                principal=principal,
                key=key,
                route=ROUTE,
                body_hash=body_hash,
                status_code=status_code,
                body=body,
            )
    return JSONResponse(body, status_code=status_code)


@router.get(
    "/concerns",
    response_model=Page[MisConcernStatus],
    summary="What became of the concerns this client pushed (its schools; oldest first; keyset cursor)",
    responses=problems(429),
)
async def list_mis_concern_statuses(
    principal: MisClient,
    db: DatabaseDep,
    school_urn: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Page[MisConcernStatus]:
    async with db.transaction() as session:
        return await mis_readback.list_statuses(
            session, principal=principal, school_urn=school_urn, limit=limit, cursor=cursor
        )


@router.get(
    "/concerns/{mis_record_id}",
    response_model=MisConcernStatus,
    summary="One pushed concern by the MIS's own record id: stored, linked, its referrals' decisions",
    responses=problems(429),
)
async def get_mis_concern_status(
    principal: MisClient, db: DatabaseDep, mis_record_id: Annotated[str, Path(min_length=1, max_length=100)]
) -> MisConcernStatus:
    async with db.transaction() as session:
        return await mis_readback.get_status(session, principal=principal, mis_record_id=mis_record_id)
