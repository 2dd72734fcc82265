"""Delivery receipts (and replies) from providers, each verified as coming from that provider before anything
changes: Twilio signs its callbacks (`X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, of the
full callback URL followed by each POST parameter name and value in name order); GOV.UK Notify sends the bearer
token configured for the service's callbacks; the mail relay's bounce processor sends its own bearer token.

A reply STOP (Twilio inbound message, Notify received text) puts the number on the suppression list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.errors import Forbidden, InvalidInput, NotFound

from ..config import NotifySettings
from . import notifications, recipients
from .models import Notification
from .schemas import ReceiptOutcome

PROVIDERS = ("twilio", "notify", "smtp")
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPIO", "STOP ALL"}
TWILIO_PERMANENT = {21211, 21214, 21217, 21612, 21614, 21610, 30004, 30005, 30006}
NOTIFY_STATUSES = {
    "delivered": "delivered",
    "permanent-failure": "permanent-failure",
    "temporary-failure": "temporary-failure",
    "technical-failure": "technical-failure",
    "sending": "sending",
    "created": "sending",
    "pending": "sending",
    "sent": "sending",
}


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _bearer_ok(authorization: str | None, expected: str) -> bool:
    if not expected or not authorization or not authorization.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), expected.encode())


def _twilio_status(status: str, code: int) -> str:
    if status == "delivered":
        return "delivered"
    if status == "undelivered":
        return "permanent-failure" if code in TWILIO_PERMANENT else "temporary-failure"
    if status == "failed":
        return "permanent-failure" if code in TWILIO_PERMANENT else "technical-failure"
    return "sending"  # queued, accepted, sending, sent


async def _stop(session: AsyncSession, *, number: str, provider: str) -> ReceiptOutcome:
    try:
        address = recipients.normalise("sms", number)
    except recipients.InvalidRecipient:
        return ReceiptOutcome(matched=False)
    await recipients.suppress(session, channel="sms", address=address, reason="sms-stop", source=f"{provider} reply")
    return ReceiptOutcome(matched=True, suppressed=True)


def _outcome(n: Notification | None) -> ReceiptOutcome:
    return ReceiptOutcome(matched=n is not None, notification_id=n.id if n else None, status=n.status if n else None)


async def handle(
    session: AsyncSession,
    *,
    provider: str,
    settings: NotifySettings,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> ReceiptOutcome:
    """Verify and apply one receipt. A bad signature or token raises Forbidden before anything is read."""
    if provider not in PROVIDERS:
        raise NotFound("no such provider")
    if provider == "twilio":
        params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        signature = headers.get("x-twilio-signature", "")
        expected = twilio_signature(url, params, settings.twilio_auth_token) if settings.twilio_auth_token else ""
        if not expected or not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Forbidden("the Twilio signature does not match")
        if "MessageStatus" not in params and "Body" in params:  # an inbound reply
            if params["Body"].strip().upper() in STOP_WORDS:
                return await _stop(session, number=params.get("From", ""), provider=provider)
            return ReceiptOutcome(matched=False)
        try:
            code = int(params.get("ErrorCode") or 0)
        except ValueError:
            code = 0
        status = _twilio_status(params.get("MessageStatus", ""), code)
        n = await notifications.apply_receipt(
            session,
            provider="twilio",
            provider_ref=params.get("MessageSid") or params.get("SmsSid"),
            reference=query.get("ref"),
            status=status,
            reason=f"{params.get('MessageStatus')} {code or ''}".strip(),
            settings=settings,
        )
        return _outcome(n)
    token = settings.notify_callback_token if provider == "notify" else settings.smtp_receipt_token
    if not _bearer_ok(headers.get("authorization"), token):
        raise Forbidden("the callback token does not match")
    try:
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError
    except ValueError as exc:
        raise InvalidInput("send a JSON object", field="body") from exc
    if provider == "notify":
        if "source_number" in data and "content" in data:  # a received text
            if str(data["content"]).strip().upper() in STOP_WORDS:
                return await _stop(session, number=str(data["source_number"]), provider=provider)
            return ReceiptOutcome(matched=False)
        status = NOTIFY_STATUSES.get(str(data.get("status", "")))
        if status is None:
            raise InvalidInput("unknown status", field="status")
        n = await notifications.apply_receipt(
            session,
            provider="notify",
            provider_ref=data.get("id"),
            reference=data.get("reference"),
            status=status,
            reason=str(data.get("status")),
            settings=settings,
        )
        return _outcome(n)
    # smtp: the bounce processor tells us of bounces and complaints by our notification id or Message-ID
    kind = str(data.get("status", ""))
    if kind not in ("delivered", "bounced", "complained", "deferred"):
        raise InvalidInput("status must be delivered, bounced, complained or deferred", field="status")
    reference = data.get("notification_id")
    n = await session.get(Notification, reference) if reference else None
    if n is None and data.get("message_id"):
        n = (
            await session.exec(select(Notification).where(Notification.provider_ref == str(data["message_id"])))
        ).first()
    if n is None:
        return ReceiptOutcome(matched=False)
    if kind == "complained":
        await recipients.suppress(
            session, channel="email", address=n.recipient, reason="complaint", source="smtp complaint"
        )
        return ReceiptOutcome(matched=True, notification_id=n.id, status=n.status, suppressed=True)
    if kind == "bounced":
        await recipients.suppress(
            session, channel="email", address=n.recipient, reason="hard-bounce", source="smtp bounce"
        )
        if n.status == "delivered":  # SMTP hand-over counted as delivered; the bounce says otherwise
            n.status = "sending"
            session.add(n)
            await session.flush()
        n = await notifications.apply_receipt(
            session,
            provider="smtp",
            provider_ref=None,
            reference=n.id,
            status="permanent-failure",
            reason="hard bounce",
            settings=settings,
        )
        return ReceiptOutcome(
            matched=True, notification_id=n.id if n else None, status=n.status if n else None, suppressed=True
        )
    return _outcome(n)
