from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from tas_common.idempotency import run_once

from ..domain import concerns
from ..domain.schemas import ConcernCreate, ConcernPublic
from .deps import DatabaseDep, IdempotencyKey, SchoolStaff

router = APIRouter(prefix="/v1/concerns", tags=["concerns"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConcernPublic,
             summary="Raise a concern about a pupil of your school")
async def raise_concern(body: ConcernCreate, principal: SchoolStaff, db: DatabaseDep,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    return await run_once(db, principal=principal, key=idempotency_key, route="POST /v1/concerns",
                          request_body=body,
                          create=lambda session: concerns.raise_concern(session, principal=principal, data=body))


@router.get("/{concern_id}", response_model=ConcernPublic, summary="Read a concern your school raised")
async def get_concern(concern_id: str, principal: SchoolStaff, db: DatabaseDep) -> ConcernPublic:
    async with db.transaction() as session:
        return await concerns.get_concern(session, principal=principal, concern_id=concern_id)
