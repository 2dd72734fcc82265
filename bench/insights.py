"""Benchmark: insights (issue 15). The demo generator's plan (libs/dev/tas_dev/demo.py) at scale — `LAS` local
authorities' worth of concerns (--quick: one LA's demo year) — turned straight into the events referral and caseload
publish (no services: the events only), then:

- the rebuild rate: the events handed to insights' handlers by `insights.rebuild` (the code `tas insights
  rebuild` runs), into a fresh migrated SQLite database, in events per second;
- each answer (`GET /v1/insights/{waiting|timeliness|outcomes|schools}`) for the LA, a school and a service, with
  insights under uvicorn on that database: p50 and p99 over sequential requests on a keep-alive connection, each
  read audited as in production. The answers read the tallies (an index range per metric), never the raw facts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tas_common.events import CloudEvent, EventPayload, new_event
from tas_common.migrations import upgrade
from tas_dev.demo import SCHOOLS, SERVICES, ConcernPlan, plan_year
from tas_dev.testing import fictional_upn

from .report import Figure, Report, at_most, summary
from .system import BenchSystem, migrations_dir, sqlite_url

LAS = 5
"""The full run: 5 LAs' worth of the demo year (9,000 concerns, about 48,000 events) in LA 999's 20 schools."""
PATHS = ("waiting", "timeliness", "outcomes", "schools")


def _event(payload: EventPayload, at: Any, source: str) -> CloudEvent:
    from tas_common import clock

    with clock.at(at):
        return new_event(payload, source=source)


def events_of(plans: list[ConcernPlan], last_day: date) -> Iterator[CloudEvent]:
    """The events referral and caseload would publish for the plan (what insights reads of them)."""
    from datetime import UTC, datetime

    from tas_common.events.facts import (
        EhcRequestRecordedV1,
        OutcomeProgressFact,
        ReviewProgressRecordedV1,
        SchoolUpdatedV1,
        ServiceUpdatedV1,
    )
    from tas_common.events.schemas import (
        ConcernLinkedV1,
        ConcernRaisedV1,
        ReferralAcceptedV1,
        ReferralCompletedV1,
        ReferralDeclinedV1,
        ReferralFirstContactRecordedV1,
        ReferralSubmittedV1,
    )
    from tas_common.identity import ChildIdentity

    start = datetime.combine(last_day - timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    for n, urn in enumerate(SCHOOLS):
        yield _event(
            SchoolUpdatedV1(urn=urn, la_code="999", phase="primary", pupils_on_roll=200 + 40 * n, updated_at=start),
            start,
            "tas/referral",
        )
    for s in SERVICES.values():
        yield _event(
            ServiceUpdatedV1(
                service_id=s.id,
                la_code="999",
                organisation_id=s.org_id,
                organisation_type=s.org_type,
                practitioner_roles=(s.role,),
                target_wait_days=s.target_days,
                status="active",
                updated_at=start,
            ),
            start,
            "tas/referral",
        )
    for c in plans:
        concern, child = f"concern-{c.serial}", f"child-{c.serial}"
        identity = ChildIdentity(
            upn=fictional_upn(c.serial % 1000, school=c.serial // 1000 % 10000),
            given_name="Bench",
            family_name="Child",
            date_of_birth="2016-05-01",
        )
        yield _event(
            ConcernRaisedV1(
                concern_id=concern,
                school_urn=c.school_urn,
                la_code="999",
                raised_by_org=f"school-{c.school_urn}",
                child=identity,
                areas_of_need=list(c.areas),
            ),
            c.raised_at,
            "tas/referral",
        )
        yield _event(
            ConcernLinkedV1(
                child_id=child,
                concern_id=concern,
                school_urn=c.school_urn,
                la_code="999",
                new_child=True,
                match="created",
            ),
            c.raised_at,
            "tas/caseload",
        )
        for k, r in enumerate(c.referrals):
            s = SERVICES[r.service_id]
            base = {
                "referral_id": f"referral-{c.serial}-{k}",
                "concern_id": concern,
                "child_id": child,
                "service_id": s.id,
                "school_urn": c.school_urn,
            }
            yield _event(
                ReferralSubmittedV1(
                    **base,
                    service_org_id=s.org_id,
                    service_org_type=s.org_type,
                    la_code="999",
                    target_wait_days=s.target_days,
                ),
                r.submitted_at,
                "tas/referral",
            )
            if r.decision == "declined" and r.decided_at:
                yield _event(ReferralDeclinedV1(**base, reason="bench"), r.decided_at, "tas/referral")
            elif r.decision == "accepted" and r.decided_at:
                yield _event(
                    ReferralAcceptedV1(
                        **base,
                        practitioner_sub=f"bench-{s.role}",
                        practitioner_name="Bench",
                        practitioner_org_id=s.org_id,
                        practitioner_org_type=s.org_type,
                    ),
                    r.decided_at,
                    "tas/referral",
                )
            if r.first_contact_at:
                yield _event(
                    ReferralFirstContactRecordedV1(**base, first_contact_at=r.first_contact_at),
                    r.first_contact_at,
                    "tas/referral",
                )
            if r.completed_at:
                yield _event(ReferralCompletedV1(**base, outcome="bench"), r.completed_at, "tas/referral")
        for k, review in enumerate(c.reviews):
            yield _event(
                ReviewProgressRecordedV1(
                    child_id=child,
                    review_id=f"review-{c.serial}-{k}",
                    la_code="999",
                    school_urn=c.school_urn,
                    held_at=review.held_at,
                    outcomes=tuple(
                        OutcomeProgressFact(outcome_id=f"o-{c.serial}-{i}", area=area, achievement_status=status)
                        for i, (area, status) in enumerate(zip(c.outcome_areas, review.statuses, strict=True))
                    ),
                ),
                review.held_at,
                "tas/caseload",
            )
        if c.ehc is not None:
            e = c.ehc
            yield _event(
                EhcRequestRecordedV1(
                    request_id=f"ehc-{c.serial}",
                    child_id=child,
                    la_code="999",
                    school_urn=c.school_urn,
                    requested_on=e.requested_on,
                    decision="assess" if e.decision_on else None,
                    decision_on=e.decision_on,
                    final_issued_on=e.final_on,
                    decision_exception=e.decision_exception,
                    final_exception=e.final_exception,
                    version=1,
                ),
                c.raised_at,
                "tas/caseload",
            )


async def _rebuild(url: str, events: list[CloudEvent]) -> tuple[int, float]:
    from insights.rebuild import rebuild

    from tas_common.db import Database

    async def batches() -> AsyncIterator[list[CloudEvent]]:
        for start in range(0, len(events), 500):
            yield events[start : start + 500]

    db = Database(url)
    try:
        rebuilt = await rebuild(db, batches())
    finally:
        await db.dispose()
    return rebuilt.events, rebuilt.seconds


def run(report: Report, *, tmp: Path, quick: bool) -> None:
    las, samples = (1, 100) if quick else (LAS, 500)
    tmp.mkdir(parents=True, exist_ok=True)
    last_day = date.today() - timedelta(days=1)
    plans = [p for seed in range(las) for p in plan_year(seed=9000 + seed, concerns=1800, last_day=last_day)]
    t0 = time.perf_counter()
    events = list(events_of(plans, last_day))
    built = time.perf_counter() - t0
    db = tmp / "insights.db"
    url = sqlite_url(db)
    upgrade(migrations_dir("insights"), url)
    handled, seconds = asyncio.run(_rebuild(url, events))
    rate = handled / seconds if seconds else 0.0
    sizes = f"{len(plans):,} concerns, {handled:,} events"
    report.add(Figure(f"insights ({sizes})", "rebuild rate", round(rate), "events/s", note=f"{seconds:.1f} s"))
    details: dict[str, Any] = {
        "concerns": len(plans),
        "events": handled,
        "rebuild_s": round(seconds, 1),
        "events_built_s": round(built, 1),
        "db_mb": round(db.stat().st_size / 1_048_576, 1),
    }
    system = BenchSystem(
        tmp / "system", services=("insights",), database_urls={"insights": url, "insights:premigrated": "1"}
    )
    rng = random.Random(5)
    with system:
        la = system.token("send_officer", "local_authority", la_code="999", org_id="la-999", sub="bench-officer")
        scopes = (
            [("la_code", "999", la)]
            + [("school_urn", rng.choice(SCHOOLS), la) for _ in range(3)]
            + [("service_id", "999-salt", la)]
        )
        with system.client("insights") as client:
            for path in PATHS:
                latencies, errors = [], 0
                for n in range(samples + 20):
                    key, value, headers = scopes[n % len(scopes)]
                    if path in ("timeliness", "schools") and key == "service_id":
                        key, value = "la_code", "999"
                    t = time.perf_counter()
                    response = client.get(f"/v1/insights/{path}", params={key: value}, headers=headers)
                    if n >= 20:  # the first 20 warm up
                        latencies.append((time.perf_counter() - t) * 1000)
                        errors += response.status_code != 200
                stats = summary(latencies)
                p99 = stats["p99"]
                report.add(
                    Figure(
                        f"insights ({sizes})",
                        f"GET /v1/insights/{path} p99",
                        p99,
                        "ms",
                        "< 200 ms",
                        at_most(float(p99) if p99 is not None else None, 200),
                        note=f"p50 {stats['p50']:.1f} ms; {errors} errors; LA, schools, a service",
                    ),
                )
                report.latencies[f"insights {path}"] = latencies
                details[f"{path}_ms"] = stats
    report.details["insights"] = details
