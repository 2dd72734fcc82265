"""The statutory clock of an EHC needs assessment, as a pure function on fixed dates."""

from __future__ import annotations

from datetime import date

from tas_common.ehc_clock import add_months, compute_clock, due_soon_or_breached

REQ = date(2027, 1, 4)


def by_name(clock):
    return {m.name: m for m in clock.milestones}


def test_due_dates_from_the_request():
    m = by_name(compute_clock(requested_on=REQ, today=date(2027, 1, 5)))
    assert m["decision_to_assess"].due == date(2027, 2, 15)  # 6 weeks
    assert m["final_plan"].due == date(2027, 5, 24)  # 20 weeks
    assert m["draft_plan"].due == date(2027, 5, 9)  # leaves the full 15-day comment period
    assert m["advice"].status == "waiting" and m["annual_review"].status == "waiting"


def test_advice_runs_from_being_asked_and_annual_review_from_the_final_plan():
    clock = compute_clock(
        requested_on=REQ,
        today=date(2027, 3, 1),
        decision="assess",
        decision_on=date(2027, 2, 10),
        advice_requested_on=date(2027, 2, 12),
        draft_issued_on=date(2027, 4, 1),
        final_issued_on=date(2027, 4, 20),
    )
    m = by_name(clock)
    assert m["advice"].due == date(2027, 3, 26)
    assert m["decision_to_assess"].status == "done"
    assert m["annual_review"].due == date(2028, 4, 20)
    assert clock.comment_period_ends == date(2027, 4, 16)


def test_breaches_late_and_overdue():
    clock = compute_clock(requested_on=REQ, today=date(2027, 6, 1), decision="assess", decision_on=date(2027, 2, 16))
    m = by_name(clock)
    assert m["decision_to_assess"].status == "done_late" and m["decision_to_assess"].breached
    assert m["final_plan"].status == "overdue" and clock.breached
    assert clock.next_due == date(2027, 5, 9)


def test_not_to_assess_stops_the_clock():
    clock = compute_clock(
        requested_on=REQ, today=date(2027, 9, 1), decision="not_to_assess", decision_on=date(2027, 2, 1)
    )
    assert {m.name: m.status for m in clock.milestones} == {
        "decision_to_assess": "done",
        "advice": "not_applicable",
        "draft_plan": "not_applicable",
        "final_plan": "not_applicable",
        "annual_review": "not_applicable",
    }
    assert not clock.breached and clock.next_due is None


def test_due_soon_window_and_leap_day():
    clock = compute_clock(requested_on=REQ, today=date(2027, 2, 1))
    assert due_soon_or_breached(clock, today=date(2027, 2, 1), within_days=14)  # decision due 15 Feb
    assert not due_soon_or_breached(clock, today=date(2027, 2, 1), within_days=13)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
