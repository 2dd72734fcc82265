"""SMS through Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP
Basic auth with the account SID and auth token). Delivery receipts come to `StatusCallback`, signed with
`X-Twilio-Signature` (`read_receipt`).

Twilio takes no idempotency key: the message SID is recorded as the provider reference. The residual risk: if the
process dies after Twilio accepted a message and before the SID is committed, whoever takes the message over
cannot ask Twilio by our id and sends again (docs/notify.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

import httpx

from ..domain.models import Notification
from .base import (
    Accepted,
    PermanentFailure,
    Receipt,
    ReceiptRefused,
    Reply,
    TechnicalFailure,
    TemporaryFailure,
)
from .http import call, raise_for

# Twilio error codes that blame the recipient: invalid number, not a mobile, unsubscribed (replied STOP).
PERMANENT_CODES = {21211, 21214, 21217, 21612, 21614, 21610}
# In a status callback, also the carrier's: unreachable, unknown or blocked destination.
RECEIPT_PERMANENT_CODES = PERMANENT_CODES | {30004, 30005, 30006}


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """base64 HMAC-SHA1, keyed with the auth token, of the full callback URL followed by each POST parameter name
    and value in name order."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _status(status: str, code: int) -> str:
    if status == "delivered":
        return "delivered"
    if status == "undelivered":
        return "permanent-failure" if code in RECEIPT_PERMANENT_CODES else "temporary-failure"
    if status == "failed":
        return "permanent-failure" if code in RECEIPT_PERMANENT_CODES else "technical-failure"
    return "sending"  # queued, accepted, sending, sent


def read_receipt(
    *, url: str, body: bytes, headers: Mapping[str, str], query: Mapping[str, str], auth_token: str
) -> Receipt | Reply:
    """A status callback (`MessageSid`, `MessageStatus`, `ErrorCode`; our id in `?ref=`) or an inbound message
    (`From`, `Body`), verified by `X-Twilio-Signature` over `url` (the URL Twilio was given)."""
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = headers.get("x-twilio-signature", "")
    expected = twilio_signature(url, params, auth_token) if auth_token else ""
    if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
        raise ReceiptRefused("the Twilio signature does not match")
    if "MessageStatus" not in params and "Body" in params:
        return Reply(provider="twilio", number=params.get("From", ""), text=params["Body"])
    try:
        code = int(params.get("ErrorCode") or 0)
    except ValueError:
        code = 0
    return Receipt(
        provider="twilio",
        status=_status(params.get("MessageStatus", ""), code),
        reason=f"{params.get('MessageStatus')} {code or ''}".strip(),
        reference=query.get("ref"),
        provider_ref=params.get("MessageSid") or params.get("SmsSid"),
    )


class TwilioSmsProvider:
    name = "twilio"
    channel = "sms"

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str = "",
        messaging_service_sid: str = "",
        status_callback: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not sender and not messaging_service_sid:
            raise ValueError("Twilio needs TAS_TWILIO_FROM or TAS_TWILIO_MESSAGING_SERVICE_SID")
        self.account_sid, self.sender, self.messaging_service_sid = account_sid, sender, messaging_service_sid
        self.status_callback = status_callback
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            auth=httpx.BasicAuth(account_sid, auth_token),
            trust_env=False,
        )

    async def send(self, notification: Notification) -> Accepted:
        form = {"To": notification.recipient, "Body": notification.body}
        if self.messaging_service_sid:
            form["MessagingServiceSid"] = self.messaging_service_sid
        else:
            form["From"] = self.sender
        if self.status_callback:
            form["StatusCallback"] = f"{self.status_callback}?ref={notification.id}"  # receipts find the row
        response = await call(self.client, "POST", f"/2010-04-01/Accounts/{self.account_sid}/Messages.json", data=form)
        if response.status_code == 400:
            try:
                code = int(response.json().get("code", 0))
            except ValueError:
                code = 0
            if code in PERMANENT_CODES:
                raise PermanentFailure(f"Twilio error {code}")
            raise TechnicalFailure(f"Twilio error {code}")
        raise_for(response, permanent=False)
        try:
            body = response.json()
            sid = str(body["sid"])
        except (ValueError, KeyError) as exc:
            raise TemporaryFailure("unreadable response", ambiguous=True) from exc
        if body.get("status") == "failed":
            raise PermanentFailure("Twilio refused the message")
        return Accepted(provider=self.name, provider_ref=sid, delivered=body.get("status") == "delivered")

    async def aclose(self) -> None:
        await self.client.aclose()
