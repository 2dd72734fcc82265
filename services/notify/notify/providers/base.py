from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..domain.models import Notification


class TemporaryFailure(Exception):
    """Worth trying again later (provider down, rate limited)."""


class PermanentFailure(Exception):
    """Will never succeed for this recipient (bad address, rejected number)."""


@dataclass(frozen=True)
class Accepted:
    provider: str
    provider_ref: str
    delivered: bool
    """True when acceptance is final (SMTP handed over, dev outbox written); False when a receipt will follow."""


class Provider(Protocol):
    name: str
    channel: str

    async def send(self, notification: Notification) -> Accepted: ...
