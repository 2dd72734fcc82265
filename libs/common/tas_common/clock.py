"""The one clock every service reads: `now()` (UTC), `today()` and the UTC calendar date of an instant.

`at(moment)` sets the clock for the code it wraps, in this process and this task only (a context variable): it is
how tests check what a day later looks like, and how `tas demo-data` writes a past year through the services' own
use cases. Nothing outside the process can move it: no request, header or setting does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

_fixed: ContextVar[datetime | None] = ContextVar("tas_clock", default=None)


def aware(value: datetime) -> datetime:
    """TAS writes only UTC; a naive value (SQLite hands them back) is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def now() -> datetime:
    fixed = _fixed.get()
    return fixed if fixed is not None else datetime.now(UTC)


def today() -> date:
    return now().date()


def day_of(value: datetime) -> date:
    """The UTC calendar date of an instant (waits are counted in whole days between such dates)."""
    return aware(value).astimezone(UTC).date()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    token = _fixed.set(aware(moment))
    try:
        yield
    finally:
        _fixed.reset(token)
