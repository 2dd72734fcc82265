"""W3C trace context: parsing, new spans in the same trace, the HTTP middleware, events and logs."""

from __future__ import annotations

import json
import logging

import httpx
from fastapi import FastAPI

from tas_common import tracing
from tas_common.logging import JsonFormatter
from tas_common.tracing import TraceContextMiddleware, TraceLogFilter

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_valid_traceparent_is_parsed_and_invalid_ones_are_refused():
    assert tracing.parse(PARENT) == (TRACE_ID, "00f067aa0ba902b7", "01")
    for bad in (
        None,
        "",
        "garbage",
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01",
        f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01",
    ):
        assert tracing.parse(bad) is None, bad


def test_a_child_span_keeps_the_trace_and_gets_a_new_span_id():
    child = tracing.child_of(PARENT)
    trace_id, span_id, flags = tracing.parse(child)
    assert (trace_id, flags) == (TRACE_ID, "01") and span_id != "00f067aa0ba902b7"
    assert tracing.trace_id_of(tracing.child_of("not a traceparent")) not in (None, TRACE_ID)  # a new trace


def test_span_sets_and_restores_the_current_trace():
    assert tracing.current_traceparent() is None
    with tracing.span(PARENT) as outer:
        assert tracing.current_trace_id() == TRACE_ID and tracing.current_traceparent() == outer
        with tracing.span(None):
            assert tracing.current_trace_id() not in (None, TRACE_ID)
        assert tracing.current_traceparent() == outer
    assert tracing.current_traceparent() is None


async def test_the_middleware_continues_the_callers_trace_or_starts_one():
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/probe")
    async def probe() -> dict:
        seen.append(tracing.current_traceparent())
        return {}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=TraceContextMiddleware(app)), base_url="http://t"
    ) as client:
        continued = await client.get("/probe", headers={"traceparent": PARENT})
        started = await client.get("/probe")
    assert tracing.trace_id_of(seen[0]) == TRACE_ID and seen[0] != PARENT
    assert continued.headers["traceresponse"] == seen[0]
    assert tracing.trace_id_of(seen[1]) not in (None, TRACE_ID)
    assert started.headers["traceresponse"] == seen[1]


def test_log_records_inside_a_span_carry_the_trace_id():
    formatter = JsonFormatter("tests")
    log_filter = TraceLogFilter()
    record = logging.LogRecord("tas.test", logging.INFO, __file__, 1, "handled", None, None)
    with tracing.span(PARENT):
        log_filter.filter(record)
    assert json.loads(formatter.format(record))["trace_id"] == TRACE_ID
    outside = logging.LogRecord("tas.test", logging.INFO, __file__, 1, "idle", None, None)
    log_filter.filter(outside)
    assert "trace_id" not in json.loads(formatter.format(outside))
