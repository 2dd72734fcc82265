"""`tas demo-data`: drive the year that demo.py plans through referral's and caseload's own APIs.

Each step runs with the clock set to the moment the plan gives it (tas_common.clock.at: this process and task only),
so the services record, and publish in their events, a past year as if it had happened. The command runs referral
and caseload in this process against the databases and the NATS of the running `tas up` (as one more replica of
each: their outboxes and consumers are shared as between replicas), so everything reaches notify and insights
through the stream. Idempotent: each concern is raised with an Idempotency-Key made from its serial; a concern that
was raised before (a second run) is skipped with everything that follows from it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from tas_common import clock
from tas_common.cli.base import CliError, Layout, find_instance, find_root
from tas_common.identifiers import nhs_check_digit

from .demo import SERVICES, ConcernPlan, counts, plan_year
from .testing import concern_body

Headers = Callable[..., dict[str, str]]
"""`token(role=..., org_type=..., org_id=..., sub=..., **claims)` → Authorization headers."""

LA_OFFICER = {
    "role": "send_officer",
    "org_type": "local_authority",
    "org_id": "la-999",
    "sub": "demo-send-officer",
    "la_code": "999",
}
CONCURRENCY = 4


class DemoError(Exception):
    pass


def _senco(token: Headers, urn: str) -> dict[str, str]:
    return token(role="senco", org_type="school", org_id=f"school-{urn}", sub=f"demo-senco-{urn}", school_urns=[urn])


def _practitioner(token: Headers, service_id: str) -> dict[str, str]:
    s = SERVICES[service_id]
    la = {"la_code": "999"} if s.org_type == "local_authority" else {}
    return token(
        role=s.role, org_type=s.org_type, org_id=s.org_id, sub=f"demo-{s.role}", name="Demo Practitioner", **la
    )


def unique_nhs_number(serial: int) -> str:
    """A fictional NHS number (999 range) of the serial's own: the first valid one of a block of ten (the testing
    helper steps on to the next serial's number when one is invalid, and caseload would take them for one child)."""
    block = serial % 100_000 * 10
    for k in range(10):
        first_nine = f"999{block + k:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)
    raise ValueError("no valid NHS number in the block")  # cannot happen: one prefix in ten at most is invalid


