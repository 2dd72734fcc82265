"""The load: concerns about distinct pupils, as single `POST /v1/concerns` with an Idempotency-Key and as MIS
batches (`POST /v1/mis/concerns`), each retried the way a careful client would (same key, same body) until it is
acknowledged. A concern counts as acknowledged once referral has answered 201 (or replayed it), or listed it as
`created` or `duplicate` in a batch answer: only acknowledged concerns are owed a child and a family message."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.e2e import distinct_serials, email_of
from tas_dev.testing import concern_body

RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504}
"""Answers a client retries with the same key (a 5xx from a dying or restarting process, or from nginx)."""


def mobile_of(index: int) -> str:
    """A distinct mobile in Ofcom's drama range for each of up to 1,000 SMS families of a run."""
    return f"07700 900{index % 1000:03d}"


def sms_digits(mobile: str) -> str:
    """A mobile as digits in international form, whatever way a provider writes it (07700 900123, +447700900123)."""
    digits = "".join(ch for ch in mobile if ch.isdigit())
    return "44" + digits[1:] if digits.startswith("0") else digits


@dataclass
class Concern:
    serial: int
    body: dict[str, Any]
    channel: str
    recipient: str
    """Where the family message goes: the email address, or the mobile as digits (see `sms_digits`)."""
    via: str = "post"
    acked_at: float | None = None
    attempts: int = 0

    @property
    def upn(self) -> str:
        return str(self.body["child"]["upn"])


def make_concerns(count: int, *, start: int = 400_000, sms_share: float = 0.25, sms_start: int = 0) -> list[Concern]:
    """`count` concerns about distinct pupils; about `sms_share` of the families prefer SMS (mobiles
    `mobile_of(sms_start)` onwards, at most 1,000 in all, so that every SMS family has its own mobile)."""
    concerns = []
    sms_every = max(1, round(1 / sms_share)) if sms_share > 0 else 0
    sms_used = sms_start
    for i, serial in enumerate(distinct_serials(start, count)):
        sms = bool(sms_every) and i % sms_every == 0 and sms_used < 1000
        if sms:
            mobile = mobile_of(sms_used)
            sms_used += 1
            body = concern_body(serial, channel="sms")
            body["family_contacts"][0]["mobile"] = mobile
            concerns.append(Concern(serial, body, "sms", sms_digits(mobile)))
        else:
            body = concern_body(serial, channel="email")
            body["family_contacts"][0].pop("mobile", None)  # one channel each: the message goes to the email
            concerns.append(Concern(serial, body, "email", email_of(serial)))
    return concerns


@dataclass
class Driver:
    """Sends `concerns` at about `rate` per second, about `mis_share` of them in MIS batches of `mis_batch` and
    the rest one POST each, at most `concurrency` requests in flight, each retried until acknowledged or
    `give_up_s` has passed."""

    base_url: str
    senco: dict[str, str]
    mis: dict[str, str]
    rate: float
    mis_batch: int = 25
    mis_share: float = 0.2
    concurrency: int = 16
    give_up_s: float = 120.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    in_flight: int = 0
    requests: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    """Answers no retry can fix (a 4xx other than those above): a defect, reported as such."""

    def _note(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    async def run(self, concerns: list[Concern], stop: asyncio.Event | None = None) -> None:
        """Send until every concern is acknowledged, or until `stop` is set (then send nothing new and finish
        what was sent)."""
        groups: list[list[Concern]] = []
        i = batched = 0
        while i < len(concerns):
            size = self.mis_batch if batched < self.mis_share * (i + self.mis_batch) else 1
            group = concerns[i : i + size]
            if size > 1:
                batched += len(group)
                for c in group:
                    c.via = "mis"
            groups.append(group)
            i += len(group)
        limits = httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency)
        gate = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30.0, limits=limits, trust_env=False) as client:
            tasks = []
            start = time.monotonic()
            sent = 0
            for group in groups:
                delay = start + sent / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if stop is not None and stop.is_set():
                    break
                sent += len(group)
                await gate.acquire()
                task = asyncio.create_task(self._send(client, group))
                task.add_done_callback(lambda _t: gate.release())
                tasks.append(task)
            await asyncio.gather(*tasks)

    async def _send(self, client: httpx.AsyncClient, group: list[Concern]) -> None:
        if group[0].via == "post":
            await self._until_acked(client, group, "/v1/concerns", group[0].body, self.senco)
        else:
            items = [c.body | {"mis_record_id": f"chaos-{self.run_id}-{c.serial}"} for c in group]
            await self._until_acked(client, group, "/v1/mis/concerns", {"items": items}, self.mis)

    async def _until_acked(
        self, client: httpx.AsyncClient, group: list[Concern], path: str, body: dict[str, Any], auth: dict[str, str]
    ) -> None:
        key = f"chaos-{self.run_id}-{path.rsplit('/', 2)[-2]}-{group[0].serial}"
        headers = {**auth, "Idempotency-Key": key}
        deadline = time.monotonic() + self.give_up_s
        pause = 0.1
        while time.monotonic() < deadline:
            for c in group:
                c.attempts += 1
            self.requests += 1
            self.in_flight += 1
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                self._note(type(exc).__name__)
                response = None
            finally:
                self.in_flight -= 1
            if response is not None:
                if response.status_code in (200, 201):
                    self._acknowledge(group, response)
                    return
                self._note(f"http {response.status_code}")
                if response.status_code not in RETRY_STATUSES:
                    self.unexpected.append(f"{path} answered {response.status_code}: {response.text[:200]}")
                    return
            self.retries += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _acknowledge(self, group: list[Concern], response: httpx.Response) -> None:
        now = time.monotonic()
        if group[0].via == "post":
            group[0].acked_at = now
            return
        results = response.json().get("results", [])
        for c, result in zip(group, results, strict=False):
            if result.get("status") in ("created", "duplicate"):
                c.acked_at = now
            else:
                self.unexpected.append(f"MIS item {result.get('status')}: {str(result.get('errors'))[:200]}")
