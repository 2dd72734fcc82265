"""The webhook delivery worker: sends the deliveries the event consumer wrote (domain/webhooks.py).

Each round it takes the due deliveries (pending, `next_attempt_at` passed, not leased by a live replica), at most
`TAS_WEBHOOK_PER_SUBSCRIPTION` in flight per subscription (a slow or failing receiver holds only those slots,
never another client's), claims them with a lease in one conditional update (two replicas never send the same
delivery at once; one that died mid-send is taken over when its lease ends), and sends them concurrently under a
per-replica limit. A delivery is signed the Standard
Webhooks way (`webhook-id` = the delivery's id on every attempt, `webhook-timestamp`, `webhook-signature` =
`v1,` + HMAC-SHA256 with the subscription's secret) and must be answered 2xx within the timeout; otherwise it is
tried again after the next wait of `TAS_WEBHOOK_RETRY_SECONDS` (with jitter), and after the last it is `dead`.
New deliveries wake the worker after their transaction commits; retries are found by polling."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import or_, update
from sqlmodel import col, select
from standardwebhooks import Webhook

from tas_common.db import utcnow

from ..domain.models_mis import WebhookDelivery, WebhookSubscription
from ..domain.webhooks import WRITTEN, secret_of

if TYPE_CHECKING:
    from tas_common.runtime import ServiceRuntime

log = logging.getLogger("tas.webhooks")


class DeliveryWorker:
    def __init__(self, runtime: ServiceRuntime) -> None:
        settings: Any = runtime.settings
        self.runtime = runtime
        self.db = runtime.db
        self.box = runtime.extras["mis_keys"].webhook_box  # type: ignore[attr-defined]
        self.retry = [float(s) for s in settings.webhook_retry_seconds]
        self.timeout = float(settings.webhook_timeout_seconds)
        self.lease = float(settings.webhook_lease_seconds)
        self.poll = float(settings.webhook_poll_seconds)
        self.slots = asyncio.Semaphore(int(settings.webhook_concurrency))
        self.wake = asyncio.Event()
        self.per_subscription = int(settings.webhook_per_subscription)
        self.in_flight: dict[str, int] = {}
        """Subscription → its deliveries being sent by this replica (at most `per_subscription`)."""
        self.tasks: set[asyncio.Task[None]] = set()
        self.db.on_commit(self.wake.set, when=WRITTEN)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
            self.http = http
            while not self.runtime.stopping.is_set():
                try:
                    await self._round()
                except Exception as exc:  # the database is away: try again next round
                    log.warning("webhook round failed", extra={"error": type(exc).__name__})
                self.wake.clear()
                await self.runtime.idle(self.wake, self.poll)
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=self.timeout)

    async def _round(self) -> None:
        now = utcnow()
        async with self.db.reader() as session:
            due = (
                await session.exec(
                    select(WebhookDelivery.id, WebhookDelivery.subscription_id)
                    .where(
                        WebhookDelivery.status == "pending",
                        WebhookDelivery.next_attempt_at <= now,
                        or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) < now),
                    )
                    .order_by(col(WebhookDelivery.next_attempt_at))
                    .limit(500)
                )
            ).all()
            taken: dict[str, int] = {}
            chosen: list[str] = []
            for delivery_id, subscription_id in due:
                count = taken.get(subscription_id, self.in_flight.get(subscription_id, 0))
                if count < self.per_subscription:
                    taken[subscription_id] = count + 1
                    chosen.append(delivery_id)
            if not chosen:
                return
            subscriptions = {
                s.id: s
                for s in (
                    await session.exec(select(WebhookSubscription).where(col(WebhookSubscription.id).in_(list(taken))))
                ).all()
            }
        for delivery_id, subscription_id, payload, attempts in await self._claim(chosen):
            subscription = subscriptions.get(subscription_id)
            if subscription is None:
                continue
            self.in_flight[subscription_id] = self.in_flight.get(subscription_id, 0) + 1
            task = asyncio.create_task(self._deliver(delivery_id, subscription, payload, attempts))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _claim(self, delivery_ids: list[str]) -> list[tuple[str, str, dict[str, Any], int]]:
        """Lease the deliveries no live replica holds, in one statement (one commit for the round): those it
        returns are this replica's to send."""
        now = utcnow()
        async with self.db.transaction() as session:
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id).in_(delivery_ids),
                    col(WebhookDelivery.status) == "pending",
                    or_(col(WebhookDelivery.leased_until).is_(None), col(WebhookDelivery.leased_until) < now),
                )
                .values(leased_until=now + timedelta(seconds=self.lease))
                .returning(
                    col(WebhookDelivery.id),
                    col(WebhookDelivery.subscription_id),
                    col(WebhookDelivery.payload),
                    col(WebhookDelivery.attempts),
                )
            )
            return [(row[0], row[1], row[2], row[3]) for row in result.all()]

    async def _deliver(
        self, delivery_id: str, subscription: WebhookSubscription, payload: dict[str, Any], attempts: int
    ) -> None:
        released = False

        def release() -> None:
            """The receiver has answered (or not): its slot is free for the subscription's next delivery while this
            one's outcome is recorded (the lease keeps it from being sent again meanwhile)."""
            nonlocal released
            if released:
                return
            released = True
            left = self.in_flight.get(subscription.id, 1) - 1
            if left > 0:
                self.in_flight[subscription.id] = left
            else:
                self.in_flight.pop(subscription.id, None)
            self.wake.set()

        try:
            if subscription.status != "active":
                await self._finish(delivery_id, status="dead", code=None, error="subscription deleted")
                return
            async with self.slots:
                code, error = await self._send(delivery_id, subscription, payload)
            release()
            if error is None:
                await self._finish(delivery_id, status="delivered", code=code, error=None)
            else:
                await self._failed(delivery_id, attempts=attempts + 1, code=code, error=error)
        except Exception as exc:
            log.warning("webhook delivery failed to record", extra={"error": type(exc).__name__})
        finally:
            release()

    async def _send(
        self, delivery_id: str, subscription: WebhookSubscription, payload: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        """One attempt: the receiver's status code, and what went wrong (None when it answered 2xx)."""
        body = json.dumps(payload, separators=(",", ":"))
        sent_at = utcnow()
        signature = Webhook(secret_of(self.box, subscription)).sign(delivery_id, sent_at, body)
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
            "user-agent": "TAS-Webhooks/1",
        }
        try:
            response = await self.http.post(subscription.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        code = response.status_code
        return code, None if 200 <= code < 300 else f"HTTP {code}"

    async def _failed(self, delivery_id: str, *, attempts: int, code: int | None, error: str | None) -> None:
        if attempts > len(self.retry):
            await self._finish(delivery_id, status="dead", code=code, error=error, attempts=attempts)
            return
        wait = self.retry[attempts - 1] * random.uniform(0.9, 1.1)
        async with self.db.transaction() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == "pending")
                .values(
                    attempts=attempts,
                    next_attempt_at=utcnow() + timedelta(seconds=wait),
                    leased_until=None,
                    last_status=code,
                    last_error=error,
                )
            )

    async def _finish(
        self, delivery_id: str, *, status: str, code: int | None, error: str | None, attempts: int | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "leased_until": None, "last_status": code, "last_error": error}
        if status == "delivered":
            values["delivered_at"] = utcnow()
            values["attempts"] = WebhookDelivery.attempts + 1
        elif attempts is not None:
            values["attempts"] = attempts
        async with self.db.transaction() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.id) == delivery_id, col(WebhookDelivery.status) == "pending")
                .values(**values)
            )
        if status == "dead":
            log.warning("webhook delivery dead-lettered", extra={"delivery_id": delivery_id, "error": error})


async def run_webhook_worker(runtime: ServiceRuntime) -> None:
    await DeliveryWorker(runtime).run()
