"""W3C trace context (https://www.w3.org/TR/trace-context/) carried from HTTP requests through NATS headers.

The current `traceparent` lives in a context variable:

- `TraceContextMiddleware` starts a span for each HTTP request, as a child of the caller's `traceparent` header
  (or of a new trace when there is none or it is malformed);
- `outbox.add_event` stamps the current `traceparent` on every event written while it is set (the CloudEvents
  distributed-tracing extension attribute, and the NATS header the relay publishes);
- the consumer runner starts a span for each message, as a child of the message's `traceparent`, so events that a
  handler emits carry the same trace id with a new span id;
- `TraceLogFilter` adds `trace_id` to every log record.

Only ids travel: no baggage, nothing personal.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_current: ContextVar[str | None] = ContextVar("tas_traceparent", default=None)


def parse(traceparent: str | None) -> tuple[str, str, str] | None:
    """(trace_id, parent span id, flags) of a valid version-00 header, else None."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id, flags


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_of(traceparent: str | None) -> str:
    """A new span in the same trace as `traceparent`, or a new trace when it is missing or invalid."""
    parsed = parse(traceparent)
    if parsed is None:
        return new_traceparent()
    trace_id, _, flags = parsed
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def trace_id_of(traceparent: str | None) -> str | None:
    parsed = parse(traceparent)
    return parsed[0] if parsed else None


def current_traceparent() -> str | None:
    return _current.get()


def current_trace_id() -> str | None:
    return trace_id_of(_current.get())


@contextlib.contextmanager
def span(parent: str | None) -> Iterator[str]:
    """Run the block as a new span, child of `parent` (a new trace when None): sets the current traceparent."""
    traceparent = child_of(parent)
    token = _current.set(traceparent)
    try:
        yield traceparent
    finally:
        _current.reset(token)


class TraceContextMiddleware:
    """Each HTTP request runs in a span, child of its `traceparent` header; the response names that span in a
    `traceresponse` header (Trace Context Level 2), so a caller without a trace of its own can follow it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"), None)
        with span(incoming) as traceparent:

            async def send_with_trace(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"traceresponse", traceparent.encode())]
                await send(message)

            await self.app(scope, receive, send_with_trace)


class TraceLogFilter(logging.Filter):
    """Adds `trace_id` to log records emitted inside a span (logging.SAFE_FIELDS emits it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            trace_id = current_trace_id()
            if trace_id:
                record.trace_id = trace_id
        return True
