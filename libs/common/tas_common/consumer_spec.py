"""What a durable consumer is: its handlers by payload type, its delivery budgets and waits (ConsumerSpec), and the
exception a handler raises when it cannot act yet (RetryLater). consumer.py runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from .events import CloudEvent, EventPayload
from .settings import CommonSettings

Handler = Callable[[AsyncSession, Any, CloudEvent], Awaitable[None]]
"""`handler(session, payload, event)`: the payload is the event's, validated once by the runner into the payload type
the handler is keyed by; the envelope gives the event's id and time."""
Handlers = Mapping[type[EventPayload], Handler]
LINGER_MESSAGES = 4.0
"""A consumer's linger is long enough for this many messages to arrive at its recent rate (`linger_for`)."""


class RetryLater(Exception):
    """A handler raises this when it cannot act yet (e.g. an event it depends on has not arrived)."""


@dataclass
class ConsumerSpec:
    durable: str
    handlers: Handlers
    """Payload type (e.g. `ConcernRaisedV1`) → handler. The consumer filters on their subjects."""
    max_deliver: int = 5
    """Deliveries of a message whose handler fails before it is dead-lettered."""
    max_deliver_not_yet: int = 20
    """Deliveries of a message whose handler raises RetryLater (what it needs has not arrived yet, e.g. a contact
    whose event a redelivery will bring) before it is dead-lettered: with the backoff capped at its last step, a
    wait of ~35 min by default rather than max_deliver's ~2.5, so an event held up by an outage is not lost."""
    backoff_seconds: Sequence[float] = (1.0, 5.0, 30.0, 120.0)
    ack_wait_seconds: float = 30.0
    batch_size: int = 50
    fetch_wait_seconds: float = 0.05
    """How long a busy consumer's fetch of a batch may wait (the last fetch brought messages): it returns at once
    with the messages there are, else at the first to arrive, else after this wait, and the consumer is idle."""
    linger_seconds: float = 0.02
    """After a fetch that brought messages but fewer than `batch_size`, the consumer waits this long before it
    fetches again, so that the messages arriving meanwhile come in ONE fetch and are handled in one transaction
    (`handle_batch`) instead of one each. A full batch is followed by a fetch at once (more are waiting), and an
    idle consumer's first message is handled at once (no latency added to a quiet system). At 150 concerns/s a
    20 ms linger took the pipeline's CPU a concern from ~11 to ~8.7 ms and its p99 did not rise (bench/NOTES.md,
    issue 18 session 11): each fetch, transaction, fsync and relay round carries several messages."""
    linger_longest_seconds: float = 0.04
    """When messages come slowly the linger grows, up to this: long enough for `LINGER_MESSAGES` to arrive at the
    rate the consumer fetched them over the last second (`linger_for`). At 50 concerns/s caseload's and notify's
    consumers each take ~100 messages a second and linger 40 ms; at 150/s, ~300, and they linger the shortest,
    `linger_seconds`, as before. A message is handled with the others of its fetch, so at low rates the wait buys
    fewer transactions, fsyncs and acks a message: the pipeline's CPU a concern at 50/s fell 10–20% (SQLite ~13.5 →
    ~12 ms, PostgreSQL ~18 → ~15), its p50 rose ~20 ms (bench/NOTES.md, issue 18 session 15). At high rates, where
    batches form anyway, it changes nothing. A value at or below `linger_seconds` keeps the linger fixed at
    `linger_seconds` (referral's 0.2 s is above the 0.04 default)."""
    idle_wait_seconds: float = 1.0
    """How long an idle consumer's pull for ONE message waits at the server. It returns at the first message (no
    latency added), so an idle consumer asks once a second instead of 1/fetch_wait times; `stop()` cancels it."""
    on_committed: Callable[[CloudEvent], Awaitable[None]] | None = field(default=None, repr=False)
    """Called after the handler's transaction commits and before the ack (observability and fault injection)."""

    @classmethod
    def configured(cls, settings: CommonSettings, *, durable: str, handlers: Handlers) -> ConsumerSpec:
        """A service's consumer with the delivery budget, backoff and ack wait of its settings."""
        return cls(
            durable=durable,
            handlers=handlers,
            max_deliver=settings.consumer_max_deliver,
            max_deliver_not_yet=settings.consumer_max_deliver_not_yet,
            backoff_seconds=settings.consumer_backoff_seconds,
            ack_wait_seconds=settings.consumer_ack_wait_seconds,
            linger_seconds=settings.consumer_linger_seconds,
            linger_longest_seconds=settings.consumer_linger_longest_seconds,
        )

    def linger_for(self, messages_per_second: float) -> float:
        """The linger after a fetch that was not a full batch, when messages have come at `messages_per_second`:
        the time `LINGER_MESSAGES` take to arrive, between `linger_seconds` and `linger_longest_seconds`."""
        shortest = self.linger_seconds
        longest = max(shortest, self.linger_longest_seconds)
        if messages_per_second <= 0:
            return longest
        return min(longest, max(shortest, LINGER_MESSAGES / messages_per_second))

    @property
    def subjects(self) -> list[str]:
        return sorted({payload.subject for payload in self.handlers})
