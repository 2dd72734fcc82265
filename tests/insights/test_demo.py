"""`tas demo-data` (a small seed): the year it drives through referral's and caseload's APIs reaches insights
through the stream, and the dashboards say what the generator's own counts say; a second run adds nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from insights.domain.suppression import SMALL, WITHHELD
from sqlalchemy import func, select

from tas_dev.demo import counts, plan_year
from tas_dev.demo_drive import drive

from ..conftest import eventually

pytestmark = pytest.mark.insights

LA = {"role": "send_officer", "org_type": "local_authority", "org_id": "la-999", "sub": "so-1", "la_code": "999"}


def shown(n: int) -> int | str:
    return SMALL if 0 < n < 5 else n


async def test_the_dashboards_show_what_the_generator_made(system, token):
    last_day = date(2026, 10, 31)  # a fixed year: the same plan whenever the test runs
    plans = plan_year(seed=7, concerns=30, last_day=last_day, schools=("100000", "100001", "100002"), ehc_share=0.4)
    expected = counts(plans, last_day=last_day)
    requests = Counter(c.ehc.requested_on.year for c in plans if c.ehc is not None)
    # the seed gives figures to compare (none of them small), all EHC requests in one calendar year
    assert min(expected.first_contacts, expected.outcome_statuses, expected.ehc_requests) >= 5

    driven = await drive(plans, referral=system.referral, caseload=system.caseload, token=token)
    assert (driven.raised, driven.skipped) == (30, 0)

    la = token(**LA)

    async def ask(answer: str) -> dict:
        r = await system.insights.get(
            f"/v1/insights/{answer}", params={"la_code": "999", "period": expected.period}, headers=la
        )
        assert r.status_code == 200, r.text
        return {t["name"]: t["rows"] for t in r.json()["tables"]}

    async def complete():
        figures = {a: await ask(a) for a in ("waiting", "timeliness", "outcomes", "schools")}
        contact = next(r for r in figures["waiting"]["summary"] if r["measure"] == "Referral to first contact")
        reviews = next(r for r in figures["outcomes"]["by_cycle"] if r["cycle"] == "All reviews")
        total = next(r for r in figures["schools"]["schools"] if r["school_urn"] == "LA total")
        by_year = {r["year"]: r["requests"] for r in figures["timeliness"]["summary"]}
        done = (contact["referrals"], reviews["total"], total["concerns"]) == (
            expected.first_contacts,
            expected.outcome_statuses,
            expected.concerns,
        )
        issued = {r["time_period"]: r["plans_issued_den"] for r in figures["timeliness"]["sen2"]}
        done = done and by_year == {y: shown(requests[y]) for y in by_year}
        return figures if done and issued == {y: shown(expected.plans_by_year.get(y, 0)) for y in issued} else None

    await system.settled()  # every event handled: `complete` checks some figures, not every one compared below
    figures = await eventually(complete, timeout=60, what="insights to hold the demo year")
    contact = next(r for r in figures["waiting"]["summary"] if r["measure"] == "Referral to first contact")
    assert contact["median_days"] == expected.median_days_to_first_contact
    now_rows = figures["waiting"]["waiting_now"]
    assert now_rows[-1]["waiting"] == shown(expected.waiting_now)
    for row in figures["schools"]["schools"]:
        if row["school_urn"].isdigit() and isinstance(row["concerns"], int):
            assert row["concerns"] == expected.concerns_by_school.get(row["school_urn"], 0)
    sen2 = {row["time_period"]: row for row in figures["timeliness"]["sen2"]}
    for year, row in sen2.items():
        assert row["plans_issued_den"] == shown(expected.plans_by_year.get(year, 0))
    issued, within = expected.plans_by_year[2026], expected.plans_within_20_weeks_by_year[2026]
    # the plans over 20 weeks are 1 to 4: the count within would reveal them
    assert sen2[2026]["plans_issued_within_20_weeks"] == (WITHHELD if 0 < issued - within < 5 else shown(within))

    # a second run: every concern is already there, nothing changes
    again = await drive(plans, referral=system.referral, caseload=system.caseload, token=token)
    assert (again.raised, again.skipped) == (0, 30)
    await system.settled()
    assert {a: await ask(a) for a in ("waiting", "timeliness", "outcomes", "schools")} == figures
    from referral.domain.models import Concern

    async with system.runtime("referral").db.reader() as session:
        assert (await session.execute(select(func.count()).select_from(Concern))).scalar_one() == 30