def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise DemoError(f"{what}: {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Driven:
    raised: int = 0
    skipped: int = 0


async def drive(
    plans: list[ConcernPlan],
    *,
    referral: httpx.AsyncClient,
    caseload: httpx.AsyncClient,
    token: Headers,
    child_timeout: float = 120.0,
) -> Driven:
    """Raise every concern of the plan with its referrals, then (once caseload has linked each child) its plan,
    reviews and EHC request."""
    driven = Driven()
    raised: list[tuple[ConcernPlan, str]] = []
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(concern: ConcernPlan) -> None:
        async with gate:
            concern_id = await _raise(concern, referral=referral, token=token)
        if concern_id is None:
            driven.skipped += 1
            return
        driven.raised += 1
        raised.append((concern, concern_id))

    await asyncio.gather(*(one(c) for c in plans))
    later = [(c, cid) for c, cid in raised if c.reviews or c.ehc is not None]

    async def follow(concern: ConcernPlan, concern_id: str) -> None:
        async with gate:
            child = await _child_of(concern_id, concern.school_urn, referral, token, child_timeout)
            await _caseload(concern, child, caseload=caseload, token=token)

    await asyncio.gather(*(follow(c, cid) for c, cid in later))
    return driven


async def _raise(concern: ConcernPlan, *, referral: httpx.AsyncClient, token: Headers) -> str | None:
    senco = _senco(token, concern.school_urn)
    body = concern_body(
        concern.serial,
        school_urn=concern.school_urn,
        rng=random.Random(concern.serial),
        areas_of_need=list(concern.areas),
        summary="A fictional concern written by tas demo-data.",
    )
    body["child"]["nhs_number"] = unique_nhs_number(concern.serial)
    with clock.at(concern.raised_at):
        made = await referral.post(
            "/v1/concerns", json=body, headers={**senco, "Idempotency-Key": f"demo-{concern.serial}"}
        )
    created = _ok(made, "raise a concern")
    if made.headers.get("Idempotent-Replayed") == "true":
        return None
    for planned in concern.referrals:
        with clock.at(planned.submitted_at):
            items = _ok(
                await referral.post(
                    "/v1/referrals",
                    json={"concern_id": created["id"], "service_ids": [planned.service_id]},
                    headers={**senco, "Idempotency-Key": f"demo-{concern.serial}-{planned.service_id}"},
                ),
                "refer",
            )["items"]
        rid, team = items[0]["id"], _practitioner(token, planned.service_id)
        steps = [
            (planned.decided_at, "accept" if planned.decision == "accepted" else "decline"),
            (planned.first_contact_at, "first-contact"),
            (planned.completed_at, "complete"),
        ]
        for at, step in steps:
            if at is None or (step == "decline" and planned.decision != "declined"):
                continue
            payload: dict[str, Any] = {"reason": "Another service meets this need better."} if step == "decline" else {}
            with clock.at(at):
                _ok(await referral.post(f"/v1/referrals/{rid}/{step}", json=payload, headers=team), step)
    return str(created["id"])


async def _child_of(concern_id: str, urn: str, referral: httpx.AsyncClient, token: Headers, timeout: float) -> str:
    """The child caseload linked the concern to (it arrives through the stream)."""
    deadline = time.monotonic() + timeout
    while True:
        child = _ok(await referral.get(f"/v1/concerns/{concern_id}", headers=_senco(token, urn)), "read").get(
            "child_id"
        )
        if child:
            return str(child)
        if time.monotonic() > deadline:
            raise DemoError(f"caseload did not link concern {concern_id} to a child within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def _caseload(concern: ConcernPlan, child: str, *, caseload: httpx.AsyncClient, token: Headers) -> None:
    senco, officer = _senco(token, concern.school_urn), token(**LA_OFFICER)
    if concern.reviews:
        with clock.at(concern.reviews[0].held_at - timedelta(days=30)):
            plan = await caseload.get(f"/v1/children/{child}/plan", headers=senco)
            _ok(plan, "read the plan")
            outcomes = [
                {"area": area, "description": f"A fictional outcome ({n + 1})", "measure": "Seen at the review"}
                for n, area in enumerate(concern.outcome_areas)
            ]
            put = _ok(
                await caseload.put(
                    f"/v1/children/{child}/plan",
                    json={"outcomes": outcomes},
                    headers={**senco, "If-Match": plan.headers["ETag"]},
                ),
                "write the plan",
            )
        ids = [o["id"] for o in put["sections"]["outcomes"]]
        for review in concern.reviews:
            with clock.at(review.held_at - timedelta(days=14)):
                made = _ok(
                    await caseload.post(
                        f"/v1/children/{child}/reviews",
                        json={
                            "scheduled_for": review.held_at.isoformat(),
                            "place": "School",
                            "attendees": [{"name": "Demo SENCO"}],
                        },
                        headers=senco,
                    ),
                    "schedule a review",
                )
            progress = [{"outcome_id": i, "achievement_status": s} for i, s in zip(ids, review.statuses, strict=True)]
            with clock.at(review.held_at):
                _ok(
                    await caseload.post(
                        f"/v1/children/{child}/reviews/{made['id']}/progress",
                        json={"progress": progress},
                        headers=senco,
                    ),
                    "record progress",
                )
    ehc = concern.ehc
    if ehc is not None:
        with clock.at(concern.raised_at + timedelta(days=(ehc.requested_on - concern.raised_at.date()).days)):
            made = _ok(
                await caseload.post(
                    f"/v1/children/{child}/ehc-requests",
                    json={"requested_on": ehc.requested_on.isoformat()},
                    headers=officer,
                ),
                "request an EHC needs assessment",
            )
        milestones: dict[str, Any] = {}
        if ehc.decision_on is not None:
            milestones |= {"decision": "assess", "decision_on": ehc.decision_on.isoformat()}
            if ehc.decision_exception:
                milestones["decision_exception"] = ehc.decision_exception
        if ehc.final_on is not None:
            milestones |= {
                "draft_issued_on": (ehc.final_on - timedelta(days=21)).isoformat(),
                "final_issued_on": ehc.final_on.isoformat(),
            }
            if ehc.final_exception:
                milestones["final_exception"] = ehc.final_exception
        if milestones:
            last = ehc.final_on or ehc.decision_on or ehc.requested_on
            with clock.at(concern.raised_at + timedelta(days=(last - concern.raised_at.date()).days)):
                _ok(
                    await caseload.patch(
                        f"/v1/children/{child}/ehc-requests/{made['id']}", json=milestones, headers=officer
                    ),
                    "record the EHC milestones",
                )


# --- the command ---------------------------------------------------------------------------------------------------


@asynccontextmanager
async def in_process(apps: dict[str, Any]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The apps' lifespans started, and an in-process client for each."""
    async with AsyncExitStack() as stack:
        clients = {}
        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=60)
            )
        yield clients


async def _run(args: argparse.Namespace) -> int:
    import importlib

    from tas_common.auth import DevIssuer

    root = Layout.at(args.root or find_root())
    instance = find_instance()
    if instance is None:
        raise CliError("start TAS first (`make run` or `tas up`): the demo data goes through its services")
    common = {
        "env": "dev",
        "nats_url": instance.nats_url,
        "stream_name": instance.stream,
        "dev_key_dir": instance.key_dir,
        "family_key_dir": root.var / "family-issuer",
        "jwt_issuer": instance.issuer,
        "jwt_audience": instance.audience,
    }
    apps = {}
    for service in ("referral", "caseload"):
        config = importlib.import_module(f"{service}.config")
        settings = getattr(config, f"{service.capitalize()}Settings")(database_url=root.database_url(service), **common)
        apps[service] = importlib.import_module(f"{service}.main").create_app(settings)
    issuer = DevIssuer(instance.key_dir).ensure()

    def token(role: str, org_type: str, org_id: str, sub: str, **claims: Any) -> dict[str, str]:
        jwt = issuer.mint(
            issuer=instance.issuer,
            audience=instance.audience,
            sub=sub,
            org_id=org_id,
            org_type=org_type,
            roles=[role],
            **claims,
        )
        return {"Authorization": f"Bearer {jwt}"}

    last_day = date.fromisoformat(args.last_day) if args.last_day else clock.today() - timedelta(days=1)
    plans = plan_year(seed=args.seed, concerns=args.concerns, last_day=last_day)
    started = time.perf_counter()
    async with in_process(apps) as clients:
        try:
            driven = await drive(plans, referral=clients["referral"], caseload=clients["caseload"], token=token)
        except DemoError as exc:
            raise CliError(str(exc)) from None
    expected = counts(plans, last_day=last_day)
    print(
        f"demo data for LA 999 (seed {args.seed}, {expected.period}): {driven.raised} concerns raised, "
        f"{driven.skipped} already there, in {time.perf_counter() - started:.0f} s"
    )
    print(
        f"  the plan's own counts: {expected.concerns} concerns, {expected.referrals} referrals, "
        f"{expected.first_contacts} first contacts (median {expected.median_days_to_first_contact} days), "
        f"{expected.waiting_now} waiting now, {expected.ehc_requests} EHC requests, plans issued by year "
        f"{expected.plans_by_year} ({expected.plans_within_20_weeks_by_year} within 20 weeks), "
        f"{expected.outcome_statuses} outcome statuses at reviews"
    )
    print(f"  insights: GET /v1/insights/{{waiting|timeliness|outcomes|schools}}?la_code=999&period={expected.period}")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


def add_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo-data", help="a year of fictional activity for LA 999 through the running services (seeded, idempotent)"
    )
    demo.add_argument("--seed", type=int, default=999)
    demo.add_argument("--concerns", type=int, default=1800, help="how many concerns over the year (default 1800)")
    demo.add_argument("--last-day", help="the year's last day, YYYY-MM-DD (default: yesterday)")
    demo.add_argument("--root", help="directory holding var/ (default: $TAS_ROOT, else as `tas up` left it)")
    demo.set_defaults(func=cmd_demo_data)
