"""The background worker that hands one-time sign-in codes to notify (domain/signin.py explains why this is not
done in the request): woken by each commit that stored a code request, and once a second to tidy up."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tas_common.runtime import ServiceRuntime

from ..domain import signin
from ..keys import family_keys_of

log = logging.getLogger("tas.caseload.signin")
BATCH = 50


async def run_signin_dispatcher(runtime: ServiceRuntime) -> None:
    keys = family_keys_of(runtime)
    wake = asyncio.Event()
    runtime.db.on_commit(wake.set, when=signin.SIGNIN_REQUESTED)
    while not runtime.stopping.is_set():
        wake.clear()  # a request committed from here on wakes the next round
        try:
            async with runtime.db.transaction() as session:
                handled = await signin.dispatch_pending(session, keys=keys, limit=BATCH)
            if handled == BATCH:
                continue
        except Exception as exc:
            log.error("sign-in code dispatch failed", extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=1.0)
