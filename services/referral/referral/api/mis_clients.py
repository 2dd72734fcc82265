"""MIS client registrations, by the LA's integration administrators (issue 17.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tas_common.paging import Page

from ..domain import clients
from ..domain.mis_schemas import ClientCreate, ClientCreated, ClientPublic, CredentialCreated, CredentialRotate
from .deps import DatabaseDep, IntegrationAdmin

router = APIRouter(prefix="/v1/mis/clients", tags=["mis clients"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


@router.post(
    "",
    status_code=201,
    response_model=ClientCreated,
    summary="Register an MIS client for schools of your LA (a public key, or a client secret shown once)",
)
async def register_mis_client(principal: IntegrationAdmin, db: DatabaseDep, body: ClientCreate) -> ClientCreated:
    async with db.transaction() as session:
        return await clients.register(session, principal=principal, data=body)


@router.get("", response_model=Page[ClientPublic], summary="Your LA's MIS clients (keyset cursor)")
async def list_mis_clients(
    principal: IntegrationAdmin, db: DatabaseDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[ClientPublic]:
    async with db.transaction() as session:
        return await clients.list_clients(session, principal=principal, limit=limit, cursor=cursor)


@router.get("/{client_id}", response_model=ClientPublic, summary="One MIS client and its credentials")
async def get_mis_client(principal: IntegrationAdmin, db: DatabaseDep, client_id: str) -> ClientPublic:
    async with db.transaction() as session:
        return await clients.get_client(session, principal=principal, client_id=client_id)


@router.post(
    "/{client_id}/credentials",
    status_code=201,
    response_model=CredentialCreated,
    summary="Rotate: add a key or secret; the others keep working for the overlap, then expire",
)
async def add_mis_client_credential(
    principal: IntegrationAdmin, db: DatabaseDep, client_id: str, body: CredentialRotate
) -> CredentialCreated:
    async with db.transaction() as session:
        return await clients.add_credential(session, principal=principal, client_id=client_id, data=body)


@router.post(
    "/{client_id}/credentials/{credential_id}/revoke",
    response_model=CredentialCreated,
    summary="Revoke one key or secret at once",
)
async def revoke_mis_client_credential(
    principal: IntegrationAdmin, db: DatabaseDep, client_id: str, credential_id: str
) -> CredentialCreated:
    async with db.transaction() as session:
        return await clients.revoke_credential(
            session, principal=principal, client_id=client_id, credential_id=credential_id
        )


@router.post(
    "/{client_id}/revoke",
    response_model=ClientPublic,
    summary="Revoke the client: no more tokens, and those it holds are refused within a minute",
)
async def revoke_mis_client(principal: IntegrationAdmin, db: DatabaseDep, client_id: str) -> ClientPublic:
    async with db.transaction() as session:
        return await clients.revoke(session, principal=principal, client_id=client_id)
