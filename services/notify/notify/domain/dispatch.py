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
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import Database, utcnow
from tas_common.runtime import ServiceRuntime
from tas_common.tracing import span

from ..config import NotifySettings
from ..providers.base import (
    Accepted,
    LookupProvider,
    PermanentFailure,
    Provider,
    ProviderError,
    TechnicalFailure,
    TemporaryFailure,
)
from ..providers.govuk_notify import NotifySmsProvider
from ..providers.outbox import SmsOutboxProvider
from ..providers.ratelimit import TokenBucket
from ..providers.smtp import SmtpProvider
from ..providers.twilio import TwilioSmsProvider
from . import lifecycle, recipients, scheduling
from .models import Notification

log = logging.getLogger("tas.notify.dispatch")
BATCH = 50
"""Messages claimed per round; a round that claims fewer found every message then due."""


def providers_from(settings: NotifySettings) -> dict[str, list[Provider]]:
    """The providers for each channel, in failover order, from settings."""
    timeout = settings.provider_timeout_seconds

    def sms(name: str) -> Provider:
        if name == "outbox":
            return SmsOutboxProvider(settings.sms_outbox_path)
        if name == "notify":
            return NotifySmsProvider(
                base_url=settings.notify_api_url,
                service_id=settings.notify_service_id,
                secret=settings.notify_secret,
                template_id=settings.notify_sms_template_id,
                timeout=timeout,
            )
        return TwilioSmsProvider(
            base_url=settings.twilio_api_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sender=settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            status_callback=f"{settings.public_base_url.rstrip('/')}/v1/receipts/twilio",
            timeout=timeout,
        )

    email: list[Provider] = [
        SmtpProvider(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            domain=settings.smtp_message_id_domain,
            timeout=timeout,
        )
    ]
    return {"email": email, "sms": [sms(name) for name in settings.sms_provider_names]}


def buckets_from(settings: NotifySettings, clock: Callable[[], float] | None = None) -> dict[str, TokenBucket]:
    return {
        name: TokenBucket(rate, **({"clock": clock} if clock else {})) for name, rate in settings.provider_rates.items()
    }


@dataclass
class Outcome:
    """What one send of a notification came to; the dispatcher records a batch's outcomes in one transaction."""

    n: Notification
    accepted: Accepted | None = None
    failed: tuple[str, str] | None = None
    """(status, reason): temporary-failure, permanent-failure or technical-failure."""
    retry_at: datetime | None = None
    """Every provider was at its rate limit: the row is given back, due again at this time."""


class Attempt:
    """One notification's way through its channel's providers in failover order (starting with `start_with`),
    skipping those at their rate limit, with the errors met on the way."""

    def __init__(self, dispatcher: Dispatcher, n: Notification, *, start_with: str | None = None) -> None:
        self.n = n
        self.providers = sorted(dispatcher.routes.get(n.channel, []), key=lambda p: p.name != start_with)
        self.buckets = dispatcher.buckets
        self.position = 0
        self.errors: list[str] = []
        self.waits: list[float] = []

    def next_provider(self) -> Provider | None:
        """The next provider with a token to spare (taking it), or None when none is left."""
        while self.position < len(self.providers):
            provider = self.providers[self.position]
            self.position += 1
            bucket = self.buckets.get(provider.name)
            if bucket is not None and not bucket.try_take():
                self.waits.append(bucket.seconds_until_token())
                self.errors.append(f"{provider.name}: rate limited")
                continue
            return provider
        return None

    def exhausted(self) -> Outcome:
        if self.waits and len(self.waits) == len(self.providers):  # only rate limits: not a failed attempt
            return Outcome(self.n, retry_at=utcnow() + timedelta(seconds=min(self.waits)))
        return Outcome(self.n, failed=("temporary-failure", "; ".join(self.errors) or "no provider"))


