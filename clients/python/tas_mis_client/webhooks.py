"""Verifying TAS's webhooks (Standard Webhooks): the signature (`webhook-signature`, HMAC-SHA256 over
`webhook-id.webhook-timestamp.body` with your subscription's `whsec_` secret), a timestamp within five minutes, and
a `webhook-id` not seen before (TAS sends the same id on every retry and replay: process it once, answer 2xx)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["ReplayGuard", "WebhookVerificationError", "verify_webhook"]


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str) -> dict[str, Any]:
    """The payload (`{"type", "timestamp", "data"}`) if the signature and timestamp hold; WebhookVerificationError
    otherwise (answer 4xx: TAS will retry, and a forgery gets nothing)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    payload = Webhook(secret).verify(body, lowered)
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    return payload


class ReplayGuard:
    """Remembers the `webhook-id`s seen in the last `window_seconds` (a delivery older than five minutes fails
    verification anyway): `guard.first_time(webhook_id)` is False for a repeat."""

    def __init__(self, window_seconds: float = 600.0, max_ids: int = 100_000) -> None:
        self.window, self.max_ids = window_seconds, max_ids
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, webhook_id: str) -> bool:
        now = time.monotonic()
        while self._seen and (now - next(iter(self._seen.values())) > self.window or len(self._seen) > self.max_ids):
            self._seen.popitem(last=False)
        if webhook_id in self._seen:
            return False
        self._seen[webhook_id] = now
        return True
