"""Dead letters: the messages a consumer gave up on (not a valid event, a version it has no handler for, or a
handler that failed on its last allowed delivery). The consumer runner (consumer.py) publishes each to
`tas.deadletter.<consumer>` with `Tas-*` headers that say where it came from and why, then terminates it; they
stay in the stream for operators (`tas deadletters`, cli/deadletters.py, lists and replays them). A dead letter
is published until JetStream stores it: its message has had its last delivery, and dropping it would lose it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from .metrics import DEAD_LETTERS
from .outage import OutageLog

log = logging.getLogger("tas.consumer")

DEAD_LETTER_PREFIX = "tas.deadletter"
DEAD_LETTER_FILTER = f"{DEAD_LETTER_PREFIX}.>"


def dead_letter_subject(durable: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{durable}"


def dead_letter_headers(msg: Msg, *, durable: str, reason: str, deliveries: int) -> dict[str, str]:
    """Where the message came from and why it was given up on; its `Nats-Msg-Id` (consumer and stream sequence)
    makes a second publish of the same dead letter a duplicate JetStream drops."""
    sequence = msg.metadata.sequence.stream
    return {
        "Nats-Msg-Id": f"dlq:{durable}:{sequence}",
        "Tas-Original-Subject": msg.subject,
        "Tas-Stream-Sequence": str(sequence),
        "Tas-Consumer": durable,
        "Tas-Deliveries": str(deliveries),
        "Tas-Error": reason[:300],
        **({"traceparent": msg.headers["traceparent"]} if msg.headers and "traceparent" in msg.headers else {}),
    }


class DeadLetters:
    """One consumer's dead-letter subject."""

    def __init__(
        self,
        *,
        js: JetStreamContext,
        durable: str,
        pause: Callable[[float], Awaitable[None]],
        stopping: Callable[[], bool],
        max_delay_seconds: float,
        outage_log_seconds: float,
    ) -> None:
        self.js = js
        self.durable = durable
        self._pause = pause
        self._stopping = stopping
        self._max_delay = max_delay_seconds
        self.failing = OutageLog(
            log, f"dead letters of {durable}", summary_seconds=outage_log_seconds, consumer=durable
        )
        """A dead letter that cannot be published: logged once, then summaries, while it is retried."""

    async def move(self, msg: Msg, reason: str, deliveries: int) -> None:
        """Publish `msg` as a dead letter saying `reason`, then terminate it (no more deliveries)."""
        headers = dead_letter_headers(msg, durable=self.durable, reason=reason, deliveries=deliveries)
        await self._publish(msg.data, headers)
        await msg.term()
        DEAD_LETTERS.labels(self.durable).inc()
        log.error(
            "moved to dead letters",
            extra={"consumer": self.durable, "deliveries": deliveries, "subject": msg.subject, "error": reason[:120]},
        )

    async def _publish(self, data: bytes, headers: dict[str, str]) -> None:
        """Publish until JetStream stores it (its `Nats-Msg-Id` makes a retry safe); only a stop() gives up."""
        delay = 0.2
        while True:
            try:
                await self.js.publish(dead_letter_subject(self.durable), data, headers=headers)
            except Exception as exc:
                if self._stopping():
                    raise
                self.failing.failed(exc)
                await self._pause(delay)
                delay = min(delay * 2, self._max_delay)
                continue
            self.failing.recovered()
            return