class Dispatcher:
    def __init__(
        self,
        *,
        db: Database,
        settings: NotifySettings,
        routes: Mapping[str, Sequence[Provider]],
        buckets: Mapping[str, TokenBucket] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.routes = {channel: list(providers) for channel, providers in routes.items()}
        self.by_name = {p.name: p for providers in self.routes.values() for p in providers}
        self.buckets = dict(buckets or {})

    async def dispatch_once(self, *, now: datetime | None = None, limit: int = BATCH) -> int:
        """Claim up to `limit` due messages, check the suppression list and record the first provider of each in
        ONE transaction (all before any provider is called), send them concurrently, then record every outcome
        in one more transaction."""
        outcomes: list[Outcome] = []
        first: dict[str, Provider | None] = {}
        async with self.db.transaction() as session:
            claimed = await scheduling.claim_due(
                session, limit=limit, dialect=self.db.dialect, settings=self.settings, now=now
            )
            blocked = await recipients.blocked_among(session, rows=claimed)
            attempts = []
            for n in claimed:
                if n.id in blocked:
                    outcomes.append(Outcome(n, failed=("permanent-failure", f"suppressed: {blocked[n.id]}")))
                    continue
                attempt = Attempt(self, n)
                first[n.id] = attempt.next_provider()
                attempts.append(attempt)
            marked: set[str] = set()
            for name in {p.name for p in first.values() if p is not None}:
                marked |= await scheduling.mark_attempts(
                    session,
                    notification_ids=[i for i, p in first.items() if p is not None and p.name == name],
                    provider=name,
                )
        results = await asyncio.gather(
            *(self.send_traced(a, first=first[a.n.id]) for a in attempts if first[a.n.id] is None or a.n.id in marked),
            return_exceptions=True,
        )
        outcomes += [r for r in results if isinstance(r, Outcome)]
        await self.record(outcomes)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # as if unbatched: a send that raised (a crash) leaves its row to the sweeper
        return len(claimed)

    async def send_traced(self, attempt: Attempt, *, first: Provider | None) -> Outcome | None:
        with span(attempt.n.traceparent):  # the send and its events join the trace of the triggering event
            return await self.send_one(attempt, first=first)

    async def record(self, outcomes: list[Outcome]) -> None:
        """Record outcomes in one transaction; if that fails, one by one (a row whose outcome cannot be recorded
        stays `sending` and the sweeper finishes it)."""
        if not outcomes:
            return
        try:
            async with self.db.transaction() as session:
                for outcome in outcomes:
                    await self._apply(session, outcome)
            return
        except Exception as exc:
            if len(outcomes) == 1:
                raise
            log.warning("recording sends failed; one by one", extra={"error": type(exc).__name__})
        for outcome in outcomes:
            try:
                async with self.db.transaction() as session:
                    await self._apply(session, outcome)
            except Exception as exc:
                log.error(
                    "recording a send failed", extra={"notification_id": outcome.n.id, "error": type(exc).__name__}
                )

    async def _apply(self, session: AsyncSession, outcome: Outcome) -> None:
        n = outcome.n
        with span(n.traceparent):
            if outcome.accepted is not None:
                await lifecycle.accepted(
                    session,
                    n=n,
                    provider=outcome.accepted.provider,
                    provider_ref=outcome.accepted.provider_ref,
                    delivered=outcome.accepted.delivered,
                )
            elif outcome.failed is not None:
                status, reason = outcome.failed
                log.warning("send failed", extra={"notification_id": n.id, "status": status, "error": reason[:120]})
                await lifecycle.failed(
                    session, notification_id=n.id, status=status, reason=reason, settings=self.settings
                )
            elif outcome.retry_at is not None:
                await lifecycle.release(session, notification_id=n.id, not_before=outcome.retry_at)

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Finish messages a crash left in `sending` without a provider reference."""
        now = now or utcnow()
        async with self.db.transaction() as session:
            rows = await scheduling.stuck(
                session, older_than=now - timedelta(seconds=self.settings.sweeper_after_seconds)
            )
            taken = [n for n in rows if await scheduling.reclaim(session, n=n, now=now)]
        for n in taken:
            log.warning("resuming an interrupted send", extra={"notification_id": n.id, "provider": n.provider})
            provider = self.by_name.get(n.provider or "")
            if isinstance(provider, LookupProvider):
                try:
                    found = await provider.lookup(n)
                except ProviderError:
                    continue  # cannot tell whether it went: ask again at the next sweep, never guess
                if found is not None:
                    await self.record([Outcome(n, accepted=found)])
                    continue
            async with self.db.transaction() as session:
                reason = await recipients.suppression_reason(session, channel=n.channel, address=n.recipient)
            if reason is not None:
                await self.record([Outcome(n, failed=("permanent-failure", f"suppressed: {reason}"))])
                continue
            outcome = await self.send_one(
                Attempt(self, n, start_with=n.provider), looked_up=isinstance(provider, LookupProvider)
            )
            if outcome is not None:
                await self.record([outcome])
        return len(taken)

    async def send_one(
        self, attempt: Attempt, *, first: Provider | None = None, looked_up: bool = False
    ) -> Outcome | None:
        """Try the attempt's providers in turn until one accepts; the outcome is left to the caller to record.
        `first`: the first provider, already chosen and recorded on the row (dispatch_once). None when the row
        is no longer this sender's (a receipt or a sweeper finished it)."""
        n = attempt.n
        provider = first or attempt.next_provider()
        marked = first is not None
        while provider is not None:
            if not marked:
                async with self.db.transaction() as session:
                    if not await scheduling.mark_attempt(session, notification_id=n.id, provider=provider.name):
                        return None
            marked = False
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
                        # unknown outcome: no failover; the retry looks it up again first
                        return Outcome(n, failed=("temporary-failure", f"{provider.name}: {exc}"))
                    if found is not None:
                        return Outcome(n, accepted=found)
                attempt.errors.append(f"{provider.name}: {exc}")
                provider = attempt.next_provider()
                continue
            except (PermanentFailure, TechnicalFailure) as exc:
                return Outcome(n, failed=(exc.status, f"{provider.name}: {exc}"))
            return Outcome(n, accepted=accepted)
        return attempt.exhausted()


async def run_dispatcher(runtime: ServiceRuntime) -> None:
    settings: NotifySettings = runtime.settings  # type: ignore[assignment]
    routes = runtime.extras.get("providers") or providers_from(settings)
    routes = {channel: (p if isinstance(p, list) else [p]) for channel, p in routes.items()}  # type: ignore[union-attr]
    dispatcher = Dispatcher(
        db=runtime.db,
        settings=settings,
        routes=routes,  # type: ignore[arg-type]
        buckets=buckets_from(settings),
    )
    runtime.extras["dispatcher"] = dispatcher
    wake = asyncio.Event()
    runtime.db.on_commit(wake.set, when=lifecycle.QUEUED)
    sweep_every = max(1.0, min(60.0, settings.sweeper_after_seconds / 2))
    last_sweep = 0.0
    loop = asyncio.get_running_loop()
    try:
        while not runtime.stopping.is_set():
            wake.clear()  # a commit that queues a message from here on wakes the next round
            try:
                if loop.time() - last_sweep >= sweep_every:
                    last_sweep = loop.time()
                    await dispatcher.sweep()
                if await dispatcher.dispatch_once(limit=BATCH) == BATCH:
                    continue  # perhaps more are due
            except Exception as exc:
                log.error("dispatch failed", extra={"error": type(exc).__name__})
            await runtime.idle(wake, 1.0)
    finally:
        for provider in dispatcher.by_name.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
