"""The alert sweep: every `alert_interval_seconds`, raise the breaches not raised before (domain/alerts.py)."""

from __future__ import annotations

import asyncio
import logging

from tas_common import clock
from tas_common.runtime import ServiceRuntime

from ..config import InsightsSettings
from ..domain import alerts

log = logging.getLogger("tas.insights.alerts")


async def caught_up(runtime: ServiceRuntime) -> bool:
    """Insights has read the stream to its end: only then may a wait be judged (an unread event may have ended
    it). Not while NATS is unreachable, nor during a replay or a backlog."""
    if not runtime.bus_ready.is_set() or not runtime.runners:
        return False
    return all([await runner.pending() == 0 for runner in runtime.runners])


async def run_alert_sweep(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, InsightsSettings)
    while not runtime.stopping.is_set():
        try:
            if await caught_up(runtime):
                async with runtime.db.transaction() as session:
                    raised = await alerts.sweep(
                        session,
                        as_of=clock.now(),
                        due_within_days=settings.alert_due_within_days,
                        digest_from=settings.alert_digest_from,
                    )
                if raised:
                    log.info("alerts raised", extra={"recipients": len(raised)})
        except Exception as exc:
            log.error("alert sweep failed", extra={"error": type(exc).__name__})
        await runtime.idle(asyncio.Event(), settings.alert_interval_seconds)
