"""Email over SMTP as multipart/alternative (plain text and escaped HTML).

The Message-ID is derived from the notification id alone (`<id@domain>`), so a resend after a crash (a take-over)
carries the same Message-ID and the receiving side can recognise the duplicate. aiosmtplib speaks SMTP on the event
loop: no thread per send.

Up to `pool_size` connections are kept open between sends, and a kept connection is reused without a NOOP first.
A connection the server has dropped while it was idle (its timeout, a restart) is either seen closed when it is
taken, or fails at MAIL FROM / RCPT TO: before any of the message was sent, so that envelope is tried once more on
a new connection and the message goes exactly once. Only a failure once DATA has begun can leave it unknown whether
the server took the message (`TemporaryFailure(ambiguous=True)`).

The mail relay's bounce processor tells us of bounces and complaints (`read_receipt`)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import re
import socket
import sys
from collections.abc import Mapping
from email import quoprimime
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import formatdate, parseaddr

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.status import SMTPStatus

from ..domain.models import Notification
from ..domain.templates import plain_to_html
from .base import (
    Accepted,
    PermanentFailure,
    Receipt,
    ReceiptUnreadable,
    TemporaryFailure,
    json_object,
    require_bearer,
)

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


class OneLineHeaders(Compat32):
    """compat32, except that a header whose value is one line of printable ASCII within `max_line_length` is
    written as it is. That is exactly what compat32's folding makes of such a header (tests/notify compare the
    two), without running it through email.header.Header, which was most of the CPU of flattening a message."""

    def fits(self, name: str, value: object) -> bool:
        return (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and self.max_line_length is not None
            and len(name) + 2 + len(value) <= self.max_line_length
        )

    def fold(self, name: str, value: str) -> str:
        if self.fits(name, value):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if self.fits(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = OneLineHeaders()


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    """What `MIMEText(text, subtype, _UTF8_QP)` builds (UTF-8, quoted-printable), spelled with the calls that
    typeshed types for a Charset (MIMEText's stub accepts a charset's name only)."""
    part = MIMENonMultipart("text", subtype, policy=POLICY, charset=str(_UTF8_QP))
    part.set_payload(text, _UTF8_QP)
    return part


_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def new_boundary() -> str:
    """A boundary as compat32's generator makes one. `==` never stands in quoted-printable text (a literal `=` is
    `=3D`), so it cannot occur in the parts, and the generator need not search them for it."""
    return "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "=="


def _text_block(text: str, subtype: str) -> str:
    """`_text_part(text, subtype)` as the generator writes it (its lines ending in CRLF, the last without)."""
    payload = quoprimime.body_encode(text.encode("utf-8").decode("latin-1")) if text else ""
    payload = _LINE_BREAK.sub("\r\n", payload)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{payload}"
    )


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def message_id(notification_id: str, domain: str) -> str:
    return f"<{notification_id}@{domain}>"


class SmtpProvider:
    name = "smtp"
    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        domain: str = "tas.example.org",
        timeout: float = 10.0,
        pool_size: int = 4,
    ) -> None:
        self.host, self.port, self.sender, self.domain, self.timeout = host, port, sender, domain, timeout
        self.envelope_sender = parseaddr(sender)[1] or sender
        self._mail_from = b"FROM:" + quote_address(self.envelope_sender).encode("ascii")
        self.pool_size = pool_size
        self._idle: list[aiosmtplib.SMTP] = []
        self._local_hostname: str | None = None

    def headers(self, notification: Notification) -> dict[str, str]:
        """The message's own headers, in order (the MIME headers come before them)."""
        return {
            "From": self.sender,
            "To": notification.recipient,
            "Subject": notification.subject or "Team Around the School",
            "Date": formatdate(localtime=False),
            "Message-ID": message_id(notification.id, self.domain),
            "X-TAS-Notification-Id": notification.id,
            "Content-Language": notification.language,
            "Auto-Submitted": "auto-generated",
        }

    def build(
        self, notification: Notification, *, headers: dict[str, str] | None = None, boundary: str | None = None
    ) -> Message:
        """multipart/alternative built with the compat32 classes: the `email.policy.default` header objects
        cost about three times as much CPU per message (profile of the notify dispatcher); flattened with
        `OneLineHeaders`."""
        message = MIMEMultipart("alternative", boundary=boundary or new_boundary(), policy=POLICY)
        for name, value in (headers or self.headers(notification)).items():
            if value.isascii():
                message[name] = value
            else:
                # typeshed allows str only; compat32 (this message's policy) documents Header values
                message[name] = Header(value, "utf-8")  # type: ignore[assignment]
        message.attach(_text_part(notification.body, "plain"))
        message.attach(_text_part(plain_to_html(notification.body), "html"))
        return message

    @staticmethod
    def flatten(message: Message) -> bytes:
        out = io.BytesIO()
        BytesGenerator(out, policy=POLICY).flatten(message, linesep="\r\n")
        return out.getvalue()

    def content(self, notification: Notification, *, boundary: str | None = None) -> bytes:
        """The message as sent: the bytes `flatten(build(notification))` gives (tests/notify/test_smtp_flatten
        compares them), written here directly when every header is one line of printable ASCII, the usual case;
        else by the email package. A third of the CPU of building and flattening was the email package's
        header-parameter parsing; its boundary search compiled a regular expression for every message."""
        headers = self.headers(notification)
        boundary = boundary or new_boundary()
        if not all(POLICY.fits(name, value) for name, value in headers.items()):
            return self.flatten(self.build(notification, headers=headers, boundary=boundary))
        lines = [
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',  # compat32 folds it there
            "MIME-Version: 1.0",
            *(f"{name}: {value}" for name, value in headers.items()),
            "",
            f"--{boundary}",
            _text_block(notification.body, "plain"),
            f"--{boundary}",
            _text_block(plain_to_html(notification.body), "html"),
            f"--{boundary}--",
            "",
        ]
        return "\r\n".join(lines).encode("ascii")

    async def _connect(self) -> aiosmtplib.SMTP:
        """A new connection that has said EHLO (HELO if the server knows no EHLO); no STARTTLS unless configured,
        as before. The local host name is looked up once (aiosmtplib would ask `socket.getfqdn` on a thread for
        every connection)."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            start_tls=False,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        try:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                if not client.is_connected:
                    raise
                await client.helo()
        except BaseException:
            client.close()
            raise
        return client

    def _pooled(self) -> aiosmtplib.SMTP | None:
        """A kept connection still open (those the server has closed meanwhile are dropped), or None."""
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            client.close()
        return None

    async def _envelope(self, recipient: str, size: int) -> aiosmtplib.SMTP:
        """A connection on which MAIL FROM and RCPT TO for `recipient` were accepted. Nothing of the message has
        been sent yet, so every failure here is unambiguous; a kept connection that turns out to be gone is
        replaced once (`_gone`)."""
        client = self._pooled()
        reused = client is not None
        while True:
            if client is None:
                client = await self._connect()
            try:
                options = [f"SIZE={size}".encode()] if client.supports_extension("size") else []
                said = await client.execute_command(b"MAIL", self._mail_from, *options)
                if said.code != SMTPStatus.completed:
                    raise aiosmtplib.SMTPSenderRefused(said.code, said.message, self.envelope_sender)
                # the address as notify normalised it (email-validator: ASCII, no display name), so it is sent as
                # it is; aiosmtplib's `rcpt` would parse it again with email.utils (~15 us a message)
                said = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
                if said.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
                    raise aiosmtplib.SMTPRecipientRefused(said.code, said.message, recipient)
                return client
            except BaseException as exc:
                client.close()
                if not (reused and _gone(exc)):
                    raise
                client, reused = None, False

    def _keep(self, client: aiosmtplib.SMTP) -> bool:
        if len(self._idle) < self.pool_size and client.is_connected:
            self._idle.append(client)
            return True
        return False

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    async def send(self, notification: Notification) -> Accepted:
        data = self.content(notification)
        try:
            client = await self._envelope(notification.recipient, len(data))
        except aiosmtplib.SMTPRecipientRefused as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure("recipient refused") from exc
            raise TemporaryFailure("recipient deferred") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # nothing of the message was sent
            raise TemporaryFailure(type(exc).__name__) from exc
        try:
            await client.data(data)
        except BaseException as exc:
            client.close()
            if isinstance(exc, aiosmtplib.SMTPServerDisconnected | TimeoutError):  # it may have been accepted
                raise TemporaryFailure(type(exc).__name__, ambiguous=True) from exc
            if isinstance(exc, aiosmtplib.SMTPException | OSError):  # refused: not taken
                raise TemporaryFailure(type(exc).__name__) from exc
            raise
        if not self._keep(client):
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        return Accepted(provider=self.name, provider_ref=message_id(notification.id, self.domain), delivered=True)


def _gone(exc: BaseException) -> bool:
    """Whether a kept connection failed because the server is no longer there on it: it closed the connection
    (idle timeout, restart), said 421 (closing), or stopped answering."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected | OSError | TimeoutError)


