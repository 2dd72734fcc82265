"""The dispatcher: a background worker that claims due notifications and hands each to the providers for its
channel, in failover order, within their rate limits; and the sweeper that finishes what a crash left half-way.

Exactly once, as far as a provider lets us:
1. a row is claimed atomically (created → sending) before any provider is called, so two dispatchers never both
   send it;
2. before each provider call the row records which provider is being called (`mark_attempt`), and the provider is
   given our notification id (Notify `reference`, SMTP `Message-ID`, outbox `id`);
3. a row still `sending` with no provider reference `sweeper_after_seconds` after its last attempt is one a crash
   interrupted between the provider call and the commit: for a provider that can be asked (GOV.UK Notify) the
   sweeper looks the reference up and records what it finds before it sends anything again; SMTP is resent with
   the same Message-ID (the receiving side can drop the duplicate); Twilio has no lookup by our id (residual risk,
   docs/notify.md).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from tas_common.db import Database, utcnow
from tas_common.runtime import ServiceRuntime
from tas_common.tracing import span

from ..config import NotifySettings
from ..providers.base import (Accepted, LookupProvider, PermanentFailure, Provider, ProviderError, TechnicalFailure,
                              TemporaryFailure)
from ..providers.govuk_notify import NotifySmsProvider
from ..providers.outbox import SmsOutboxProvider
from ..providers.ratelimit import TokenBucket
from ..providers.smtp import SmtpProvider
from ..providers.twilio import TwilioSmsProvider
from . import notifications
from .models import Notification

log = logging.getLogger("tas.notify.dispatch")


def providers_from(settings: NotifySettings) -> dict[str, list[Provider]]:
    """The providers for each channel, in failover order, from settings."""
    timeout = settings.provider_timeout_seconds

    def sms(name: str) -> Provider:
        if name == "outbox":
            return SmsOutboxProvider(settings.sms_outbox_path)
        if name == "notify":
            return NotifySmsProvider(base_url=settings.notify_api_url, service_id=settings.notify_service_id,
                                     secret=settings.notify_secret, template_id=settings.notify_sms_template_id,
                                     timeout=timeout)
        return TwilioSmsProvider(base_url=settings.twilio_api_url, account_sid=settings.twilio_account_sid,
                                 auth_token=settings.twilio_auth_token, sender=settings.twilio_from,
                                 messaging_service_sid=settings.twilio_messaging_service_sid,
                                 status_callback=f"{settings.public_base_url.rstrip('/')}/v1/receipts/twilio",
                                 timeout=timeout)

    email: list[Provider] = [SmtpProvider(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                                          domain=settings.smtp_message_id_domain, timeout=timeout)]
    return {"email": email, "sms": [sms(name) for name in settings.sms_provider_names]}


def buckets_from(settings: NotifySettings, clock: Callable[[], float] | None = None) -> dict[str, TokenBucket]:
    return {name: TokenBucket(rate, **({"clock": clock} if clock else {}))
            for name, rate in settings.provider_rates.items()}


class Dispatcher:
    def __init__(self, *, db: Database, settings: NotifySettings, routes: Mapping[str, Sequence[Provider]],
                 buckets: Mapping[str, TokenBucket] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.routes = {channel: list(providers) for channel, providers in routes.items()}
        self.by_name = {p.name: p for providers in self.routes.values() for p in providers}
        self.buckets = dict(buckets or {})

    async def dispatch_once(self, *, now: datetime | None = None, limit: int = 50) -> int:
        async with self.db.transaction() as session:
            claimed = await notifications.claim_due(session, limit=limit, dialect=self.db.dialect,
                                                    settings=self.settings, now=now)
        await asyncio.gather(*(self.send_traced(n) for n in claimed))
        return len(claimed)

    async def send_traced(self, n: Notification) -> None:
        with span(n.traceparent):  # the send and its events join the trace of the triggering event
            await self.send_one(n)

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Finish messages a crash left in `sending` without a provider reference."""
        now = now or utcnow()
        async with self.db.transaction() as session:
            rows = await notifications.stuck(session, older_than=now - timedelta(
                seconds=self.settings.sweeper_after_seconds))
            taken = [n for n in rows if await notifications.reclaim(session, n=n, now=now)]
        for n in taken:
            log.warning("resuming an interrupted send", extra={"notification_id": n.id, "provider": n.provider})
            provider = self.by_name.get(n.provider or "")
            if isinstance(provider, LookupProvider):
                try:
                    found = await provider.lookup(n)
                except ProviderError:
                    continue  # cannot tell whether it went: ask again at the next sweep, never guess
                if found is not None:
                    await self._accepted(n, found)
                    continue
            await self.send_one(n, start_with=n.provider, looked_up=isinstance(provider, LookupProvider))
        return len(taken)

    async def _accepted(self, n: Notification, accepted: Accepted) -> None:
        async with self.db.transaction() as session:
            await notifications.record_accepted(session, notification_id=n.id, provider=accepted.provider,
                                                provider_ref=accepted.provider_ref, delivered=accepted.delivered)

    async def _failed(self, n: Notification, *, status: str, reason: str) -> None:
        log.warning("send failed", extra={"notification_id": n.id, "status": status, "error": reason[:120]})
        async with self.db.transaction() as session:
            await notifications.record_failure(session, notification_id=n.id, status=status, reason=reason,
                                               settings=self.settings)

    async def send_one(self, n: Notification, *, start_with: str | None = None, looked_up: bool = False) -> None:
        async with self.db.transaction() as session:
            reason = await notifications.blocked_by_suppression(session, n=n)
        if reason is not None:
            await self._failed(n, status="permanent-failure", reason=f"suppressed: {reason}")
            return
        providers = sorted(self.routes.get(n.channel, []), key=lambda p: p.name != start_with)
        errors: list[str] = []
        waits: list[float] = []
        for provider in providers:
            bucket = self.buckets.get(provider.name)
            if bucket is not None and not bucket.try_take():
                waits.append(bucket.seconds_until_token())
                errors.append(f"{provider.name}: rate limited")
                continue
            async with self.db.transaction() as session:
                if not await notifications.mark_attempt(session, notification_id=n.id, provider=provider.name):
                    return  # no longer ours (a receipt or a sweeper finished it)
            try:
                accepted = None
                if isinstance(provider, LookupProvider) and n.attempts > 1 and not looked_up:
                    accepted = await provider.lookup(n)  # an earlier attempt may have gone
                accepted = accepted or await provider.send(n)
            except TemporaryFailure as exc:
                if exc.ambiguous and isinstance(provider, LookupProvider):
                    try:
                        found = await provider.lookup(n)
                    except ProviderError:
                        await self._failed(n, status="temporary-failure", reason=f"{provider.name}: {exc}")
                        return  # unknown outcome: no failover; the retry looks it up again first
                    if found is not None:
                        await self._accepted(n, found)
                        return
                errors.append(f"{provider.name}: {exc}")
                continue
            except (PermanentFailure, TechnicalFailure) as exc:
                await self._failed(n, status=exc.status, reason=f"{provider.name}: {exc}")
                return
            await self._accepted(n, accepted)
            return
        if waits and len(waits) == len(providers):  # only rate limits stood in the way: not a failed attempt
            async with self.db.transaction() as session:
                await notifications.release(session, notification_id=n.id,
                                            not_before=utcnow() + timedelta(seconds=min(waits)))
            return
        await self._failed(n, status="temporary-failure", reason="; ".join(errors) or "no provider")


