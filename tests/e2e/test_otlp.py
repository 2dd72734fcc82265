"""The traces TAS propagates, exported with the OpenTelemetry SDK over OTLP/HTTP (TAS_OTLP_ENDPOINT) to a local
receiver that decodes what a collector would get: one concern crosses referral, caseload and notify as ONE trace,
each hop a span whose parent is the hop before, and no span carries personal data. Off by default."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tas_common.settings import CommonSettings
from tas_common.telemetry import Telemetry
from tas_dev.testing import concern_body

from ..conftest import eventually

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


class Receiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest (protobuf)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.spans: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                ok = self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
                if ok:
                    receiver.take(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    spans.append(
                        {
                            "service": resource["service.name"],
                            "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(),
                            "parent": s.parent_span_id.hex(),
                            "name": s.name,
                            "kind": KINDS.get(s.kind, str(s.kind)),
                            "attributes": {a.key: a.value for a in s.attributes},
                        }
                    )
        with self.lock:
            self.bodies.append(body)
            self.spans += spans

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]


@pytest.fixture
def otlp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TAS_OTLP_ENDPOINT", receiver.url)  # every service of the `system` made after this
    monkeypatch.setenv("TAS_OTLP_EXPORT_SECONDS", "0.2")
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def _one(spans: list[dict[str, Any]], service: str, name: str) -> dict[str, Any]:
    found = [s for s in spans if s["service"] == service and s["name"] == name]
    assert len(found) == 1, f"{service} {name}: {len(found)} spans"
    return found[0]


async def test_a_concern_crossing_the_three_services_is_one_exported_trace(otlp, system, token):
    # `otlp` comes first: the services are made after it set the endpoint
    assert {system.runtime(s).settings.otlp_endpoint for s in ("referral", "caseload", "notify")} == {otlp.url}
    senco = token("senco", "school", org_id="school-100000", sub="senco-1", school_urns=["100000"])
    body = concern_body(71, channel="email")
    r = await system.referral.post("/v1/concerns", json=body, headers={**senco, "traceparent": INCOMING})
    assert r.status_code == 201, r.text

    wanted = {
        ("referral", "POST /v1/concerns"),
        ("caseload", "process tas.referral.concern.raised"),
        ("referral", "process tas.caseload.child.concern_linked"),
        ("notify", "process tas.caseload.child.concern_linked"),
        ("notify", "send email"),
    }

    async def exported() -> bool:
        return wanted <= {(s["service"], s["name"]) for s in otlp.trace(TRACE_ID)}

    await eventually(exported, timeout=20, what="the concern's spans at the OTLP receiver")
    spans = otlp.trace(TRACE_ID)
    raised = _one(spans, "referral", "POST /v1/concerns")
    registered = _one(spans, "caseload", "process tas.referral.concern.raised")
    linked_referral = _one(spans, "referral", "process tas.caseload.child.concern_linked")
    linked_notify = _one(spans, "notify", "process tas.caseload.child.concern_linked")
    sent = _one(spans, "notify", "send email")

    # each hop is a child of the one before: the propagated traceparent is the exported span's own id
    assert raised["kind"] == "server" and raised["parent"] == "00f067aa0ba902b7"
    assert raised["attributes"]["http.route"].string_value == "/v1/concerns"
    assert raised["attributes"]["http.response.status_code"].int_value == 201
    assert registered["kind"] == "consumer" and registered["parent"] == raised["span_id"]
    assert linked_referral["parent"] == registered["span_id"] and linked_notify["parent"] == registered["span_id"]
    assert sent["kind"] == "client" and sent["parent"] == linked_notify["span_id"]
    assert registered["attributes"]["messaging.destination.name"].string_value == "tas.referral.concern.raised"

    # ids and codes only: nothing the school sent about the child or the family reaches the collector
    exported_bytes = b"".join(otlp.bodies)
    child, contact = body["child"], body["family_contacts"][0]
    for personal in (child["upn"], child["given_name"], child["family_name"], child["nhs_number"], contact["email"]):
        assert personal.encode() not in exported_bytes


def test_off_by_default():
    telemetry = Telemetry(CommonSettings(env="test"))
    telemetry.start()
    assert not telemetry.enabled and telemetry.tracer is None and telemetry.provider is None
