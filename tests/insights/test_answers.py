"""Timeliness, outcomes and the school comparison from facts fed in: the figures the facts say, beside England's,
small numbers hidden where the facts would tempt a leak."""

from __future__ import annotations

from datetime import date, timedelta

from insights.domain import outcomes, schools, timeliness
from insights.domain.access import Scope
from insights.domain.periods import parse_period
from insights.domain.suppression import SMALL, WITHHELD

from tas_common import clock
from tas_common.auth import OrgType, Principal
from tas_common.events.facts import EhcRequestRecordedV1, OutcomeProgressFact, ReviewProgressRecordedV1
from tas_common.events.schemas import ConcernLinkedV1, ReferralCompletedV1

from .conftest import Feed, accepted, base, concern, day, school, service, submitted

LA = Scope("la", "999", "999")
OFFICER = Principal(
    sub="so-1", org_id="la-999", org_type=OrgType.local_authority, roles=frozenset({"send_officer"}), la_code="999"
)


async def _ask(feed: Feed, build, scope: Scope, period: str, **kw):
    with clock.at(day(400)):
        async with feed.db.reader() as session:
            return await build(session, scope=scope, period=parse_period(period, today=day(400).date()), **kw)


def _ehc(n: int, requested: date, *, decided: int | None, issued: int | None, decision_exc=None, final_exc=None):
    return EhcRequestRecordedV1(
        request_id=f"ehc-{n}",
        child_id=f"child-{n}",
        la_code="999",
        school_urn="100000",
        requested_on=requested,
        decision="assess" if decided is not None else None,
        decision_on=requested + timedelta(days=decided) if decided is not None else None,
        draft_issued_on=requested + timedelta(days=issued - 20) if issued is not None else None,
        final_issued_on=requested + timedelta(days=issued) if issued is not None else None,
        decision_exception=decision_exc,
        final_exception=final_exc,
        version=1,
    )


async def test_timeliness_in_the_sen2_shape_beside_england(feed):
    # 2025: 40 requests (1 January); 30 decisions: 20 within 6 weeks, 10 late, 5 of them exception cases;
    # 25 plans: 15 within 20 weeks, 10 late (between 20 weeks and a year), 5 of those exception cases.
    start = date(2025, 1, 6)
    for n in range(40):
        decided = (30 if n < 20 else 50) if n < 30 else None
        issued = (130 if n < 15 else 200) if n < 25 else None
        await feed(
            _ehc(
                n,
                start,
                decided=decided,
                issued=issued,
                decision_exc="absent_from_area" if 20 <= n < 25 else None,
                final_exc="exceptional_personal_circumstances" if 15 <= n < 20 else None,
            ),
            day(0),
        )
    answer = await _ask(feed, timeliness.answer, LA, "2025")
    summary = answer.table("summary").rows[0]
    assert summary["year"] == 2025 and summary["requests"] == 40
    assert summary["decisions_within_6_weeks_pct_ex"] == 80.0  # 20 of the 25 without an exception
    assert summary["plans_within_20_weeks_pct_ex"] == 75.0  # 15 of 20
    assert summary["plans_within_20_weeks_pct"] == 60.0  # 15 of 25
    assert (summary["england_plans_within_20_weeks_pct"], summary["england_year"]) == (58.7, 2019)
    sen2 = answer.table("sen2").rows[0]
    assert (sen2["plans_issued_den"], sen2["plans_issued_den_ex"]) == (25, 20)
    assert (sen2["plans_issued_within_20_weeks"], sen2["plans_issued_20_weeks_ex"]) == (15, 15)
    assert (sen2["plans_issued_gt20weeks_ltyear"], sen2["plans_issued_gt_1_year"]) == (10, 0)
    assert sen2["avg_weeks_issue_plan"] == round((15 * 130 + 10 * 200) / 25 / 7, 1)
    assert "explore-education-statistics" in answer.table("summary").notes[0]


async def test_three_exception_cases_hide_what_would_reveal_them(feed):
    # 20 plans, 3 of them exception cases: "excluding exceptions" (17) is 20 minus 3 — withheld, with its %.
    for n in range(20):
        await feed(
            _ehc(n, date(2025, 1, 6), decided=30, issued=130, final_exc="absent_from_area" if n < 3 else None), day(0)
        )
    sen2 = (await _ask(feed, timeliness.answer, LA, "2025")).table("sen2").rows[0]
    assert sen2["plans_issued_den"] == 20
    assert sen2["plans_issued_den_ex"] == WITHHELD and sen2["pc_plans_issued_20_weeks_ex"] == WITHHELD
    assert 3 not in sen2.values() and 17 not in sen2.values()


