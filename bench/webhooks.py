"""Webhook latency (issue 17): referral decisions at a steady rate (50 a second), each answered by a webhook to an
MIS client's receiver; the time from a decision's 2xx to the signed delivery arriving at the receiver (verified with
the client library). The path is the production one: the decision's event through the outbox and NATS, referral's
consumer writing the delivery, the delivery worker sending it. Target: p99 < 2 s.

nats-server and referral (uvicorn, its own process) as in the other benchmarks; the receiver runs in this process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tas_dev.testing import concern_body, free_port
from tas_mis_client import verify_webhook

from .e2e import distinct_serials
from .report import Figure, Report, at_most, summary
from .system import BenchSystem

RATE = 50.0
TARGET_S = 2.0


class Receiver:
    """Records when each referral's `referral.decided` arrives (monotonic), after verifying its signature."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret = ""
        self.arrived: dict[str, float] = {}
        self.rejected = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        try:
            payload = verify_webhook(self.secret, request.headers, body)
        except Exception:
            self.rejected += 1
            return Response(status_code=401)
        self.arrived.setdefault(payload["data"]["referral_id"], time.time())
        return Response(status_code=204)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


async def _decide(
    url: str, headers: dict[str, str], referral_ids: list[str], rate: float
) -> tuple[dict[str, float], list[float]]:
    """Accept each referral at `rate` a second on a fixed schedule; returns referral id → when its 2xx came, and how
    long each accept took to answer."""
    decided: dict[str, float] = {}
    took: list[float] = []
    # open loop: a decision waits for no other's answer (no pool limit), and one that fails is left out
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
    timeout = httpx.Timeout(60.0, pool=None)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout, limits=limits, trust_env=False
    ) as client:

        async def accept(referral_id: str) -> None:
            sent = time.monotonic()
            try:
                response = await client.post(f"/v1/referrals/{referral_id}/accept")
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                decided[referral_id] = time.time()
                took.append(time.monotonic() - sent)

        start = time.monotonic()
        tasks = []
        for n, referral_id in enumerate(referral_ids):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(accept(referral_id)))
        await asyncio.gather(*tasks)
    return decided, took


def run(report: Report, *, tmp: Path, quick: bool) -> dict[str, Any]:
    bench = "MIS webhooks"
    decisions = 100 if quick else 500
    receiver = Receiver().start()
    try:
        with BenchSystem(tmp=tmp, services=("referral",)) as system:
            referral = system.procs["referral"].url
            admin = system.token("integration_admin", "local_authority", la_code="999", org_id="la-999")
            with system.client("referral", timeout=120) as client:
                registered = client.post(
                    "/v1/mis/clients",
                    json={"name": "Bench MIS", "school_urns": ["100000"], "client_secret": True},
                    headers=admin,
                ).json()
                token = client.post(
                    "/v1/mis/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(registered["id"], registered["client_secret"]),
                ).json()["access_token"]
                mis = {"Authorization": f"Bearer {token}"}
                hook = client.post(
                    "/v1/mis/webhooks",
                    json={"url": f"http://127.0.0.1:{receiver.port}/hook", "event_types": ["referral.decided"]},
                    headers=mis,
                ).json()
                receiver.secret = hook["secret"]
                serials = distinct_serials(300_000, decisions)
                items = [concern_body(n) | {"mis_record_id": f"hook-{n}"} for n in serials]
                pushed = client.post("/v1/mis/concerns", json={"items": items}, headers=mis).json()
                senco = system.senco()
                referral_ids = []
                for result in pushed["results"]:
                    made = client.post(
                        "/v1/referrals",
                        json={"concern_id": result["concern_id"], "service_ids": ["999-salt"]},
                        headers=senco,
                    )
                    referral_ids.append(made.json()["items"][0]["id"])
            salt = system.token("slt", "health", org_id="nhs-trust-1", sub="slt-bench", name="Bench Therapist")
            decided, took = asyncio.run(_decide(referral, salt, referral_ids, RATE))
            deadline = time.monotonic() + 60
            while len(receiver.arrived) < len(decided) and time.monotonic() < deadline:
                time.sleep(0.1)
            written = _written_at(system, mis)
    finally:
        receiver.stop()
    latencies = [receiver.arrived[r] - t for r, t in decided.items() if r in receiver.arrived]
    to_written = [written[r] - t for r, t in decided.items() if r in written]
    to_sent = [receiver.arrived[r] - written[r] for r in decided if r in written and r in receiver.arrived]
    figures = summary(latencies)
    p99 = figures["p99"]
    missing = len(decided) - len(latencies)
    failed = len(referral_ids) - len(decided)
    report.add(
        Figure(
            bench,
            f"decision → receiver p50 ({len(decided)} decisions at {RATE:.0f}/s)",
            None if figures["p50"] is None else float(figures["p50"]) * 1000,
            "ms",
        ),
        Figure(
            bench,
            f"decision → receiver p99 ({len(decided)} decisions at {RATE:.0f}/s)",
            None if p99 is None else float(p99) * 1000,
            "ms",
            f"< {TARGET_S:.0f} s",
            at_most(None if p99 is None else float(p99), TARGET_S) if not (missing or failed) else False,
            note=(f"{missing} never arrived within 60 s; " if missing else "")
            + (f"{failed} decisions not answered 200; " if failed else "")
            + f"{receiver.rejected} rejected signatures",
        ),
    )
    report.add(
        Figure(bench, "the decision itself (POST .../accept answered) p99", _p99_ms(took), "ms"),
        Figure(
            bench,
            "of which: decision → delivery written (outbox, NATS, referral's consumer) p99",
            _p99_ms(to_written),
            "ms",
        ),
        Figure(
            bench,
            "of which: delivery written → receiver (the delivery worker) p99",
            _p99_ms(to_sent),
            "ms",
        ),
    )
    return {
        "latency": figures,
        "to_written": summary(to_written),
        "to_sent": summary(to_sent),
        "decision": summary(took),
        "decisions": len(decided),
        "missing": missing,
        "failed": failed,
        "rejected": receiver.rejected,
    }


def _p99_ms(values: list[float]) -> float | None:
    p99 = summary(values)["p99"]
    return None if p99 is None else float(p99) * 1000


def _written_at(system: BenchSystem, mis: dict[str, str]) -> dict[str, float]:
    """Referral id → when the consumer wrote its delivery (the deliveries list, every page)."""
    from datetime import datetime

    found: dict[str, float] = {}
    cursor = None
    with system.client("referral", timeout=60) as client:
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/mis/webhooks/deliveries", params=params, headers=mis).json()
            for d in page["items"]:
                found[d["payload"]["data"]["referral_id"]] = datetime.fromisoformat(d["created_at"]).timestamp()
            cursor = page["next_cursor"]
            if not cursor:
                return found
