"""Dev SMTP sink: accepts every message and stores it as `<maildir>/<UTC timestamp>-<uuid>.eml`.

`tas up` runs it as `python -m tas_dev.devsmtp --port 8025 --maildir var/mail`; tests run `DevSmtpSink` in
process. Each file is written under a dot-prefixed temporary name and renamed, so a reader never sees half a
message. The envelope sender and recipients are kept as `X-Envelope-From` / `X-Envelope-To` headers (they can
differ from From/To, e.g. for Bcc). Messages may hold personal data: only counts are ever logged.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import logging
import os
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Self

log = logging.getLogger("tas.devsmtp")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


def store_message(maildir: Path, content: bytes, *, mail_from: str = "", rcpt_tos: list[str] | None = None) -> Path:
    """Write one message atomically; return the final path."""
    maildir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = f"{stamp}-{uuid.uuid4()}.eml"
    envelope = f"X-Envelope-From: <{mail_from}>\r\nX-Envelope-To: {', '.join(rcpt_tos or [])}\r\n".encode()
    tmp = maildir / f".{name}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(envelope + content)
    final = maildir / name
    os.replace(tmp, final)
    return final


def read_messages(maildir: Path) -> list[EmailMessage]:
    """Every stored message, oldest first, parsed with the modern email policy."""
    parser = BytesParser(policy=email.policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(Path(maildir).glob("*.eml")):
        with open(path, "rb") as fh:
            messages.append(parser.parse(fh))
    return messages


async def wait_for_messages(maildir: Path, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
    """Poll until at least `count` messages are stored; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        messages = read_messages(maildir)
        if len(messages) >= count:
            return messages
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{len(messages)} of {count} messages arrived within {timeout}s")
        await asyncio.sleep(0.05)


class MaildirHandler:
    """aiosmtpd handler: store each message under the maildir."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = Path(maildir)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        await asyncio.to_thread(
            store_message, self.maildir, content, mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos)
        )
        self.count += 1
        log.info("message stored", extra={"count": self.count})
        return "250 Message accepted for delivery"


def _quiet_aiosmtpd() -> None:
    # aiosmtpd's own logger records peers and addresses at INFO/DEBUG: addresses are personal data.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


class DevSmtpSink:
    """In-process sink on a background thread (aiosmtpd's Controller), for tests:
    `with DevSmtpSink(tmp_path / "mail", port=free_port()) as sink: ...`."""

    def __init__(self, maildir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self.port = port
        self.handler = MaildirHandler(self.maildir)
        self._controller: Any = None

    @property
    def count(self) -> int:
        return self.handler.count

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        _quiet_aiosmtpd()
        self.maildir.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, ready_timeout=10, enable_SMTPUTF8=True
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.maildir)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


async def serve(maildir: Path, host: str, port: int) -> int:
    """Run the sink until SIGTERM or SIGINT; return the number of messages stored."""
    from aiosmtpd.smtp import SMTP

    _quiet_aiosmtpd()
    maildir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the sink starts listening
    handler = MaildirHandler(maildir)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True), host=host, port=port)
    log.info("smtp sink listening", extra={"port": port})
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
    log.info("smtp sink stopped", extra={"count": handler.count})
    return handler.count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tas_dev.devsmtp", description="Dev SMTP sink: stores every message as an .eml file."
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from tas_common.logging import configure_logging

    configure_logging("devsmtp")
    try:
        asyncio.run(serve(args.maildir.resolve(), args.host, args.port))
    except OSError as exc:
        print(f"devsmtp: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
