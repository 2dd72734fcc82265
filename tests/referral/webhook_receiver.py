"""A webhook receiver for tests and benchmarks: a real HTTP server on a free port (uvicorn) that verifies each
delivery with the client library's helpers (tas_mis_client.verify_webhook: the Standard Webhooks signature and
timestamp; ReplayGuard: a repeated `webhook-id` is answered 2xx and not processed twice), and can be made to fail,
hang or go away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tas_dev.testing import free_port
from tas_mis_client import ReplayGuard, verify_webhook
from tas_mis_client.webhooks import WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    payload: dict[str, Any]
    at: float


@dataclass
class Receiver:
    secrets: dict[str, str] = field(default_factory=dict)
    """Path → the subscription's secret."""
    received: dict[str, list[Received]] = field(default_factory=dict)
    replays: int = 0
    rejected: int = 0
    fail_with: dict[str, int] = field(default_factory=dict)
    """Path → an HTTP status to answer instead (a failing receiver)."""
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    """Path → an event the handler waits for before answering (a slow receiver)."""
    port: int = field(default_factory=free_port)
    guard: ReplayGuard = field(default_factory=ReplayGuard)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def _handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        body = await request.body()
        if path in self.hold:
            await self.hold[path].wait()
        if path in self.fail_with:
            return Response(status_code=self.fail_with[path])
        try:
            payload = verify_webhook(self.secrets[path], request.headers, body)
        except (KeyError, WebhookVerificationError):
            self.rejected += 1
            return Response(status_code=401)
        webhook_id = request.headers["webhook-id"]
        if not self.guard.first_time(webhook_id):
            self.replays += 1  # answered 2xx (so the sender stops) but not processed twice
            return Response(status_code=204)
        self.received.setdefault(path, []).append(Received(webhook_id, payload, time.monotonic()))
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path}", self._handle, methods=["POST"])])

    async def start(self) -> Receiver:
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 (uvicorn says so only by this flag)
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            for event in self.hold.values():
                event.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=10)
            self._server = self._task = None

    def payloads(self, path: str) -> list[dict[str, Any]]:
        return [r.payload for r in self.received.get(path, [])]


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True)
