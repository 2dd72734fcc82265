"""`tas demo-data`: a year of fictional activity for LA 999, planned from a seed (this module) and driven through
the services' own APIs (demo_drive.py).

The plan is a pure function of the seed, the size and the last day: which school raises each concern and when, about
which areas of need; which services it is referred to; when each service decides, first contacts the family and
completes; which children get a plan whose outcomes are reviewed (with an achievement status at each review); which
get an EHC needs assessment request, and how late its milestones are. `Counts` is what the plan says the dashboards
must show, worked out here from the plan alone, so that a test (and a person) can check insights' figures against it.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

C_I, C_L = "communication_and_interaction", "cognition_and_learning"
SEMH, S_P = "social_emotional_mental_health", "sensory_and_physical"
AREAS = (C_I, C_L, SEMH, S_P)
AREA_WEIGHTS = (38, 24, 28, 10)

SCHOOLS = tuple(f"{100000 + i}" for i in range(20))
"""LA 999's register (referral's seeded schools: 16 primary, 3 secondary, 1 special)."""


@dataclass(frozen=True)
class DemoService:
    id: str
    org_id: str
    org_type: str
    role: str
    target_days: int


SERVICES = {
    s.id: s
    for s in (
        DemoService("999-salt", "nhs-trust-1", "health", "slt", 126),
        DemoService("999-educational-psychology", "la-999", "local_authority", "ep", 84),
        DemoService("999-camhs", "nhs-mh-trust-1", "health", "camhs", 28),
        DemoService("999-early-help", "la-999", "local_authority", "early_help_practitioner", 14),
        DemoService("999-specialist-teaching", "la-999", "local_authority", "specialist_teacher", 42),
        DemoService("999-occupational-therapy", "nhs-trust-1", "health", "ot", 126),
        DemoService("999-paediatrics", "nhs-trust-1", "health", "paediatrician", 126),
    )
}
BY_AREA = {
    C_I: ("999-salt", "999-specialist-teaching", "999-paediatrics"),
    C_L: ("999-educational-psychology", "999-specialist-teaching"),
    SEMH: ("999-camhs", "999-early-help", "999-educational-psychology"),
    S_P: ("999-occupational-therapy", "999-paediatrics"),
}
STATUSES = ("not-achieved", "worsening", "no-change", "in-progress", "improving", "achieved")
"""Achievement statuses from worst to best: a review moves an outcome's status a step or two along."""


@dataclass
class ReferralPlan:
    service_id: str
    submitted_at: datetime
    decision: str | None = None  # "accepted" | "declined" | None (not decided yet)
    decided_at: datetime | None = None
    first_contact_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class ReviewPlan:
    held_at: datetime
    statuses: tuple[str, ...]
    """One per outcome of the plan, in the plan's order."""


@dataclass
class EhcPlan:
    requested_on: date
    decision_on: date | None = None
    decision_exception: str | None = None
    final_on: date | None = None
    final_exception: str | None = None


@dataclass
class ConcernPlan:
    serial: int
    school_urn: str
    raised_at: datetime
    areas: tuple[str, ...]
    referrals: list[ReferralPlan] = field(default_factory=list)
    outcome_areas: tuple[str, ...] = ()
    reviews: list[ReviewPlan] = field(default_factory=list)
    ehc: EhcPlan | None = None


def _at(day: date, rng: random.Random) -> datetime:
    """A moment in the school day (UTC)."""
    return datetime.combine(day, time(8 + rng.randrange(8), rng.randrange(60)), tzinfo=UTC)


def plan_year(
    *,
    seed: int = 999,
    concerns: int = 1800,
    last_day: date,
    schools: tuple[str, ...] = SCHOOLS,
    ehc_share: float = 0.09,
) -> list[ConcernPlan]:
    """The year to `last_day` (inclusive): `concerns` concerns over `schools`, each school with its own rate; about
    `ehc_share` of the children get an EHC needs assessment request."""
    rng = random.Random(seed)
    first_day = last_day - timedelta(days=364)
    now = datetime.combine(last_day, time(18), tzinfo=UTC)
    weights = [rng.choice((0.3, 1, 1, 1.5, 2, 3)) for _ in schools]
    plans = []
    for n in range(concerns):
        day = first_day + timedelta(days=rng.randrange(365))
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        if day < first_day:
            day += timedelta(days=3)
        raised = _at(day, rng)
        areas = tuple(sorted(set(rng.choices(AREAS, AREA_WEIGHTS, k=rng.choice((1, 1, 1, 2))))))
        concern = ConcernPlan(
            serial=seed * 100_000 + n,
            school_urn=rng.choices(schools, weights)[0],
            raised_at=raised,
            areas=areas,
        )
        if rng.random() < 0.7:
            options = sorted({s for area in areas for s in BY_AREA[area]})
            for service_id in rng.sample(options, k=min(len(options), 2 if rng.random() < 0.2 else 1)):
                concern.referrals.append(_referral(rng, SERVICES[service_id], raised, now))
        accepted = [r for r in concern.referrals if r.decision == "accepted"]
        if accepted and rng.random() < 0.6:
            concern.outcome_areas = tuple(rng.sample(AREAS, k=2))
            concern.reviews = _reviews(rng, raised, now, len(concern.outcome_areas))
        if rng.random() < ehc_share:
            concern.ehc = _ehc(rng, day, last_day)
        plans.append(concern)
    return plans


