"""The statutory timeline of an EHC needs assessment (SEND Code of Practice 2015, 9.14-9.185; SEND Regulations
2014), as a pure function of the dates recorded so far and today's date:

- decision whether to assess: within 6 weeks of the request;
- advice from those asked: within 6 weeks of being asked;
- the draft plan: issued early enough to leave the family its full 15-day comment period before the final deadline;
- the final plan: within 20 weeks of the request (never before the comment period has ended);
- annual review: within 12 months of the final plan.

A milestone is breached when it was completed after its due date, or is still open after it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

DECISION_WEEKS = 6
ADVICE_WEEKS = 6
FINAL_WEEKS = 20
COMMENT_DAYS = 15
REVIEW_MONTHS = 12


@dataclass(frozen=True)
class Milestone:
    name: str
    due: date | None
    completed_on: date | None
    status: str
    """`due` (open, in time), `overdue` (open, past due), `done`, `done_late`, `waiting` (no due date yet: it runs
    from a step not yet taken), `not_applicable` (the LA decided not to assess)."""

    @property
    def breached(self) -> bool:
        return self.status in ("overdue", "done_late")


@dataclass(frozen=True)
class Clock:
    milestones: tuple[Milestone, ...]
    comment_period_ends: date | None

    @property
    def breached(self) -> bool:
        return any(m.breached for m in self.milestones)

    @property
    def next_due(self) -> date | None:
        open_dues = [m.due for m in self.milestones if m.status in ("due", "overdue") and m.due]
        return min(open_dues) if open_dues else None


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _milestone(
    name: str, due: date | None, completed_on: date | None, today: date, *, applicable: bool = True
) -> Milestone:
    if not applicable:
        return Milestone(name, due, completed_on, "not_applicable")
    if completed_on is not None:
        return Milestone(name, due, completed_on, "done_late" if due and completed_on > due else "done")
    if due is None:
        return Milestone(name, None, None, "waiting")
    return Milestone(name, due, None, "overdue" if today > due else "due")


def compute_clock(
    *,
    requested_on: date,
    today: date,
    decision: str | None = None,
    decision_on: date | None = None,
    advice_requested_on: date | None = None,
    advice_received_on: date | None = None,
    draft_issued_on: date | None = None,
    final_issued_on: date | None = None,
    annual_review_on: date | None = None,
) -> Clock:
    assessing = decision != "not_to_assess"
    final_due = requested_on + timedelta(weeks=FINAL_WEEKS)
    advice_due = advice_requested_on + timedelta(weeks=ADVICE_WEEKS) if advice_requested_on else None
    review_due = add_months(final_issued_on, REVIEW_MONTHS) if final_issued_on else None
    return Clock(
        milestones=(
            _milestone("decision_to_assess", requested_on + timedelta(weeks=DECISION_WEEKS), decision_on, today),
            _milestone("advice", advice_due, advice_received_on, today, applicable=assessing),
            _milestone(
                "draft_plan", final_due - timedelta(days=COMMENT_DAYS), draft_issued_on, today, applicable=assessing
            ),
            _milestone("final_plan", final_due, final_issued_on, today, applicable=assessing),
            _milestone("annual_review", review_due, annual_review_on, today, applicable=assessing),
        ),
        comment_period_ends=draft_issued_on + timedelta(days=COMMENT_DAYS) if draft_issued_on else None,
    )


def due_soon_or_breached(clock: Clock, *, today: date, within_days: int) -> bool:
    horizon = today + timedelta(days=within_days)
    return any(
        m.status == "overdue" or (m.status == "due" and m.due is not None and m.due <= horizon)
        for m in clock.milestones
    )
