"""The SMTP provider's kept connections against a real SMTP server (aiosmtpd): a kept connection is reused without a
NOOP; one the server has dropped is replaced before any of the message is sent, so the message arrives exactly once;
a failure once DATA has begun is ambiguous and not retried."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from notify.domain.models import Notification
from notify.providers.base import TemporaryFailure
from notify.providers.smtp import SmtpProvider, message_id
from tas_dev.testing import free_port

from ..conftest import eventually
from .helpers import EMAIL


class Dropping:
    """Accepts every message (`received`: Message-IDs, in order) and counts the connections that started a mail
    transaction and the NOOPs. From a connection's `after`-th transaction on it does `drop`:
    - "mail": closes the connection when MAIL FROM arrives, without an answer (a server whose idle timeout fired
      just as the client reused the connection);
    - "421": answers MAIL FROM with 421 and closes the connection (a server shutting down);
    - "data": takes the whole message, then closes the connection without answering."""

    def __init__(self, drop: str | None = None, *, after: int = 1) -> None:
        self.drop, self.after = drop, after
        self.received: list[str] = []
        self.connections = self.noops = 0

    def _dropping(self, session: Any) -> bool:
        return self.drop is not None and session.transactions > self.after

    async def handle_NOOP(self, server: Any, session: Any, envelope: Any, arg: str) -> str:
        self.noops += 1
        return "250 OK"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if not hasattr(session, "transactions"):
            session.transactions = 0
            self.connections += 1
        session.transactions += 1
        if self._dropping(session) and self.drop == "mail":
            server.transport.abort()
            return "250 OK"  # never reaches the client
        if self._dropping(session) and self.drop == "421":
            asyncio.get_running_loop().call_soon(server.transport.close)  # once the answer is written
            return "421 4.3.2 Service shutting down, closing transmission channel"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        found = [line for line in content.split(b"\r\n") if line.lower().startswith(b"message-id:")]
        self.received.append(found[0].split(b":", 1)[1].strip().decode())
        if self._dropping(session) and self.drop == "data":
            server.transport.abort()
        return "250 Message accepted"


@pytest.fixture
def smtp_server(request: pytest.FixtureRequest) -> Iterator[tuple[Dropping, int]]:
    drop, after, timeout = getattr(request, "param", (None, 1, 300))
    handler = Dropping(drop, after=after)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), timeout=timeout)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _message(n: int) -> Notification:
    return Notification(**EMAIL | {"id": f"m{n}", "recipient": f"parent{n}@example.org"})


def _ids(*numbers: int) -> list[str]:
    return [message_id(f"m{n}", "tas.example.org") for n in numbers]


async def test_a_kept_connection_is_reused_without_a_noop(smtp_server: tuple[Dropping, int]) -> None:
    server, port = smtp_server
    provider = SmtpProvider(host="127.0.0.1", port=port, sender="TAS <no-reply@tas.example.org>")
    try:
        for n in range(3):
            await provider.send(_message(n))
    finally:
        await provider.aclose()
    assert server.received == _ids(0, 1, 2)
    assert (server.connections, server.noops) == (1, 0)


@pytest.mark.parametrize("smtp_server", [(None, 1, 0.3)], indirect=True)
async def test_a_connection_the_server_closed_while_idle_is_replaced(smtp_server: tuple[Dropping, int]) -> None:
    """The server's idle timeout (0.3 s here) closes the kept connection; the next send sees it closed and opens
    another."""
    server, port = smtp_server
    provider = SmtpProvider(host="127.0.0.1", port=port, sender="TAS <no-reply@tas.example.org>")
    try:
        await provider.send(_message(1))
        kept = provider._idle[0]

        async def closed() -> bool:
            return not kept.is_connected

        await eventually(closed, what="the server to close the idle connection")
        await provider.send(_message(2))
    finally:
        await provider.aclose()
    assert server.received == _ids(1, 2)
    assert server.connections == 2


@pytest.mark.parametrize("smtp_server", [("mail", 1, 300), ("421", 1, 300)], indirect=True)
async def test_a_kept_connection_that_fails_before_data_is_replaced_and_the_message_goes_once(
    smtp_server: tuple[Dropping, int],
) -> None:
    """The server drops the kept connection at MAIL FROM (the client had not seen it go): nothing of the message
    was sent, so the provider sends it on a new connection, once."""
    server, port = smtp_server
    provider = SmtpProvider(host="127.0.0.1", port=port, sender="TAS <no-reply@tas.example.org>")
    try:
        await provider.send(_message(1))
        accepted = await provider.send(_message(2))
    finally:
        await provider.aclose()
    assert accepted.delivered and accepted.provider_ref == _ids(2)[0]
    assert server.received == _ids(1, 2)
    assert server.connections == 2


@pytest.mark.parametrize("smtp_server", [("mail", 0, 300), ("421", 0, 300)], indirect=True)
async def test_a_new_connection_that_fails_before_data_is_not_retried_and_not_ambiguous(
    smtp_server: tuple[Dropping, int],
) -> None:
    server, port = smtp_server
    provider = SmtpProvider(host="127.0.0.1", port=port, sender="TAS <no-reply@tas.example.org>")
    try:
        with pytest.raises(TemporaryFailure) as failed:
            await provider.send(_message(1))
    finally:
        await provider.aclose()
    assert not failed.value.ambiguous
    assert (server.received, server.connections) == ([], 1)


@pytest.mark.parametrize("smtp_server", [("data", 1, 300)], indirect=True)
async def test_a_connection_lost_after_data_began_is_ambiguous_and_not_retried(
    smtp_server: tuple[Dropping, int],
) -> None:
    """The server took the message and closed without answering: it may have been accepted, so the provider says
    so and does not send it again itself (the dispatcher decides)."""
    server, port = smtp_server
    provider = SmtpProvider(host="127.0.0.1", port=port, sender="TAS <no-reply@tas.example.org>")
    try:
        await provider.send(_message(1))
        with pytest.raises(TemporaryFailure) as failed:
            await provider.send(_message(2))
    finally:
        await provider.aclose()
    assert failed.value.ambiguous
    assert server.received == _ids(1, 2)
    assert server.connections == 1