def _referral(rng: random.Random, service: DemoService, raised: datetime, now: datetime) -> ReferralPlan:
    submitted = raised + timedelta(days=rng.randrange(0, 4), minutes=rng.randrange(60))
    plan = ReferralPlan(service.id, submitted)
    decided = submitted + timedelta(days=max(1, round(rng.gammavariate(2.0, service.target_days * 0.08))))
    if decided > now:
        return plan
    plan.decision, plan.decided_at = ("declined" if rng.random() < 0.15 else "accepted"), decided
    if plan.decision == "declined":
        return plan
    wait = max((decided - submitted).days, round(service.target_days * rng.lognormvariate(-0.35, 0.45)))
    contact = submitted + timedelta(days=wait, hours=1)
    if contact > now:
        return plan
    plan.first_contact_at = contact
    completed = contact + timedelta(days=rng.randrange(40, 160))
    if completed <= now:
        plan.completed_at = completed
    return plan


def _reviews(rng: random.Random, raised: datetime, now: datetime, outcomes: int) -> list[ReviewPlan]:
    statuses = [rng.randrange(1, 4) for _ in range(outcomes)]
    reviews: list[ReviewPlan] = []
    held = raised + timedelta(days=rng.randrange(45, 90))
    while held <= now and len(reviews) < 4:
        statuses = [max(0, min(len(STATUSES) - 1, s + rng.choice((-1, 0, 1, 1, 2)))) for s in statuses]
        reviews.append(ReviewPlan(held, tuple(STATUSES[s] for s in statuses)))
        held += timedelta(days=rng.randrange(80, 120))
    return reviews


def _ehc(rng: random.Random, raised: date, last_day: date) -> EhcPlan | None:
    requested = raised + timedelta(days=rng.randrange(14, 60))
    if requested > last_day - timedelta(days=7):
        return None
    plan = EhcPlan(requested)
    decided = requested + timedelta(days=rng.randrange(20, 42) if rng.random() < 0.85 else rng.randrange(43, 75))
    if decided > last_day:
        return plan
    plan.decision_on = decided
    if (decided - requested).days > 42 and rng.random() < 0.3:
        plan.decision_exception = "exceptional_personal_circumstances"
    final = requested + timedelta(days=rng.randrange(100, 140) if rng.random() < 0.55 else rng.randrange(141, 260))
    if final > last_day:
        return plan
    plan.final_on = final
    if (final - requested).days > 140 and rng.random() < 0.2:
        plan.final_exception = rng.choice(("absent_from_area", "exceptional_personal_circumstances"))
    return plan


# --- what the dashboards must show ---------------------------------------------------------------------------------


@dataclass
class Counts:
    """The plan's own figures (over the whole plan: ask insights for the months it spans)."""

    concerns: int
    concerns_by_school: dict[str, int]
    referrals: int
    first_contacts: int
    median_days_to_first_contact: float | None
    waiting_now: int
    ehc_requests: int
    plans_by_year: dict[int, int]
    plans_within_20_weeks_by_year: dict[int, int]
    outcome_statuses: int
    first_month: str
    last_month: str

    @property
    def period(self) -> str:
        """The period that spans the plan (`YYYY-MM..YYYY-MM`)."""
        return f"{self.first_month}..{self.last_month}"


def _days(start: datetime, end: datetime) -> int:
    return (end.date() - start.date()).days


def counts(plans: list[ConcernPlan], *, last_day: date) -> Counts:
    referrals = [r for c in plans for r in c.referrals]
    contacts = [_days(r.submitted_at, r.first_contact_at) for r in referrals if r.first_contact_at is not None]
    plans_by_year: Counter[int] = Counter()
    within: Counter[int] = Counter()
    for c in plans:
        if c.ehc is not None and c.ehc.final_on is not None:
            plans_by_year[c.ehc.final_on.year] += 1
            within[c.ehc.final_on.year] += (c.ehc.final_on - c.ehc.requested_on).days <= 140
    first = min(c.raised_at for c in plans).date() if plans else last_day
    return Counts(
        concerns=len(plans),
        concerns_by_school=dict(Counter(c.school_urn for c in plans)),
        referrals=len(referrals),
        first_contacts=len(contacts),
        median_days_to_first_contact=float(statistics.median(contacts)) if contacts else None,
        waiting_now=sum(r.first_contact_at is None and r.decision != "declined" for r in referrals),
        ehc_requests=sum(c.ehc is not None for c in plans),
        plans_by_year=dict(plans_by_year),
        plans_within_20_weeks_by_year=dict(within),
        outcome_statuses=sum(len(c.outcome_areas) * len(c.reviews) for c in plans),
        first_month=f"{first:%Y-%m}",
        last_month=f"{last_day:%Y-%m}",
    )