def read_receipt(*, body: bytes, headers: Mapping[str, str], receipt_token: str) -> Receipt:
    """`{"notification_id" | "message_id", "status": "bounced" | "complained" | "delivered" | "deferred"}` from
    the bounce processor, verified by its bearer token. A bounce is a permanent failure, even of a message counted
    delivered at hand-over, and suppresses the address; a complaint suppresses it; the others change nothing.
    A bounce or complaint for a message already final is noted on it (`event`)."""
    require_bearer(headers, receipt_token)
    data = json_object(body)
    kind = str(data.get("status", ""))
    if kind not in ("delivered", "bounced", "complained", "deferred"):
        raise ReceiptUnreadable("status must be delivered, bounced, complained or deferred", field="status")
    reference = data.get("notification_id")
    message = data.get("message_id")
    found = {"reference": str(reference) if reference else None, "provider_ref": str(message) if message else None}
    if kind == "bounced":
        return Receipt(
            provider="smtp",
            status="permanent-failure",
            reason="hard bounce",
            suppress="hard-bounce",
            event="bounced",
            **found,
        )
    if kind == "complained":
        return Receipt(
            provider="smtp", status=None, reason="complaint", suppress="complaint", event="complained", **found
        )
    return Receipt(provider="smtp", status=None, reason=kind, **found)
