"""A service process's long-lived parts: database, token verifier, NATS connection, outbox relay, consumers and
any background workers. Started and drained by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from .auth import ClaimMapping, DevIssuer, OrgType, TokenVerifier, TrustedIssuer, pem_key
from .consumer import ConsumerRunner
from .consumer_spec import ConsumerSpec
from .db import Database
from .issuers import PublicKeyFile
from .outage import OutageLog
from .outbox import OutboxRelay, outbox_lag
from .settings import CommonSettings
from .stream import ensure_stream
from .telemetry import Telemetry

log = logging.getLogger("tas.runtime")

Worker = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]
CONNECTION_ERRORS = (OSError, TimeoutError, nats.errors.StaleConnectionError, nats.errors.ConnectionClosedError)
"""What nats-py reports when the connection is lost or refused (UnexpectedEOF is a StaleConnectionError)."""


def main_issuer(settings: CommonSettings) -> TrustedIssuer:
    """The organisations' OIDC provider (`TAS_JWKS_URL`), or in the embedded default the dev issuer. In production
    it may not vouch for families: only caseload's family issuer does."""
    org_types = frozenset(OrgType) - {OrgType.family} if settings.env == "prod" else None
    if settings.jwks_url:
        return TrustedIssuer(settings.jwt_issuer, org_types=org_types, jwks_url=settings.jwks_url)
    if settings.dev_key_dir is None:
        raise ValueError("set TAS_JWKS_URL, or TAS_DEV_KEY_DIR in dev")
    issuer = DevIssuer(settings.dev_key_dir).ensure()
    return TrustedIssuer(settings.jwt_issuer, org_types=org_types, public_key=pem_key(issuer.public_key_pem()))


def family_issuer(settings: CommonSettings) -> TrustedIssuer | None:
    """Caseload's family issuer, trusted for `org_type: family` only: its JWKS (`TAS_FAMILY_JWKS_URL`), or in the
    embedded default its public key under `TAS_FAMILY_KEY_DIR` (read once caseload has written it)."""
    only = frozenset({OrgType.family})
    if settings.family_jwks_url:
        return TrustedIssuer(settings.family_issuer, org_types=only, jwks_url=settings.family_jwks_url)
    if settings.family_key_dir is None or settings.env == "prod":
        return None  # production: without TAS_FAMILY_JWKS_URL, family tokens are not accepted
    return TrustedIssuer(
        settings.family_issuer, org_types=only, public_key=PublicKeyFile(settings.family_key_dir / "public.pem").get
    )


def organisation_issuers(settings: CommonSettings) -> list[TrustedIssuer]:
    """The organisations' own OIDC providers (TAS_TRUSTED_ISSUERS), each for the organisation types configured."""
    return [
        TrustedIssuer(
            c.issuer,
            org_types=frozenset(OrgType(o) for o in c.org_types),
            jwks_url=c.jwks_url,
            audience=c.audience,
            claims=ClaimMapping(names=c.claim_names, roles=c.role_map, fixed=c.claims),
        )
        for c in settings.trusted_issuers
    ]


def mis_issuer(settings: CommonSettings) -> TrustedIssuer | None:
    """Referral's client-credentials issuer for registered MIS clients, trusted for `org_type: mis` only: its JWKS
    (`TAS_MIS_JWKS_URL`), or in the embedded default its public key under `TAS_MIS_KEY_DIR`."""
    only = frozenset({OrgType.mis})
    if settings.mis_jwks_url:
        return TrustedIssuer(settings.mis_issuer, org_types=only, jwks_url=settings.mis_jwks_url)
    if settings.mis_key_dir is None or settings.env == "prod":
        return None  # production: without TAS_MIS_JWKS_URL, the MIS issuer's tokens are not accepted
    return TrustedIssuer(
        settings.mis_issuer, org_types=only, public_key=PublicKeyFile(settings.mis_key_dir / "public.pem").get
    )


def build_verifier(settings: CommonSettings, own_issuers: Sequence[TrustedIssuer] = ()) -> TokenVerifier:
    """The issuers a service trusts: the main one, the family issuer, the MIS issuer and any the service runs itself
    (`own_issuers`, which replace a default of the same `iss`: caseload verifies its family tokens with its own
    key, referral its MIS client-credentials tokens; the others trust them through their JWKS)."""
    defaults = (main_issuer(settings), family_issuer(settings), mis_issuer(settings))
    trusted = {t.issuer: t for t in defaults if t is not None}
    trusted |= {t.issuer: t for t in organisation_issuers(settings)}
    trusted |= {t.issuer: t for t in own_issuers}
    return TokenVerifier(audience=settings.jwt_audience, issuers=list(trusted.values()))


def nats_servers(url: str) -> list[str]:
    """`TAS_NATS_URL` may list a cluster's servers separated by commas; the client also learns the others."""
    return [part.strip() for part in url.split(",") if part.strip()]


