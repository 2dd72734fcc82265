"""Webhooks for MIS clients (issue 17.4): subscriptions, deliveries and the dead-letter list with replay — for the
client itself, and for the integration administrators of the client's LA."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from tas_common.openapi import problems
from tas_common.paging import Page

from ..domain import webhooks
from ..domain.mis_schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from .deps import DatabaseDep, IntegrationAdmin, MisClient

router = APIRouter(prefix="/v1/mis/webhooks", tags=["mis webhooks"], responses=problems(429))
la_router = APIRouter(prefix="/v1/mis/clients/{client_id}/deliveries", tags=["mis clients"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
Status = Annotated[Literal["pending", "delivered", "dead"] | None, Query(description="`dead`: the dead-letter list")]


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe an HTTPS endpoint to event types; the signing secret is shown once",
)
async def subscribe_webhook(
    request: Request, principal: MisClient, db: DatabaseDep, body: WebhookCreate
) -> WebhookCreated:
    box = request.app.state.runtime.extras["mis_keys"].webhook_box
    async with db.transaction() as session:
        return await webhooks.subscribe(
            session, principal=principal, data=body, box=box, env=request.app.state.settings.env
        )


@router.get("", response_model=list[WebhookPublic], summary="This client's webhook subscriptions")
async def list_webhooks(principal: MisClient, db: DatabaseDep) -> list[WebhookPublic]:
    async with db.transaction() as session:
        return await webhooks.list_subscriptions(session, principal=principal)


@router.get("/deliveries", response_model=Page[DeliveryPublic], summary="This client's deliveries (newest first)")
async def list_webhook_deliveries(
    principal: MisClient, db: DatabaseDep, status: Status = None, limit: Limit = 50, cursor: Cursor = None
) -> Page[DeliveryPublic]:
    async with db.transaction() as session:
        return await webhooks.list_deliveries(
            session, client_id=principal.sub, status=status, limit=limit, cursor=cursor
        )


@router.post(
    "/deliveries/{delivery_id}/replay",
    response_model=DeliveryPublic,
    summary="Send a dead (or delivered) message again, under the same webhook-id",
)
async def replay_webhook_delivery(principal: MisClient, db: DatabaseDep, delivery_id: str) -> DeliveryPublic:
    async with db.transaction() as session:
        return await webhooks.replay(session, principal=principal, client_id=principal.sub, delivery_id=delivery_id)


@router.get("/{subscription_id}", response_model=WebhookPublic, summary="One webhook subscription")
async def get_webhook(principal: MisClient, db: DatabaseDep, subscription_id: str) -> WebhookPublic:
    async with db.transaction() as session:
        return await webhooks.get_subscription(session, principal=principal, subscription_id=subscription_id)


@router.delete("/{subscription_id}", status_code=204, summary="Unsubscribe: no more deliveries to it")
async def delete_webhook(principal: MisClient, db: DatabaseDep, subscription_id: str) -> None:
    async with db.transaction() as session:
        await webhooks.unsubscribe(session, principal=principal, subscription_id=subscription_id)


@la_router.get("", response_model=Page[DeliveryPublic], summary="An MIS client's webhook deliveries (its LA)")
async def list_client_deliveries(
    principal: IntegrationAdmin,
    db: DatabaseDep,
    client_id: str,
    status: Status = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[DeliveryPublic]:
    async with db.transaction() as session:
        await webhooks.la_client(session, principal=principal, client_id=client_id)
        return await webhooks.list_deliveries(session, client_id=client_id, status=status, limit=limit, cursor=cursor)


@la_router.post(
    "/{delivery_id}/replay", response_model=DeliveryPublic, summary="Replay an MIS client's dead letter (its LA)"
)
async def replay_client_delivery(
    principal: IntegrationAdmin, db: DatabaseDep, client_id: str, delivery_id: str
) -> DeliveryPublic:
    async with db.transaction() as session:
        await webhooks.la_client(session, principal=principal, client_id=client_id)
        return await webhooks.replay(session, principal=principal, client_id=client_id, delivery_id=delivery_id)
