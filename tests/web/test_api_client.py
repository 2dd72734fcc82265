"""The web service's API client (web/clients/base.py) against a server that closes a kept connection as the next
request arrives on it — what uvicorn does when its keep-alive timeout meets a request in flight."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from web.clients.base import ApiClient, Unavailable

ANSWER = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


async def closing_server() -> tuple[asyncio.Server, list[str]]:
    """Answers the first request of each connection and closes the connection, unanswered, at its second."""
    requests: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            if length:
                await reader.readexactly(length)
            requests.append(head.split(b" ")[0].decode())
            if answered:
                writer.close()
                return
            writer.write(ANSWER)
            await writer.drain()
            answered += 1

    return await asyncio.start_server(serve, "127.0.0.1", 0), requests


@pytest.fixture
async def client():
    server, requests = await closing_server()
    port = server.sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        yield ApiClient(http), requests
    server.close()


async def test_a_get_on_a_connection_the_api_closed_is_sent_again_on_a_new_one(client):
    api, requests = client
    assert (await api.get_json("/v1/things", token="t")) == {"ok": True}
    assert (await api.get_json("/v1/things", token="t")) == {"ok": True}  # the kept connection is closed: again
    assert requests == ["GET", "GET", "GET"]


async def test_a_post_on_a_connection_the_api_closed_is_not_sent_again(client):
    api, requests = client
    await api.request("POST", "/v1/things", token="t", json={"n": 1})
    with pytest.raises(Unavailable):
        await api.request("POST", "/v1/things", token="t", json={"n": 2})  # it may have been acted on
    assert requests == ["POST", "POST"]
