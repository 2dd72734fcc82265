"""W3C trace context (https://www.w3.org/TR/trace-context/) carried from HTTP requests through NATS headers.

The current `traceparent` lives in a context variable:

- `TraceContextMiddleware` starts a span for each HTTP request, as a child of the caller's `traceparent` header
  (or of a new trace when there is none or it is malformed);
- `outbox.add_event` stamps the current `traceparent` on every event written while it is set (the CloudEvents
  distributed-tracing extension attribute, and the NATS header the relay publishes);
- the consumer runner starts a span for each message, as a child of the message's `traceparent`, so events that a
  handler emits carry the same trace id with a new span id;
- `TraceLogFilter` adds `trace_id` to every log record;
- when a service exports its traces (telemetry.py, `TAS_OTLP_ENDPOINT`), each of those spans is an OpenTelemetry
  span, and the propagated ids are its own.

Only ids travel: no baggage, nothing personal.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from .telemetry import Telemetry

_PROPAGATOR = TraceContextTextMapPropagator()

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


@contextlib.contextmanager
def within(traceparent: str | None) -> Iterator[None]:
    """Run the block with `traceparent` as the current one (no new span): work done for another task's span, as
    notify's recorder records outcomes its send tasks gave it."""
    token = _current.set(traceparent)
    try:
        yield
    finally:
        _current.reset(token)


def current_trace_id() -> str | None:
    return trace_id_of(_current.get())


@contextlib.contextmanager
def span(
    parent: str | None,
    *,
    tracer: Tracer | None = None,
    name: str = "tas",
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[str]:
    """Run the block as a new span, child of `parent` (a new trace when None): sets the current traceparent. With a
    `tracer` (telemetry.py: the service exports its traces) the span is an OpenTelemetry span, recorded and
    exported, and the traceparent is its own; without one, only the ids are made."""
    if tracer is None:
        traceparent = child_of(parent)
        token = _current.set(traceparent)
        try:
            yield traceparent
        finally:
            _current.reset(token)
        return
    context = _PROPAGATOR.extract({"traceparent": parent}) if parse(parent) else Context()
    with tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes) as current:
        ids = current.get_span_context()
        traceparent = f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{int(ids.trace_flags):02x}"
        token = _current.set(traceparent)
        try:
            yield traceparent
        finally:
            _current.reset(token)


def message_span(
    headers: Mapping[str, str], *, subject: str, consumer: str, tracer: Tracer | None
) -> contextlib.AbstractContextManager[str]:
    """A consumer's span for handling a message, child of the message's `traceparent`: when exported, a CONSUMER span
    named by the subject, with the event id (`Nats-Msg-Id`) and nothing of the payload."""
    return span(
        headers.get("traceparent"),
        tracer=tracer,
        name=f"process {subject}",
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": subject,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": headers.get("Nats-Msg-Id", ""),
        },
    )


def annotate(*, name: str | None = None, error: bool = False, **attributes: str | int) -> None:
    """Name the current span, add attributes and mark it failed (when it is an exported OpenTelemetry span)."""
    current = trace.get_current_span()
    if not current.is_recording():
        return
    if name:
        current.update_name(name)
    current.set_attributes(attributes)
    if error:
        current.set_status(StatusCode.ERROR)


class TraceContextMiddleware:
    """Each HTTP request runs in a span, child of its `traceparent` header; the response names that span in a
    `traceresponse` header (Trace Context Level 2), so a caller without a trace of its own can follow it. When the
    service exports traces (`telemetry`), the span is a SERVER span named by the method and route template."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry | None = None) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"traceparent"), None)
        tracer = self.telemetry.tracer if self.telemetry is not None else None
        method = scope.get("method", "")
        attributes = {"http.request.method": method}
        with span(incoming, tracer=tracer, name=method, kind=SpanKind.SERVER, attributes=attributes) as traceparent:

            async def send_with_trace(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"traceresponse", traceparent.encode())]
                    if tracer is not None:  # else no span is recording: nothing to annotate
                        annotate(error=message["status"] >= 500, **{"http.response.status_code": message["status"]})
                await send(message)

            await self.app(scope, receive, send_with_trace)
            route = getattr(scope.get("route"), "path", None)  # the template (never the path: it may hold ids)
            if route and tracer is not None:
                annotate(name=f"{method} {route}", **{"http.route": route})


class TraceLogFilter(logging.Filter):
    """Adds `trace_id` to log records emitted inside a span (logging.SAFE_FIELDS emits it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            trace_id = current_trace_id()
            if trace_id:
                record.trace_id = trace_id
        return True
