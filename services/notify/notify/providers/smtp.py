"""Email over SMTP as multipart/alternative (plain text and escaped HTML).

The Message-ID is derived from the notification id alone (`<id@domain>`), so a resend after a crash (the sweeper)
carries the same Message-ID and the receiving side can recognise the duplicate."""
from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from ..domain.models import Notification
from ..domain.templates import plain_to_html
from .base import Accepted, PermanentFailure, TemporaryFailure


def message_id(notification_id: str, domain: str) -> str:
    return f"<{notification_id}@{domain}>"


class SmtpProvider:
    name = "smtp"
    channel = "email"

    def __init__(self, *, host: str, port: int, sender: str, domain: str = "tas.example.org",
                 timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.domain, self.timeout = host, port, sender, domain, timeout

    def build(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notification.recipient
        message["Subject"] = notification.subject or "Team Around the School"
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(notification.id, self.domain)
        message["X-TAS-Notification-Id"] = notification.id
        message["Content-Language"] = notification.language
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(notification.body)
        message.add_alternative(plain_to_html(notification.body), subtype="html")
        return message

    def _send_sync(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            client.send_message(message)

    async def send(self, notification: Notification) -> Accepted:
        message = self.build(notification)
        try:
            await asyncio.to_thread(self._send_sync, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure("recipient refused") from exc
            raise TemporaryFailure("recipient deferred") from exc
        except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
            raise TemporaryFailure(type(exc).__name__, ambiguous=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return Accepted(provider=self.name, provider_ref=message_id(notification.id, self.domain), delivered=True)