async def _outcome_scenario(feed: Feed, children: int = 10) -> None:
    await feed(school(), day(-90))
    await feed(service(), day(-90))
    for n in range(children):
        child = f"child-{n}"
        await feed(concern(n), day(0))
        await feed(
            ConcernLinkedV1(
                child_id=child,
                concern_id=f"concern-{n}",
                school_urn="100000",
                la_code="999",
                new_child=True,
                match="created",
            ),
            day(0),
        )
        await feed(submitted(n, child=child), day(1))
        await feed(accepted(n, child=child), day(10))
        for review, at, statuses in ((1, 30, ("in-progress", "no-change")), (2, 90, ("achieved", "improving"))):
            await feed(
                ReviewProgressRecordedV1(
                    child_id=child,
                    review_id=f"review-{n}-{review}",
                    la_code="999",
                    school_urn="100000",
                    held_at=day(at),
                    outcomes=(
                        OutcomeProgressFact(
                            outcome_id=f"o-{n}-1", area="communication_and_interaction", achievement_status=statuses[0]
                        ),
                        OutcomeProgressFact(
                            outcome_id=f"o-{n}-2", area="social_emotional_mental_health", achievement_status=statuses[1]
                        ),
                    ),
                ),
                day(at),
            )
        await feed(ReferralCompletedV1(**base(n, child=child), outcome="done"), day(60))


async def test_outcomes_per_cycle_area_service_and_after_support(feed):
    await _outcome_scenario(feed)
    answer = await _ask(feed, outcomes.answer, LA, "2026")
    cycles = {row["cycle"]: row for row in answer.table("by_cycle").rows}
    assert (cycles["1st review"]["in_progress"], cycles["1st review"]["no_change"], cycles["1st review"]["total"]) == (
        10,
        10,
        20,
    )
    assert (cycles["2nd review"]["achieved"], cycles["2nd review"]["improving"]) == (10, 10)
    assert cycles["All reviews"]["total"] == 40
    areas = {row["area"]: row for row in answer.table("by_area").rows}
    assert (
        areas["Communication and interaction"]["in_progress"],
        areas["Communication and interaction"]["achieved"],
    ) == (10, 10)
    after = {row["status_at_end"]: row for row in answer.table("after_support").rows}
    assert after["In progress"]["achieved"] == 10 and after["No change"]["improving"] == 10
    by_service = {row["service_id"]: row for row in answer.table("by_service").rows}
    assert by_service["999-salt"]["total"] == 40  # supporting through both cycles (closed after the 1st review)
    better = {row["service_id"]: row for row in answer.table("after_support_by_service").rows}
    assert better["999-salt"]["better"] == 20 and better["999-salt"]["total"] == 20


async def test_three_children_at_a_school_tempt_no_leak(feed):
    """A school with 3 concerns, all about one area of need, beside schools with many: the 3, and what would give
    it away (the LA's total minus the others, its rate beside its roll), are never shown."""
    await feed(school("100000", roll=300), day(-90))
    await feed(school("100001", roll=200), day(-90))
    await feed(school("100002", roll=250), day(-90))
    n = 0
    for urn, count, area in (
        ("100000", 20, "communication_and_interaction"),
        ("100001", 3, "cognition_and_learning"),
        ("100002", 12, "communication_and_interaction"),
    ):
        for _ in range(count):
            await feed(concern(n, urn=urn, areas=(area,)), day(5))
            n += 1
    answer = await _ask(feed, schools.answer, LA, "2026", principal=OFFICER)
    rows = {row["school_urn"]: row for row in answer.table("schools").rows}
    small = rows["100001"]
    assert small["concerns"] == SMALL and small["concerns_per_100"] == SMALL
    assert small["cognition_and_learning_per_100"] == SMALL
    total = rows["LA total"]["concerns"]
    shown = [r["concerns"] for urn, r in rows.items() if urn.isdigit() and isinstance(r["concerns"], int)]
    assert total == 35 and len(shown) == 1 and total - sum(shown) >= 5  # another school withheld beside it
    assert 3 not in [v for r in rows.values() for v in r.values() if isinstance(v, int)]
    # the school's lead sees their school named and the others as letters, without counts or rolls
    lead = Principal(
        sub="senco-9",
        org_id="school-100001",
        org_type=OrgType.school,
        roles=frozenset({"senco"}),
        school_urns=frozenset({"100001"}),
    )
    own = await _ask(feed, schools.answer, Scope("school", "100001", "999"), "2026", principal=lead)
    listed = [row["school_urn"] for row in own.table("schools").rows]
    assert listed == ["100001", "School A", "School B", "LA median"]
    assert "pupils_on_roll" not in {c.key for c in own.table("schools").columns}
