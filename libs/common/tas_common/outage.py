"""Logging a failure that repeats (NATS down, a consumer that cannot fetch) without flooding the logs: the outage
is logged once when it starts, then a summary at most every `summary_seconds` while it lasts, and once when it
ends. While NATS was down every service used to log an error every 0.5 s (~7,200 lines an hour)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any


class OutageLog:
    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        summary_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        **ids: Any,
    ) -> None:
        self.logger = logger
        self.what = what
        self.summary_seconds = summary_seconds
        self.clock = clock
        self.ids = ids
        """Safe log fields (logging.SAFE_FIELDS) on every line, e.g. `consumer=`."""
        self.since: float | None = None
        self.failures = 0
        self._last_line = 0.0

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException | None = None) -> None:
        """One more failed attempt: logged if it starts an outage, or if a summary is due."""
        now = self.clock()
        self.failures += 1
        error_name = type(error).__name__ if error is not None else None
        if self.since is None:
            self.since = self._last_line = now
            self.logger.error(f"{self.what}: failing", extra={**self.ids, "error": error_name})
        elif now - self._last_line >= self.summary_seconds:
            self._last_line = now
            self.logger.warning(
                f"{self.what}: still failing",
                extra={**self.ids, "error": error_name, "count": self.failures, "duration_ms": self._ms(now)},
            )

    def recovered(self) -> None:
        """A success: ends the outage (logged once), if there was one."""
        if self.since is None:
            return
        now = self.clock()
        self.logger.info(
            f"{self.what}: recovered", extra={**self.ids, "count": self.failures, "duration_ms": self._ms(now)}
        )
        self.since, self.failures = None, 0

    def _ms(self, now: float) -> int:
        return int((now - (self.since or now)) * 1000)