async def run_dispatcher(runtime: ServiceRuntime) -> None:
    settings: NotifySettings = runtime.settings  # type: ignore[assignment]
    routes = runtime.extras.get("providers") or providers_from(settings)
    routes = {channel: (p if isinstance(p, list) else [p]) for channel, p in routes.items()}  # type: ignore[union-attr]
    dispatcher = Dispatcher(db=runtime.db, settings=settings, routes=routes,  # type: ignore[arg-type]
                            buckets=buckets_from(settings))
    runtime.extras["dispatcher"] = dispatcher
    wake = asyncio.Event()
    runtime.db.on_commit(wake.set, when=notifications.QUEUED)
    sweep_every = max(1.0, min(60.0, settings.sweeper_after_seconds / 2))
    last_sweep = 0.0
    loop = asyncio.get_running_loop()
    try:
        while not runtime.stopping.is_set():
            try:
                if loop.time() - last_sweep >= sweep_every:
                    last_sweep = loop.time()
                    await dispatcher.sweep()
                if await dispatcher.dispatch_once():
                    continue
            except Exception as exc:  # noqa: BLE001 - the dispatcher outlives a bad moment of the database
                log.error("dispatch failed", extra={"error": type(exc).__name__})
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), timeout=1.0)
            except TimeoutError:
                pass
    finally:
        for provider in dispatcher.by_name.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
