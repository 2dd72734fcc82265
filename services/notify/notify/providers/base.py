"""What the dispatcher needs of a provider, how providers report failure, and what a provider's callback (a
delivery receipt, a reply) says once read and verified (each provider's module reads its own)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

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


# --- receipts -------------------------------------------------------------------------------------------------

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPIO", "STOP ALL"})


class ReceiptRefused(Exception):
    """The callback does not prove it comes from the provider (signature or token): nothing is read."""


class ReceiptUnreadable(ValueError):
    """A verified callback whose content makes no sense; `field` names where."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Receipt:
    """A provider's word about one of our messages."""

    provider: str
    status: str | None
    """sending (accepted, on its way), delivered, temporary-failure, permanent-failure, technical-failure; None
    when it changes no status (a complaint, a deferral)."""
    reason: str = ""
    reference: str | None = None
    """Our notification id, when the provider echoes it."""
    provider_ref: str | None = None
    """The provider's own id of the message (or the Message-ID we gave it)."""
    suppress: str | None = None
    """A suppression reason for the message's address whatever its status (a bounce or complaint)."""
    event: str | None = None
    """What happened to the message (`bounced`, `complained`): noted on it when its status is already final,
    as an SMTP bounce after the relay accepted the message is."""


@dataclass(frozen=True)
class Reply:
    """A message a recipient sent back."""

    provider: str
    number: str
    text: str

    @property
    def is_stop(self) -> bool:
        return self.text.strip().upper() in STOP_WORDS


def require_bearer(headers: Mapping[str, str], expected: str) -> None:
    """ReceiptRefused unless `Authorization: Bearer <expected>` (compared in constant time)."""
    authorization = headers.get("authorization")
    if not expected or not authorization or not authorization.lower().startswith("bearer "):
        raise ReceiptRefused("the callback token does not match")
    if not hmac.compare_digest(authorization[7:].strip().encode(), expected.encode()):
        raise ReceiptRefused("the callback token does not match")


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ReceiptUnreadable("send a JSON object", field="body") from exc
    if not isinstance(data, dict):
        raise ReceiptUnreadable("send a JSON object", field="body")
    return data
