"""What the dispatcher needs of a provider, and how providers report failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..domain.models import Notification


class ProviderError(Exception):
    status = "technical-failure"


class TemporaryFailure(ProviderError):
    """Worth trying again (provider down, 5xx, rate limited, timed out): the next provider for the channel is
    tried. `ambiguous` when the provider may have accepted the message before the failure (a timeout after the
    request went out)."""

    status = "temporary-failure"

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class PermanentFailure(ProviderError):
    """Will never succeed for this recipient (bad address, number refused)."""

    status = "permanent-failure"


class TechnicalFailure(ProviderError):
    """Our side is wrong (credentials refused, request rejected as malformed): no point failing over."""

    status = "technical-failure"


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


@runtime_checkable
class LookupProvider(Protocol):
    """A provider that can say whether it already has a message with our reference (GOV.UK Notify)."""

    name: str
    channel: str

    async def send(self, notification: Notification) -> Accepted: ...

    async def lookup(self, notification: Notification) -> Accepted | None: ...
