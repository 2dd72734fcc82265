"""OpenTelemetry export of the traces TAS already propagates (tracing.py: W3C `traceparent` from HTTP requests
through the outbox and NATS headers to each consumer). Off by default; `TAS_OTLP_ENDPOINT` (a collector's OTLP/HTTP
base URL, e.g. `http://otel-collector:4318`) turns it on for a service.

When on, each HTTP request and each event handled is an OpenTelemetry span (the OpenTelemetry SDK, a batch span
processor and the OTLP/HTTP protobuf exporter) whose ids ARE the `traceparent` TAS propagates, so a collector sees a
concern cross referral, caseload and notify as one trace. Each service has a tracer provider of its own (resource
`service.name` = the service's name): nothing global is set, so several services in one process (the tests, `tas
up`) stay apart. The exporter also honours the SDK's own variables (`OTEL_EXPORTER_OTLP_HEADERS` for a collector's
credentials, `OTEL_EXPORTER_OTLP_CERTIFICATE`, ...).

Spans carry ids and codes only: the route template (never the path or the query, which may hold a UPN), the status,
the subject and event id of a message. Nothing personal.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .settings import CommonSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger("tas.telemetry")


class Telemetry:
    """A service's tracer: None until `start()`, and always None while `TAS_OTLP_ENDPOINT` is unset."""

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings
        self.provider: TracerProvider | None = None
        self.tracer: Tracer | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.otlp_endpoint)

    def start(self) -> None:
        if not self.enabled or self.provider is not None:
            return
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        settings = self.settings
        resource = Resource.create(
            {"service.name": settings.service_name, "service.namespace": "tas", "deployment.environment": settings.env}
        )
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        exporter = OTLPSpanExporter(
            endpoint=f"{str(settings.otlp_endpoint).rstrip('/')}/v1/traces", timeout=settings.otlp_timeout_seconds
        )
        self.provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                schedule_delay_millis=settings.otlp_export_seconds * 1000,
                export_timeout_millis=settings.otlp_timeout_seconds * 1000,
            )
        )
        self.tracer = self.provider.get_tracer("tas")
        log.info("exporting traces over OTLP", extra={"service": settings.service_name})

    def flush(self) -> None:
        """Export what has ended so far (blocking: call it in a thread)."""
        if self.provider is not None:
            self.provider.force_flush(timeout_millis=int(self.settings.otlp_timeout_seconds * 1000))

    def stop(self) -> None:
        """Export what is left and stop (blocking: call it in a thread)."""
        if self.provider is not None:
            self.tracer = None
            self.provider.shutdown()
            self.provider = None
