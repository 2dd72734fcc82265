"""The dispatcher: a background worker that claims due notifications and hands each to the providers for its
channel, in failover order, within their rate limits; and takes over the sends a crashed process left half-way.

Exactly once, as far as a provider lets us:
1. a row is claimed atomically (created → sending) with a lease for this process before any provider is called,
   so two dispatchers never both send it;
2. before each provider call the row records which provider is being called, and the provider is given our
   notification id (Notify `reference`, SMTP `Message-ID`, outbox `id`, Twilio `StatusCallback ?ref=`);
3. each outcome is recorded as soon as its provider answers (at most `send_concurrency` calls are in flight);
4. the lease is renewed while the process works on the row; when a process dies its leases run out within
   `send_lease_seconds` and another (or the restarted) process takes the rows over: for a provider that can be
   asked (GOV.UK Notify by reference, the dev outbox by id) it asks first and records what it finds, so such a
   send is never repeated; SMTP is resent with the same Message-ID and Twilio again (residual risk: only the
   calls in flight at the instant of the crash, docs/notify.md);
5. a message accepted by a provider whose receipt never comes is a technical failure after
   `receipt_timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opentelemetry.trace import SpanKind
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.db import Database, utcnow
from tas_common.telemetry import Telemetry
from tas_common.tracing import span, within

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
from ..providers.ratelimit import TokenBucket
from . import lifecycle, recipients, scheduling, sign_in
from .models import Notification
from .recording import RECORD_PATIENCE_SECONDS as RECORD_PATIENCE_SECONDS
from .recording import RECORD_TRIES as RECORD_TRIES
from .recording import Recorder, Waiting

log = logging.getLogger("tas.notify.dispatch")
BATCH = 50
"""Messages claimed per round; a round that claims fewer found every message then due."""


def process_id() -> str:
    """Who holds a lease: this host and process, and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Outcome:
    """What one send of a notification came to; recorded as soon as it is known."""

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
        owner: str | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.db = db
        self.telemetry = telemetry
        self.settings = settings
        self.routes = {channel: list(providers) for channel, providers in routes.items()}
        self.by_name = {p.name: p for providers in self.routes.values() for p in providers}
        self.buckets = dict(buckets or {})
        self.owner = owner or process_id()
        self.working: set[str] = set()
        """Ids of the messages this dispatcher holds a lease on and is working on: only these leases are renewed."""
        self.calls = asyncio.Semaphore(settings.send_concurrency)
        self.recorder: Recorder[Outcome] = Recorder(db, self._apply_all)
        self.box = sign_in.code_box(settings)
        """Opens a sign-in code at the moment its message goes to a provider (sign_in.outgoing)."""

    async def dispatch_once(self, *, now: datetime | None = None, limit: int = BATCH) -> int:
        """Claim up to `limit` due messages, fail those whose address is suppressed and record the first provider
        of each other in ONE transaction (all before any provider is called), then send them, at most
        `send_concurrency` at a time, recording each outcome as soon as its provider answers."""
        now = now or utcnow()
        first: dict[str, Provider | None] = {}
        async with self.db.transaction() as session:
            claimed = await scheduling.claim_due(
                session, limit=limit, dialect=self.db.dialect, settings=self.settings, owner=self.owner, now=now
            )
            blocked = await recipients.blocked_among(session, rows=claimed)
            attempts = []
            for n in claimed:
                if n.id in blocked:
                    await self._apply(
                        session, Outcome(n, failed=(lifecycle.PERMANENT_FAILURE, f"suppressed: {blocked[n.id]}"))
                    )
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
                    owner=self.owner,
                )
        runs = [a for a in attempts if first[a.n.id] is None or a.n.id in marked]
        self.working |= {a.n.id for a in runs}
        results = await asyncio.gather(*(self._run(a, first=first[a.n.id]) for a in runs), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result  # a send that raised (a crash) leaves its row to be taken over when its lease ends
        return len(claimed)

    async def _run(self, attempt: Attempt, *, first: Provider | None = None, looked_up: bool = False) -> None:
        """Send one message and record its outcome at once, within the concurrency limit: no more than
        `send_concurrency` messages are ever between their provider call and its record."""
        try:
            with span(  # the send and its events join the trace of the triggering event
                attempt.n.traceparent,
                tracer=self.telemetry.tracer if self.telemetry is not None else None,
                name=f"send {attempt.n.channel}",
                kind=SpanKind.CLIENT,
                attributes={"tas.notification.id": attempt.n.id, "tas.notification.channel": attempt.n.channel},
            ):
                async with self.calls:  # held until the outcome is recorded: at most this many are in doubt
                    outcome = await self.send_one(attempt, first=first, looked_up=looked_up)
                    if outcome is not None:
                        await self.record(outcome)
        finally:
            self.working.discard(attempt.n.id)

    async def record(self, outcome: Outcome) -> None:
        """Record one outcome as soon as possible: with the others given while a record was being written, in ONE
        transaction (recording.Recorder); it returns once this outcome is recorded or given up. The provider has
        answered, so a row left unrecorded would be taken over when its lease ends and an email sent again: while
        the database cannot be reached (a PostgreSQL restart, a failover) the outcome waits for it, up to
        RECORD_PATIENCE_SECONDS from now, and its lease is renewed meanwhile (the row stays in `working`); any other
        error is tried RECORD_TRIES times, each outcome on its own."""
        await self.recorder.record(outcome)

    async def _apply_all(self, session: AsyncSession, group: Sequence[Waiting[Outcome]]) -> None:
        """`_apply` for each outcome of the group, each in the trace of its send; the plain acceptances (no sign-in
        code to forget) together, by `lifecycle.accepted_all`."""
        plain = []
        for waiting in group:
            outcome = waiting.item
            if outcome.accepted is not None and not outcome.n.secret:
                accepted = outcome.accepted
                plain.append(
                    lifecycle.Acceptance(
                        outcome.n, accepted.provider, accepted.provider_ref, accepted.delivered, waiting.traceparent
                    )
                )
                continue
            with within(waiting.traceparent):
                await self._apply(session, outcome)
        await lifecycle.accepted_all(session, plain)

    async def _apply(self, session: AsyncSession, outcome: Outcome) -> None:
        n = outcome.n
        final = outcome.failed is not None and outcome.failed[0] != lifecycle.TEMPORARY_FAILURE
        expired = n.expires_at is not None and scheduling.aware(n.expires_at) <= utcnow()
        if n.secret and (outcome.accepted is not None or final or expired):
            await lifecycle.forget_secret(session, notification_id=n.id)  # sent, or failed: the code is not kept
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
            await lifecycle.failed(session, notification_id=n.id, status=status, reason=reason, settings=self.settings)
        elif outcome.retry_at is not None:
            await lifecycle.release(session, notification_id=n.id, not_before=outcome.retry_at)

    async def recover(self, *, now: datetime | None = None) -> int:
        """Take over the messages whose sender stopped working on them (its lease ran out: a crash) and finish
        them: ask a provider that can be asked first; send again only what it does not have."""
        now = now or utcnow()
        async with self.db.transaction() as session:
            taken = await scheduling.take_over(
                session, owner=self.owner, settings=self.settings, now=now, dialect=self.db.dialect
            )
        taken = [n for n in taken if n.id not in self.working]
        self.working |= {n.id for n in taken}
        results = await asyncio.gather(*(self._resume(n) for n in taken), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return len(taken)

    async def _resume(self, n: Notification) -> None:
        log.warning("resuming an interrupted send", extra={"notification_id": n.id, "provider": n.provider})
        provider = self.by_name.get(n.provider or "")
        try:
            if isinstance(provider, LookupProvider):
                try:
                    async with self.calls:
                        found = await provider.lookup(n)
                except ProviderError:
                    return  # cannot tell whether it went: asked again when this lease runs out, never guessed
                if found is not None:
                    await self.record(Outcome(n, accepted=found))
                    return
            async with self.db.reader() as session:
                reason = await recipients.suppression_reason(session, channel=n.channel, address=n.recipient)
            if reason is not None:
                await self.record(Outcome(n, failed=(lifecycle.PERMANENT_FAILURE, f"suppressed: {reason}")))
                return
            await self._run(Attempt(self, n, start_with=n.provider), looked_up=isinstance(provider, LookupProvider))
        finally:
            self.working.discard(n.id)

    async def renew_leases(self, *, now: datetime | None = None) -> None:
        """Extend the leases of the messages this dispatcher is working on."""
        if self.working:
            async with self.db.transaction() as session:
                await scheduling.renew(
                    session,
                    owner=self.owner,
                    notification_ids=sorted(self.working),
                    settings=self.settings,
                    now=now or utcnow(),
                )

    async def expire_receipts(self, *, now: datetime | None = None) -> int:
        """A message a provider accepted whose receipt has not come within `receipt_timeout_seconds` is a
        technical failure (never sent again: it may well have arrived)."""
        now = now or utcnow()
        hours = self.settings.receipt_timeout_seconds / 3600
        async with self.db.transaction() as session:
            overdue = await scheduling.receipt_overdue(session, settings=self.settings, now=now)
            for n in overdue:
                await lifecycle.failed(
                    session,
                    notification_id=n.id,
                    status=lifecycle.TECHNICAL_FAILURE,
                    reason=f"{n.provider}: no delivery receipt within {hours:g} h",
                    settings=self.settings,
                    now=now,
                )
        return len(overdue)

    async def send_one(
        self, attempt: Attempt, *, first: Provider | None = None, looked_up: bool = False
    ) -> Outcome | None:
        """Try the attempt's providers in turn until one accepts; the outcome is left to the caller to record.
        `first`: the first provider, already chosen and recorded on the row (dispatch_once). None when the row
        is no longer this sender's (a receipt finished it, or another process took it over)."""
        n = attempt.n
        provider = first or attempt.next_provider()
        marked = first is not None
        while provider is not None:
            if not marked:
                async with self.db.transaction() as session:
                    if not await scheduling.mark_attempt(
                        session, notification_id=n.id, provider=provider.name, owner=self.owner
                    ):
                        return None
            marked = False
            try:
                accepted = None
                if isinstance(provider, LookupProvider) and n.attempts > 1 and not looked_up:
                    accepted = await provider.lookup(n)  # an earlier attempt may have gone
                if accepted is None:
                    try:
                        message = sign_in.outgoing(n, box=self.box, now=utcnow())  # a sign-in code: filled in here
                    except ValueError as exc:
                        return Outcome(n, failed=(lifecycle.PERMANENT_FAILURE, str(exc)))
                    accepted = await provider.send(message)
            except TemporaryFailure as exc:
                if exc.ambiguous and isinstance(provider, LookupProvider):
                    try:
                        found = await provider.lookup(n)
                    except ProviderError:
                        # unknown outcome: no failover; the retry looks it up again first
                        return Outcome(n, failed=(lifecycle.TEMPORARY_FAILURE, f"{provider.name}: {exc}"))
                    if found is not None:
                        return Outcome(n, accepted=found)
                attempt.errors.append(f"{provider.name}: {exc}")
                provider = attempt.next_provider()
                continue
            except (PermanentFailure, TechnicalFailure) as exc:
                return Outcome(n, failed=(exc.status, f"{provider.name}: {exc}"))
            return Outcome(n, accepted=accepted)
        return attempt.exhausted()
