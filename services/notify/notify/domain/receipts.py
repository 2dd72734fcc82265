"""Delivery receipts (and replies) from providers. Each provider's module reads and verifies its own callbacks
(`read_receipt` beside its `send`: Twilio's signature, Notify's callback token, the mail relay's bounce processor's
token) before anything here is touched; this module finds the message, feeds the suppression list and hands the
status to the lifecycle.

A reply STOP (Twilio inbound message, Notify received text) puts the number on the suppression list."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.errors import Forbidden, InvalidInput, NotFound

from ..config import NotifySettings
from ..providers import govuk_notify, smtp, twilio
from ..providers.base import Receipt, ReceiptRefused, ReceiptUnreadable, Reply
from . import lifecycle, reach, recipients
from .models import Notification
from .schemas import ReceiptOutcome


async def _stop(session: AsyncSession, *, reply: Reply) -> ReceiptOutcome:
    try:
        address = recipients.normalise("sms", reply.number)
    except recipients.InvalidRecipient:
        return ReceiptOutcome(matched=False)
    await recipients.suppress(
        session, channel="sms", address=address, reason="sms-stop", source=f"{reply.provider} reply"
    )
    await reach.address_changed(session, channel="sms", address=address, block="sms-stop")
    return ReceiptOutcome(matched=True, suppressed=True)


async def _find(session: AsyncSession, receipt: Receipt) -> Notification | None:
    n = await session.get(Notification, receipt.reference) if receipt.reference else None
    if n is None and receipt.provider_ref:
        n = (await session.exec(select(Notification).where(Notification.provider_ref == receipt.provider_ref))).first()
    return n


async def apply(session: AsyncSession, *, receipt: Receipt, settings: NotifySettings) -> ReceiptOutcome:
    """A receipt for one of our messages: its address suppressed when the receipt says so (a bounce or complaint
    always; a permanent failure of a message being sent), then its status to the lifecycle; a bounce or complaint
    of a message already final (an email bounced after the relay accepted it) is noted on the message."""
    n = await _find(session, receipt)
    if n is None:
        return ReceiptOutcome(matched=False)
    suppressed = None
    if receipt.suppress is not None and n.recipient:
        kind = "complaint" if receipt.suppress == "complaint" else "bounce"
        suppressed = receipt.suppress
        await recipients.suppress(
            session,
            channel=n.channel,
            address=n.recipient,
            reason=receipt.suppress,
            source=f"{receipt.provider} {kind}",
        )
    elif receipt.status == lifecycle.PERMANENT_FAILURE and n.status == lifecycle.SENDING and n.recipient:
        suppressed = "hard-bounce"
        await recipients.suppress(
            session, channel=n.channel, address=n.recipient, reason="hard-bounce", source=f"{receipt.provider} receipt"
        )
    if suppressed is not None:  # the contacts with this address are told about (a complaint stops their email)
        block = "complaint" if suppressed == "complaint" else None
        await reach.address_changed(session, channel=n.channel, address=n.recipient, block=block)
    already_final = n.status in lifecycle.FINAL
    if receipt.status is not None:
        await lifecycle.receipt(
            session,
            n=n,
            provider=receipt.provider,
            provider_ref=receipt.provider_ref,
            status=receipt.status,
            reason=receipt.reason,
            settings=settings,
        )
    if receipt.event is not None and already_final:
        await lifecycle.note(session, n=n, kind=receipt.event, detail=f"{receipt.provider}: {receipt.reason}")
    return ReceiptOutcome(matched=True, notification_id=n.id, status=n.status, suppressed=receipt.suppress is not None)


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
    """Verify and apply one callback, read by the provider's own module. A bad signature or token raises Forbidden
    before anything is read."""
    said: Receipt | Reply
    try:
        if provider == "twilio":
            said = twilio.read_receipt(
                url=url, body=body, headers=headers, query=query, auth_token=settings.twilio_auth_token
            )
        elif provider == "notify":
            said = govuk_notify.read_receipt(body=body, headers=headers, callback_token=settings.notify_callback_token)
        elif provider == "smtp":
            said = smtp.read_receipt(body=body, headers=headers, receipt_token=settings.smtp_receipt_token)
        else:
            raise NotFound("no such provider")
    except ReceiptRefused as exc:
        raise Forbidden(str(exc)) from exc
    except ReceiptUnreadable as exc:
        raise InvalidInput(str(exc), field=f"body.{exc.field}".removesuffix(".body")) from exc
    if isinstance(said, Reply):
        return await _stop(session, reply=said) if said.is_stop else ReceiptOutcome(matched=False)
    return await apply(session, receipt=said, settings=settings)
