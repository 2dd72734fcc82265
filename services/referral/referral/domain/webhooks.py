"""Webhooks for MIS clients (issue 17.4), the Standard Webhooks way.

A client subscribes an endpoint to event types; each subscription has its own signing secret (`whsec_` + 32 random
bytes, base64), shown once and kept sealed. Deliveries are written by referral's event consumer, in the transaction
that handles the event (unique per subscription and event, so a redelivered event adds nothing), from:

- `concern.linked` ← `tas.caseload.child.concern_linked`: a concern the client pushed now has a child's record;
- `referral.decided` ← `tas.referral.referral.{accepted,declined,redirected}` of a concern it pushed (not for a
  safeguarding referral, whose decisions the DSL follows in TAS);
- `review.scheduled` ← `tas.caseload.review.scheduled` of a child a concern it pushed was linked to.

A payload carries ids, statuses and dates only: `{"type", "timestamp", "data": {...}}`. The delivery worker
(events/webhook_worker.py) sends them, retries with backoff for more than 24 hours, then leaves them `dead`: the
dead-letter list that the client (and the LA's integration administrators) see and replay."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import NotFound
from tas_common.issuers import SealedBox
from tas_common.paging import Key, Keyset, Page

from .exceptions import invalid_field
from .mis_schemas import DeliveryPublic, WebhookCreate, WebhookCreated, WebhookPublic
from .models import Concern
from .models_mis import MisClientRegistration, WebhookDelivery, WebhookSubscription

WRITTEN = "webhook_deliveries_written"
"""Set on a session that wrote deliveries: the delivery worker is woken after its commit."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_url(url: str, *, env: str) -> str:
    """HTTPS; plain http only to this machine and only outside production (dev and tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and env != "prod":
        return url
    raise invalid_field("body.url", "an https:// URL (http://127.0.0.1 or localhost only outside production)")


def _aad(subscription_id: str) -> str:
    return f"webhook-secret:{subscription_id}"


def secret_of(box: SealedBox, subscription: WebhookSubscription) -> str:
    return box.open(subscription.sealed_secret, aad=_aad(subscription.id))


def _public(subscription: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic.model_validate(subscription, from_attributes=True)


async def subscribe(
    session: AsyncSession, *, principal: Principal, data: WebhookCreate, box: SealedBox, env: str
) -> WebhookCreated:
    url = check_url(data.url, env=env)
    subscription = WebhookSubscription(
        client_id=principal.sub,
        url=url,
        event_types=list(map(str, data.event_types)),
        description=data.description,
        sealed_secret="",
    )
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    subscription.sealed_secret = box.seal(secret, aad=_aad(subscription.id))
    session.add(subscription)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="webhook_subscribe",
        resource_type="webhook_subscription",
        resource_id=subscription.id,
        reason=", ".join(data.event_types),
    )
    return WebhookCreated(**_public(subscription).model_dump(), secret=secret)


async def _own(session: AsyncSession, principal: Principal, subscription_id: str) -> WebhookSubscription:
    found = await session.get(WebhookSubscription, subscription_id)
    if found is None or found.client_id != principal.sub or found.status != "active":
        raise NotFound("no such webhook subscription")
    return found


async def list_subscriptions(session: AsyncSession, *, principal: Principal) -> list[WebhookPublic]:
    rows = await session.exec(
        select(WebhookSubscription)
        .where(WebhookSubscription.client_id == principal.sub, WebhookSubscription.status == "active")
        .order_by(WebhookSubscription.created_at)  # type: ignore[arg-type]
    )
    return [_public(s) for s in rows.all()]


async def get_subscription(session: AsyncSession, *, principal: Principal, subscription_id: str) -> WebhookPublic:
    return _public(await _own(session, principal, subscription_id))


async def unsubscribe(session: AsyncSession, *, principal: Principal, subscription_id: str) -> None:
    """No more deliveries are written for it; those pending stop (they go nowhere)."""
    subscription = await _own(session, principal, subscription_id)
    subscription.status = "deleted"
    session.add(subscription)
    await audit.record(
        session,
        actor=principal,
        action="webhook_unsubscribe",
        resource_type="webhook_subscription",
        resource_id=subscription.id,
    )


# --- deliveries: the list, dead letters and replay --------------------------------------------------------------

DELIVERY_ORDER = Keyset("webhook-deliveries", Key(WebhookDelivery.created_at, descending=True), Key(WebhookDelivery.id))


def delivery_public(delivery: WebhookDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(
        {**delivery.model_dump(), "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None}
    )


async def list_deliveries(
    session: AsyncSession, *, client_id: str, status: str | None, limit: int, cursor: str | None
) -> Page[DeliveryPublic]:
    query = select(WebhookDelivery).where(WebhookDelivery.client_id == client_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor:
        query = query.where(DELIVERY_ORDER.after(cursor))
    rows = list((await session.exec(query.order_by(*DELIVERY_ORDER.order_by()).limit(limit + 1))).all())
    more, rows = len(rows) > limit, rows[:limit]
    return Page[DeliveryPublic](
        items=[delivery_public(d) for d in rows],
        next_cursor=DELIVERY_ORDER.cursor((rows[-1].created_at, rows[-1].id)) if more else None,
    )


async def la_client(session: AsyncSession, *, principal: Principal, client_id: str) -> MisClientRegistration:
    client = await session.get(MisClientRegistration, client_id)
    if client is None or client.la_code != principal.la_code:
        raise NotFound("no such MIS client")
    return client


async def replay(session: AsyncSession, *, principal: Principal, client_id: str, delivery_id: str) -> DeliveryPublic:
    """A dead (or delivered) message is sent again as soon as the worker gets to it, under the same `webhook-id`
    (a receiver that had it drops the repeat), with a fresh budget of retries."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.client_id != client_id:
        raise NotFound("no such delivery")
    subscription = await session.get(WebhookSubscription, delivery.subscription_id)
    if subscription is None or subscription.status != "active":
        raise NotFound("the delivery's subscription was deleted")
    if delivery.status != "pending":
        delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, utcnow()
        delivery.leased_until = None
        session.add(delivery)
        session.info[WRITTEN] = True
        await audit.record(
            session,
            actor=principal,
            action="webhook_replay",
            resource_type="webhook_delivery",
            resource_id=delivery.id,
            reason=f"client {client_id}",
        )
    return delivery_public(delivery)


