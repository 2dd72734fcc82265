"""Recipients: UK mobiles normalised to E.164 (landlines, premium and other non-mobile numbers refused for SMS),
emails validated, and the suppression list that stops later sends to an address."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.driver import DriverStatement, flush_pending, padded
from tas_common.identifiers import normalise_email, normalise_uk_mobile
from tas_common.tables import table_of

from .models import Notification, Suppression

SUPPRESSION_REASONS = ("hard-bounce", "complaint", "opt-out", "sms-stop")
_suppression = table_of(Suppression)
_REASON = DriverStatement(select(_suppression.c.reason).where(_suppression.c.address == bindparam("address")))
"""Every message created reads it: compiled once, run on the driver's cursor (tas_common.driver)."""
_REASONS = select(_suppression.c.address, _suppression.c.reason).where(
    _suppression.c.address.in_(bindparam("addresses", expanding=True))
)
_REASONS_ON_DRIVER = {
    size: DriverStatement(
        select(_suppression.c.address, _suppression.c.reason).where(
            _suppression.c.address.in_([bindparam(f"a{i}") for i in range(size)])
        )
    )
    for size in (2, 4, 8, 16, 64)
}
"""`_REASONS` for up to 64 addresses (a contact's two, a family's, a dispatcher's claimed batch), compiled once per
size and run on the driver's cursor (tas_common.driver); the list is padded to the next size with its last
address."""


class InvalidRecipient(ValueError):
    pass


def normalise(channel: str, address: str) -> str:
    """The canonical form of an address, or InvalidRecipient."""
    value, problem = _normalised(channel, address)
    if value is None:
        raise InvalidRecipient(problem)
    return value


@lru_cache(maxsize=1024)
def _normalised(channel: str, address: str) -> tuple[str | None, str]:
    """(canonical form, "") or (None, why not). Remembered: a contact's addresses are normalised several times
    while one event is handled (the stored mobile, its reach, its family's, the message's recipient), and parsing a
    number with libphonenumber or an address with email-validator costs ~0.1 ms."""
    try:
        return _normalise(channel, address), ""
    except InvalidRecipient as exc:
        return None, str(exc)


def _normalise(channel: str, address: str) -> str:
    if channel == "sms":
        try:
            return normalise_uk_mobile(address)
        except ValueError as exc:
            raise InvalidRecipient(str(exc)) from exc
    try:
        return normalise_email(address.strip())
    except ValueError as exc:
        raise InvalidRecipient("not a valid email address") from exc


def suppression_key(channel: str, address: str) -> str:
    return address.lower() if channel == "email" else address


@dataclass(frozen=True)
class Route:
    channel: str
    recipient: str


async def suppressed(session: AsyncSession, *, channel: str, address: str) -> Suppression | None:
    return await session.get(Suppression, suppression_key(channel, address))


async def suppression_reason(session: AsyncSession, *, channel: str, address: str) -> str | None:
    """Why the address is on the suppression list, or None (`suppressed` without loading the row)."""
    reason: str | None = await _REASON.scalar(session, {"address": suppression_key(channel, address)})
    return reason


async def suppression_reasons(session: AsyncSession, *, addresses: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """`suppression_reason` for many (channel, address) pairs in one query: the suppressed pairs and why."""
    keys = {pair: suppression_key(*pair) for pair in addresses}
    if not keys:
        return {}
    wanted = sorted(set(keys.values()))
    fitted = padded(wanted, sizes=list(_REASONS_ON_DRIVER))
    rows: Sequence[tuple[Any, ...]]
    if fitted is None:
        rows = [tuple(row) for row in (await session.execute(_REASONS, {"addresses": wanted})).all()]
    else:
        await flush_pending(session)  # an address suppressed or lifted by the ORM in this unit of work
        size, values = fitted
        rows = await _REASONS_ON_DRIVER[size].all(session, {f"a{i}": key for i, key in enumerate(values)})
    found = dict(rows)
    return {pair: found[key] for pair, key in keys.items() if key in found}


OPT_OUTS = ("opt-out",)
"""What stops notifications but not a sign-in code the person asked for themselves (a message with a `secret`)."""


async def blocked_among(session: AsyncSession, *, rows: list[Notification]) -> dict[str, str]:
    """The messages of `rows` whose address is suppressed: notification id → suppression reason (one query)."""
    reasons = await suppression_reasons(session, addresses=[(n.channel, n.recipient) for n in rows])
    return {
        n.id: reasons[(n.channel, n.recipient)]
        for n in rows
        if (n.channel, n.recipient) in reasons and not (n.secret and reasons[(n.channel, n.recipient)] in OPT_OUTS)
    }


async def suppress(session: AsyncSession, *, channel: str, address: str, reason: str, source: str) -> None:
    """Add an address to the suppression list (idempotent: the first reason is kept)."""
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(f"unknown suppression reason {reason}")
    key = suppression_key(channel, address)
    if await session.get(Suppression, key) is None:
        session.add(Suppression(address=key, channel=channel, reason=reason, source=source[:60]))
        await session.flush()


async def unsuppress_opt_out(session: AsyncSession, *, channel: str, address: str) -> None:
    """A contact opting back in lifts only an opt-out; bounces and complaints stay."""
    row = await session.get(Suppression, suppression_key(channel, address))
    if row is not None and row.reason in ("opt-out", "sms-stop"):
        await session.delete(row)
