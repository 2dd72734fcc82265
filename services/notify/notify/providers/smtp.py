"""Email over SMTP. The notification id is the Message-ID, so a resend after a crash is recognisable."""
from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from ..domain.models import Notification
from .base import Accepted, PermanentFailure, TemporaryFailure


class SmtpProvider:
    name = "smtp"
    channel = "email"

    def __init__(self, *, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def _message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = notification.recipient
        message["Subject"] = notification.subject or "Team Around the School"
        message["Message-ID"] = make_msgid(idstring=notification.id, domain="tas.example.org")
        message["X-TAS-Notification-Id"] = notification.id
        message.set_content(notification.body)
        return message

    def _send_sync(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            client.send_message(message)

    async def send(self, notification: Notification) -> Accepted:
        message = self._message(notification)
        try:
            await asyncio.to_thread(self._send_sync, message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure("recipient refused") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return Accepted(provider=self.name, provider_ref=str(message["Message-ID"]), delivered=True)
