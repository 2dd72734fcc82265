"""The dispatcher as the notify process runs it: one Dispatcher, its send loop woken by each commit that queues a
message, and its background rounds (lease renewal, take-over of interrupted sends, receipt timeouts)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from tas_common.runtime import ServiceRuntime

from ..config import NotifySettings
from ..providers.base import Provider
from ..providers.registry import buckets_from, providers_from
from . import lifecycle
from .dispatch import BATCH, Dispatcher

log = logging.getLogger("tas.notify.dispatch")


async def _every(runtime: ServiceRuntime, seconds: float, job: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `job` every `seconds` until the service stops; a failure is logged and the next round tried."""
    never = asyncio.Event()
    while not runtime.stopping.is_set():
        try:
            await job()
        except Exception as exc:
            log.error(f"{what} failed", extra={"error": type(exc).__name__})
        await runtime.idle(never, seconds)


def _routes(given: object, settings: NotifySettings) -> dict[str, list[Provider]]:
    """Each channel's providers: those given in `runtime.extras["providers"]` (a provider or a list of them per
    channel), else those the settings configure."""
    if not given:
        return providers_from(settings)
    if not isinstance(given, Mapping):
        raise TypeError("runtime.extras['providers'] maps each channel to its providers")
    return {channel: (p if isinstance(p, list) else [p]) for channel, p in given.items()}


async def run_dispatcher(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    if not isinstance(settings, NotifySettings):
        raise TypeError("the dispatcher runs in notify, with its settings")
    dispatcher = Dispatcher(
        db=runtime.db,
        settings=settings,
        routes=_routes(runtime.extras.get("providers"), settings),
        buckets=buckets_from(settings),
        telemetry=runtime.telemetry,
    )
    runtime.extras["dispatcher"] = dispatcher
    wake = asyncio.Event()
    runtime.db.on_commit(wake.set, when=lifecycle.QUEUED)
    lease = settings.send_lease_seconds
    background = [
        asyncio.create_task(_every(runtime, lease / 5, dispatcher.renew_leases, "renewing leases")),
        asyncio.create_task(_every(runtime, max(0.2, lease / 4), dispatcher.recover, "taking over sends")),
        asyncio.create_task(
            _every(runtime, min(60.0, settings.receipt_timeout_seconds / 4), dispatcher.expire_receipts, "receipts")
        ),
    ]
    try:
        while not runtime.stopping.is_set():
            wake.clear()  # a commit that queues a message from here on wakes the next round
            try:
                if await dispatcher.dispatch_once(limit=BATCH) == BATCH:
                    continue  # perhaps more are due
            except Exception as exc:
                log.error("dispatch failed", extra={"error": type(exc).__name__})
            await runtime.idle(wake, 1.0)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for provider in dispatcher.by_name.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