# --- fan-out: the event consumer writes deliveries ----------------------------------------------------------------


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


async def enqueue(
    session: AsyncSession, *, client_id: str, event_type: str, event_id: str, data: dict[str, Any], at: datetime
) -> int:
    """A delivery per active subscription of `client_id` to `event_type`; a subscription that already has one for
    this event (a redelivered event) gets none. Returns how many were written."""
    subscriptions = (
        await session.exec(
            select(WebhookSubscription).where(
                WebhookSubscription.client_id == client_id, WebhookSubscription.status == "active"
            )
        )
    ).all()
    wanted = [s for s in subscriptions if event_type in s.event_types]
    if not wanted:
        return 0
    already = set(
        (
            await session.exec(
                select(WebhookDelivery.subscription_id).where(
                    WebhookDelivery.event_id == event_id,
                    WebhookDelivery.subscription_id.in_([s.id for s in wanted]),  # type: ignore[attr-defined]
                )
            )
        ).all()
    )
    payload = {"type": event_type, "timestamp": _stamp(at), "data": data}
    written = 0
    for subscription in wanted:
        if subscription.id in already:
            continue
        session.add(
            WebhookDelivery(
                subscription_id=subscription.id,
                client_id=client_id,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
            )
        )
        written += 1
    if written:
        session.info[WRITTEN] = True
    return written


async def _about_concern(
    session: AsyncSession, concern: Concern, event_type: str, event_id: str, at: datetime, **data: Any
) -> None:
    """Tell the client that pushed `concern` about it, naming it by its record id."""
    assert concern.mis_client is not None
    record = {"mis_record_id": concern.mis_record_id, "concern_id": concern.id, "school_urn": concern.school_urn}
    await enqueue(
        session, client_id=concern.mis_client, event_type=event_type, event_id=event_id, at=at, data=record | data
    )


async def concern_linked(session: AsyncSession, *, concern_id: str, event_id: str, at: datetime) -> None:
    concern = await session.get(Concern, concern_id)
    if concern is None or concern.mis_client is None:
        return
    await _about_concern(session, concern, "concern.linked", event_id, at, status="linked")


async def referral_decided(
    session: AsyncSession,
    *,
    concern_id: str,
    referral_id: str,
    service_id: str,
    status: str,
    safeguarding: bool,
    event_id: str,
    at: datetime,
) -> None:
    if safeguarding:
        return
    concern = await session.get(Concern, concern_id)
    if concern is None or concern.mis_client is None or concern.safeguarding:
        return
    await _about_concern(
        session,
        concern,
        "referral.decided",
        event_id,
        at,
        referral_id=referral_id,
        service_id=service_id,
        status=status,
        decided_at=_stamp(at),
    )


async def review_scheduled(
    session: AsyncSession, *, child_id: str, review_id: str, scheduled_for: datetime, event_id: str, at: datetime
) -> None:
    """To each client that pushed a concern linked to the child (its record ids for the child)."""
    rows = (
        await session.exec(
            select(Concern.mis_client, Concern.mis_record_id, Concern.school_urn).where(
                Concern.child_id == child_id,
                Concern.mis_client.is_not(None),  # type: ignore[union-attr]
            )
        )
    ).all()
    by_client: dict[str, list[tuple[str, str]]] = {}
    for client_id, record_id, urn in rows:
        if client_id and record_id:
            by_client.setdefault(client_id, []).append((record_id, urn))
    for client_id, records in by_client.items():
        await enqueue(
            session,
            client_id=client_id,
            event_type="review.scheduled",
            event_id=event_id,
            at=at,
            data={
                "mis_record_ids": sorted(r for r, _ in records),
                "school_urns": sorted({u for _, u in records}),
                "review_id": review_id,
                "scheduled_for": _stamp(scheduled_for),
                "status": "scheduled",
            },
        )
