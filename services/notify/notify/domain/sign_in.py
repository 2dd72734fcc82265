"""One-time sign-in codes (caseload's `family.sign_in_code_issued`): the code goes to the family member on the
channel they gave, at once (no quiet hours: they are waiting for it), and never sits anywhere in the clear.

The message row keeps the code sealed as caseload sent it (`secret`, AES-256-GCM under TAS_SIGNIN_CODE_KEY, bound to
the sign-in challenge) and its body holds `((code))`: the dispatcher opens the code only to hand the message to a
provider (dispatch.py), then clears it; a message not sent before the code expires fails instead. Nothing logs
it, and the family's list of messages shows the body with the code masked. A code goes only while the child's
family contact is not restricted. An opt-out from notifications does not stop a code the person asked for; a
bounced address, a complaint or a reply STOP does (the provider could not deliver it anyway)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.consumer_spec import RetryLater
from tas_common.events.schemas import FamilySignInCodeIssuedV1
from tas_common.issuers import SealedBox, signin_code_box
from tas_common.tracing import current_traceparent

from ..config import NotifySettings
from . import lifecycle, links, recipients
from .messages import contact_language
from .models import ChildScope, Contact, Notification, new_notification
from .scheduling import aware
from .templates_store import template_for

TEMPLATE = "sign_in_code"
CODE = "((code))"
"""What the stored body holds where the code goes."""
MASK = "••••••"
BLOCKING = tuple(r for r in recipients.SUPPRESSION_REASONS if r not in recipients.OPT_OUTS)


def code_box(settings: NotifySettings) -> SealedBox:
    return signin_code_box(key_b64=settings.signin_code_key, key_dir=settings.family_key_dir)


def masked(text: str | None) -> str | None:
    return text.replace(CODE, MASK) if text else text


async def send_code(
    session: AsyncSession, *, settings: NotifySettings, issued: FamilySignInCodeIssuedV1, event_id: str, now: datetime
) -> Notification | None:
    expires = aware(issued.expires_at)
    if expires <= now:
        return None  # too late to be of use
    contact = await session.get(Contact, issued.contact_id)
    if contact is None:
        raise RetryLater("the contact has not reached notify yet")
    scope = await session.get(ChildScope, issued.child_id)
    if contact.removed or (scope is not None and scope.family_contact_restricted):
        return None
    raw = contact.mobile if issued.channel == "sms" else contact.email
    try:
        address = recipients.normalise(issued.channel, raw or "")
    except recipients.InvalidRecipient:
        return None
    template = await template_for(session, name=TEMPLATE, channel=issued.channel, language=contact_language(contact))
    minutes = max(1, round((expires - now).total_seconds() / 60))
    subject, body = template.render(
        {"code": CODE, "minutes": str(minutes), "link": links.sign_in(settings)},
        max_fragments=settings.sms_max_fragments,
    )
    n = new_notification(
        child_id=issued.child_id,
        contact_id=contact.id,
        trigger_event_id=event_id,
        dedupe_key=f"sign_in:{issued.challenge_id}",
        recipient_key=contact.id,
        template=template.name,
        template_id=template.id,
        template_version=template.version,
        language=template.language,
        channel=issued.channel,
        recipient=address,
        subject=subject,
        body=body,
        secret=issued.sealed_code,
        secret_ref=issued.challenge_id,
        expires_at=expires,
        created_at=now,
        updated_at=now,
        traceparent=current_traceparent(),
    )
    reason = await recipients.suppression_reason(session, channel=issued.channel, address=address)
    blocked = reason if reason in BLOCKING else None
    if blocked is not None:
        n.secret = None
    if not await lifecycle.insert(session, n, failure=f"suppressed: {blocked}" if blocked is not None else None):
        return None
    return n


def outgoing(n: Notification, *, box: SealedBox, now: datetime) -> Notification:
    """The message as a provider must send it: `n` itself, or for a sign-in code a copy (never stored) with the
    code in place. ValueError when the code has expired or cannot be opened."""
    if not n.secret:
        return n
    if n.expires_at is not None and aware(n.expires_at) <= now:
        raise ValueError("the sign-in code expired before it could be sent")
    code = box.open(n.secret, aad=n.secret_ref or "")
    copy = Notification.model_validate(n.model_dump())
    copy.body = n.body.replace(CODE, code)
    copy.subject = n.subject.replace(CODE, code) if n.subject else n.subject
    copy.secret = None
    return copy
