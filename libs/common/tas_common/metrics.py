"""Prometheus metrics shared by the services (module-level collectors; creating them does no I/O).

Counters and the latency histogram are updated where things happen; the gauges (outbox pending and lag, consumer
pending) are refreshed on every scrape of `/metrics` (`ServiceRuntime.refresh_gauges`), so they are never stale."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_SECONDS = Histogram(
    "tas_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_PUBLISHED = Counter("tas_outbox_published_total", "Outbox rows published to JetStream", ["service"])
OUTBOX_DUPLICATES = Counter(
    "tas_outbox_duplicate_publishes_total",
    "Outbox publishes JetStream acknowledged as duplicates of an earlier one (same Nats-Msg-Id)",
    ["service"],
)
OUTBOX_PENDING = Gauge("tas_outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_LAG_SECONDS = Gauge("tas_outbox_lag_seconds", "Age of the oldest unpublished outbox row", ["service"])
EVENTS_HANDLED = Counter("tas_events_handled_total", "Events handled by a consumer", ["consumer", "outcome"])
EVENT_REDELIVERIES = Counter("tas_event_redeliveries_total", "Messages received more than once", ["consumer"])
DEAD_LETTERS = Counter("tas_dead_letters_total", "Messages moved to the dead-letter subject", ["consumer"])
CONSUMER_PENDING = Gauge("tas_consumer_pending", "Messages waiting for a durable consumer", ["consumer"])
NOTIFICATIONS = Counter("tas_notifications_total", "Notification outcomes", ["channel", "status"])