class ServiceRuntime:
    def __init__(
        self,
        settings: CommonSettings,
        *,
        consumers: Sequence[ConsumerSpec] = (),
        workers: Sequence[Worker] = (),
        own_issuers: Sequence[TrustedIssuer] = (),
    ) -> None:
        self.settings = settings
        self.consumer_specs = list(consumers)
        self.workers = list(workers)
        self.db = Database(settings.database_url, wal_checkpointer=True)
        self.verifier = build_verifier(settings, own_issuers)
        self.telemetry = Telemetry(settings)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.relay: OutboxRelay | None = None
        self.runners: list[ConsumerRunner] = []
        self.bus_ready = asyncio.Event()
        self.extras: dict[str, object] = {}
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.nats_outage = OutageLog(log, "NATS", summary_seconds=settings.outage_log_seconds)
        """The connection: lost (once), still lost (a summary at most every `outage_log_seconds`), back (once)."""

    async def start(self) -> None:
        self.telemetry.start()
        self._tasks.append(asyncio.create_task(self._run_bus(), name=f"{self.settings.service_name}-bus"))
        if self.db.checkpointer is not None:
            self._tasks.append(asyncio.create_task(self.db.checkpointer.run(self.stopping), name="wal-checkpoints"))
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(worker(self), name=getattr(worker, "__name__", "worker")))

    async def _connect(self) -> NATS:
        delay = 0.2
        while True:
            try:
                nc = await nats.connect(
                    servers=nats_servers(self.settings.nats_url),
                    name=self.settings.service_name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    allow_reconnect=True,
                    error_cb=self._nats_error,
                    disconnected_cb=self._nats_disconnected,
                    reconnected_cb=self._nats_reconnected,
                )
            except Exception as exc:
                self.nats_outage.failed(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nats_outage.recovered()
            return nc

    async def _nats_error(self, exc: Exception) -> None:
        """nats-py's default logs every failed reconnect attempt (every 0.5 s while NATS is down): a lost or
        refused connection is part of the outage; anything else (e.g. a slow consumer) is logged as itself."""
        if isinstance(exc, CONNECTION_ERRORS) or not (self.nc is not None and self.nc.is_connected):
            self.nats_outage.failed(exc)
        else:
            log.warning("NATS error", extra={"error": type(exc).__name__})

    async def _nats_disconnected(self) -> None:
        if not self.stopping.is_set():
            self.nats_outage.failed()

    async def _nats_reconnected(self) -> None:
        self.nats_outage.recovered()

    async def _run_bus(self) -> None:
        self.nc = await self._connect()
        self.js = self.nc.jetstream()
        while True:
            try:
                await ensure_stream(
                    self.js,
                    name=self.settings.stream_name,
                    max_age_seconds=self.settings.stream_max_age_seconds,
                    replicas=self.settings.stream_replicas,
                )
                self.runners = [
                    ConsumerRunner(
                        db=self.db,
                        js=self.js,
                        stream=self.settings.stream_name,
                        spec=spec,
                        outage_log_seconds=self.settings.outage_log_seconds,
                        telemetry=self.telemetry,
                    )
                    for spec in self.consumer_specs
                ]
                for runner in self.runners:
                    await runner.ensure()
                break
            except Exception as exc:
                log.warning("stream provisioning failed; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(1.0)
        self.relay = OutboxRelay(
            db=self.db,
            js=self.js,
            service=self.settings.service_name,
            poll_seconds=self.settings.outbox_poll_seconds,
            outage_log_seconds=self.settings.outage_log_seconds,
            linger_seconds=self.settings.outbox_linger_seconds,
        )
        self.db.on_events_committed(self.relay.wake)
        tasks = [asyncio.create_task(self._keep_running("outbox relay", self.relay.run), name="outbox-relay")]
        tasks += [
            asyncio.create_task(self._keep_running(f"consumer {r.durable}", r.run), name=f"consumer-{r.durable}")
            for r in self.runners
        ]
        self.bus_ready.set()
        await asyncio.gather(*tasks)

    async def _keep_running(self, what: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run a bus task until the runtime stops; if it ever ends otherwise (a bug: the relay and the runners
        retry their own failures), log it and start it again, so that it never dies silently. While it is down,
        /readyz says so (a runner's `running` is false)."""
        restarts = OutageLog(log, f"{what} task", summary_seconds=self.settings.outage_log_seconds)
        delay = 0.5
        while not self.stopping.is_set():
            try:
                await run()
                if self.stopping.is_set():
                    return
                raise RuntimeError("returned without being stopped")
            except Exception as exc:
                restarts.failed(exc)
            await self.idle(asyncio.Event(), delay)
            delay = min(delay * 2, 10.0)

    async def idle(self, wake: asyncio.Event, timeout: float) -> None:
        """A worker's pause between rounds: returns when `wake` is set, when the runtime starts stopping (so that
        shutdown does not wait out the timeout), or after `timeout` seconds."""
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(self.stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def refresh_gauges(self) -> None:
        """Bring the outbox and consumer gauges up to date; each part on its own, so that a NATS outage still
        shows the outbox growing (the gauges keep their last value for what cannot be read)."""
        with contextlib.suppress(Exception):
            await outbox_lag(self.db, self.settings.service_name)
        for runner in self.runners:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.pending(), timeout=2.0)

    async def ready(self) -> dict[str, bool]:
        """Database and NATS reachable, and every consumer in its loop and not failing (a consumer that cannot
        fetch, e.g. its durable consumer was deleted, is not ready even while NATS is)."""
        return {
            "database": await self.db.ping(),
            "nats": bool(self.nc and self.nc.is_connected),
            "consumers": self.bus_ready.is_set() and all(runner.healthy for runner in self.runners),
        }

    async def stop(self) -> None:
        """Drain: stop fetching, let the message in hand finish, flush the relay, close connections."""
        self.stopping.set()
        if not self.bus_ready.is_set() and self._tasks:
            self._tasks[0].cancel()  # still waiting for NATS: nothing in flight to drain
        for runner in self.runners:
            runner.stop()
        if self.relay is not None:
            self.relay.stop()
        for task in self._tasks:
            if not task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=3.0)
                except (TimeoutError, asyncio.CancelledError, Exception):
                    task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()
        await self.db.dispose()
        await asyncio.to_thread(self.telemetry.stop)  # the spans of the drain are exported too
