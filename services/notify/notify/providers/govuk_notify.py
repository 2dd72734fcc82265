"""SMS through GOV.UK Notify's HTTP API (`POST /v2/notifications/sms`).

Auth is a JWT bearer token signed HS256 with the API key's secret, `iss` = the service id and `iat` = now (Notify
refuses tokens older than 30 seconds, so one is made per request). TAS renders the text itself and sends it as the
`body` personalisation of one Notify template whose content is `((body))`. Our notification id is the `reference`,
so after a crash whoever takes the message over asks Notify (`GET /v2/notifications?reference=`) whether the
message went before it sends again.

Delivery-status and received-text callbacks come with the bearer token configured for the service's callbacks
(`read_receipt`)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx
import jwt

from ..domain.models import Notification
from .base import Accepted, Receipt, ReceiptUnreadable, Reply, TemporaryFailure, json_object, require_bearer
from .http import call, raise_for

STATUSES = {
    "delivered": "delivered",
    "permanent-failure": "permanent-failure",
    "temporary-failure": "temporary-failure",
    "technical-failure": "technical-failure",
    "sending": "sending",
    "created": "sending",
    "pending": "sending",
    "sent": "sending",
}
"""Notify's statuses in ours."""


def read_receipt(*, body: bytes, headers: Mapping[str, str], callback_token: str) -> Receipt | Reply:
    """A delivery-status callback (`id`, `reference`, `status`) or a received text (`source_number`,
    `content`), verified by the callback bearer token."""
    require_bearer(headers, callback_token)
    data = json_object(body)
    if "source_number" in data and "content" in data:
        return Reply(provider="notify", number=str(data["source_number"]), text=str(data["content"]))
    status = STATUSES.get(str(data.get("status", "")))
    if status is None:
        raise ReceiptUnreadable("unknown status", field="status")
    return Receipt(
        provider="notify",
        status=status,
        reason=str(data.get("status")),
        reference=data.get("reference"),
        provider_ref=data.get("id"),
    )


class NotifySmsProvider:
    name = "notify"
    channel = "sms"

    def __init__(
        self,
        *,
        base_url: str,
        service_id: str,
        secret: str,
        template_id: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service_id, self.secret, self.template_id = service_id, secret, template_id
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport, trust_env=False
        )

    def _headers(self) -> dict[str, str]:
        token = jwt.encode({"iss": self.service_id, "iat": int(time.time())}, self.secret, algorithm="HS256")
        return {"Authorization": f"Bearer {token}", "User-Agent": "tas-notify/0.1"}

    async def send(self, notification: Notification) -> Accepted:
        response = await call(
            self.client,
            "POST",
            "/v2/notifications/sms",
            headers=self._headers(),
            json={
                "phone_number": notification.recipient,
                "template_id": self.template_id,
                "personalisation": {"body": notification.body},
                "reference": notification.id,
            },
        )
        raise_for(response, permanent="phone_number" in response.text)
        try:
            provider_id = str(response.json()["id"])
        except (ValueError, KeyError) as exc:
            raise TemporaryFailure("unreadable response", ambiguous=True) from exc
        return Accepted(provider=self.name, provider_ref=provider_id, delivered=False)

    async def lookup(self, notification: Notification) -> Accepted | None:
        response = await call(
            self.client,
            "GET",
            "/v2/notifications",
            headers=self._headers(),
            params={"reference": notification.id, "template_type": "sms"},
        )
        raise_for(response, permanent=False)
        found = response.json().get("notifications", [])
        if not found:
            return None
        first = found[0]
        return Accepted(provider=self.name, provider_ref=str(first["id"]), delivered=first.get("status") == "delivered")

    async def aclose(self) -> None:
        await self.client.aclose()
