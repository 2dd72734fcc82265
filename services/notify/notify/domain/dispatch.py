"""The dispatcher: a background worker that claims due notifications and hands them to a provider."""
from __future__ import annotations

import asyncio
import logging

from tas_common.db import Database
from tas_common.runtime import ServiceRuntime
from tas_common.tracing import span

from ..config import NotifySettings
from ..providers.base import PermanentFailure, Provider, TemporaryFailure
from ..providers.outbox import SmsOutboxProvider
from ..providers.smtp import SmtpProvider
from . import notifications
from .models import Notification

log = logging.getLogger("tas.notify.dispatch")


def providers_from(settings: NotifySettings) -> dict[str, Provider]:
    return {
        "email": SmtpProvider(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from),
        "sms": SmsOutboxProvider(settings.sms_outbox_path),
    }


async def send_one(db: Database, provider: Provider, notification: Notification, *, budget: int) -> None:
    with span(notification.traceparent):  # the send and its events join the trace of the triggering event
        await _send_one(db, provider, notification, budget=budget)


async def _send_one(db: Database, provider: Provider, notification: Notification, *, budget: int) -> None:
    try:
        accepted = await provider.send(notification)
    except (TemporaryFailure, PermanentFailure) as exc:
        permanent = isinstance(exc, PermanentFailure)
        log.warning("send failed", extra={"notification_id": notification.id, "provider": provider.name,
                                          "error": str(exc)})
        async with db.transaction() as session:
            await notifications.record_failure(session, notification_id=notification.id, permanent=permanent,
                                               reason=f"{provider.name}: {exc}", budget=budget)
        return
    async with db.transaction() as session:
        await notifications.record_accepted(session, notification_id=notification.id, provider=accepted.provider,
                                            provider_ref=accepted.provider_ref, delivered=accepted.delivered)


async def dispatch_once(db: Database, providers: dict[str, Provider], *, budget: int, limit: int = 50) -> int:
    async with db.transaction() as session:
        claimed = await notifications.claim_due(session, limit=limit, dialect=db.dialect)
    await asyncio.gather(*(send_one(db, providers[n.channel], n, budget=budget) for n in claimed))
    return len(claimed)


async def run_dispatcher(runtime: ServiceRuntime) -> None:
    settings: NotifySettings = runtime.settings  # type: ignore[assignment]
    providers = runtime.extras.get("providers") or providers_from(settings)
    wake = asyncio.Event()
    runtime.db.on_commit(wake.set)
    while not runtime.stopping.is_set():
        try:
            if await dispatch_once(runtime.db, providers, budget=settings.send_budget):  # type: ignore[arg-type]
                continue
        except Exception as exc:  # noqa: BLE001 - the dispatcher outlives a bad moment of the database
            log.error("dispatch failed", extra={"error": type(exc).__name__})
        wake.clear()
        try:
            await asyncio.wait_for(wake.wait(), timeout=1.0)
        except TimeoutError:
            pass
