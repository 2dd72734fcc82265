"""Where `/metrics` is served, and to whom (issue 12.5).

- `TAS_METRICS_PORT` set: on that port, a listener of its own (`MetricsServer`), not on the API port — the
  Prometheus scrape reaches each pod there, the public host and the Service do not;
- otherwise on the API port, as a route;
- `TAS_METRICS_TOKEN` set: either way a scrape needs `Authorization: Bearer <token>` (Prometheus'
  `authorization: {credentials: ...}`); a missing or wrong one is a 401.

In `TAS_ENV=prod` a service with neither refuses to start: the metrics name the service's queues and consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .access import public
from .errors import problem
from .settings import PLACEHOLDER_SECRETS, CommonSettings

log = logging.getLogger("tas.metrics")
MIN_TOKEN_LENGTH = 16
Render = Callable[[], Awaitable[bytes]]


def check_exposure(settings: CommonSettings) -> None:
    """Refuse to start with metrics open to anyone in prod, or with a placeholder scrape token outside dev."""
    token = settings.metrics_token
    weak = token is not None and (
        token.strip().lower() in PLACEHOLDER_SECRETS or "change-me" in token.lower() or len(token) < MIN_TOKEN_LENGTH
    )
    if weak and settings.env != "dev":
        raise ValueError(f"placeholder TAS_METRICS_TOKEN: use a random secret of {MIN_TOKEN_LENGTH}+ characters")
    if settings.env == "prod" and settings.metrics_port is None and not token:
        raise ValueError("in prod /metrics must not be open: set TAS_METRICS_PORT or TAS_METRICS_TOKEN")


def authorised(authorization: str | None, token: str | None) -> bool:
    if not token:
        return True
    return hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode())


def metrics_router(render: Render, token: str | None) -> APIRouter:
    """`/metrics` on the API port (when no metrics port is set)."""
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", dependencies=[Depends(public)], response_class=Response)
    async def metrics(request: Request) -> Response:
        if not authorised(request.headers.get("authorization"), token):
            return problem(401, "unauthorized", "Authentication required", "send the scrape token")
        return Response(await render(), media_type=CONTENT_TYPE_LATEST)

    return router


async def render_latest(refresh: Callable[[], Awaitable[None]]) -> bytes:
    await refresh()
    return generate_latest()


class MetricsServer:
    """A minimal HTTP/1.1 listener that answers `GET /metrics` and nothing else (one request per connection)."""

    MAX_HEAD = 8192
    READ_SECONDS = 5.0

    def __init__(self, *, host: str, port: int, render: Render, token: str | None) -> None:
        self.host, self.port, self.render, self.token = host, port, render, token
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=self.MAX_HEAD)
        log.info("metrics served on their own port", extra={"port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body, media = await self._answer(reader)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n"
            )
            if status.startswith("401"):
                head += "WWW-Authenticate: Bearer\r\n"
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # the scraper went away or sent something that is not a request: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, bytes, str]:
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.READ_SECONDS)).decode("latin-1")
        request_line, *lines = head.split("\r\n")
        method, _, rest = request_line.partition(" ")
        target = rest.partition(" ")[0].partition("?")[0]
        if method != "GET" or target != "/metrics":
            return "404 Not Found", b"not found\n", "text/plain; charset=utf-8"
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
        if not authorised(headers.get("authorization"), self.token):
            return "401 Unauthorized", b"send the scrape token\n", "text/plain; charset=utf-8"
        return "200 OK", await self.render(), CONTENT_TYPE_LATEST
