"""What every MIS route checks after the token itself: the client's registration (a revoked client's tokens are
refused, and its schools are those of its registration now, not only those its token was issued with) and its rate
limit (429 with `Retry-After`). Per process: each replica reads a registration again after `cache_seconds`, so a
revocation is in force everywhere within it; the rate limit is a token bucket per client per replica."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from tas_common.auth import Principal
from tas_common.db import Database
from tas_common.errors import DomainError, Unauthorized

from .models_mis import MisClientRegistration


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


@dataclass
class _Registration:
    active: bool
    school_urns: frozenset[str]
    read_at: float


class RateLimiter:
    """A token bucket per key: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, *, per_minute: int, burst: int) -> None:
        self.rate, self.burst = per_minute / 60.0, float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> None:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
            raise TooManyRequests(
                f"over this client's limit of {round(self.rate * 60)} requests a minute; retry after {retry_after} s",
                retry_after=retry_after,
            )
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:  # forget the idlest
            for stale in sorted(self._buckets, key=lambda k: self._buckets[k][1])[:1000]:
                del self._buckets[stale]


class ClientGate:
    def __init__(self, db: Database, *, cache_seconds: float, per_minute: int, burst: int) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self.limiter = RateLimiter(per_minute=per_minute, burst=burst)
        self._cache: dict[str, _Registration | None] = {}
        self._read_at: dict[str, float] = {}

    async def _registration(self, client_id: str) -> _Registration | None:
        now = time.monotonic()
        if client_id in self._cache and now - self._read_at[client_id] < self.cache_seconds:
            return self._cache[client_id]
        async with self.db.reader() as session:
            row = await session.get(MisClientRegistration, client_id) if len(client_id) <= 36 else None
        found = (
            None
            if row is None
            else _Registration(active=row.status == "active", school_urns=frozenset(row.school_urns), read_at=now)
        )
        self._cache[client_id], self._read_at[client_id] = found, now
        return found

    async def admit(self, principal: Principal) -> Principal:
        """The principal as its registration allows now; tokens of an LA's own identity provider (no registration
        here) keep the schools their token names."""
        registration = await self._registration(principal.sub)
        if registration is not None:
            if not registration.active:
                raise Unauthorized("this MIS client's registration is revoked")
            narrowed = principal.school_urns & registration.school_urns
            if narrowed != principal.school_urns:
                principal = principal.model_copy(update={"school_urns": narrowed})
        self.limiter.take(principal.sub)
        return principal
