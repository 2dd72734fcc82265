"""Statutory timeliness, comparable with the DfE's SEN2 return (issue 15, question 2): per LA (or school) and
calendar year, the share of EHC needs assessment decisions made within 6 weeks of the request and of final EHC
plans issued within 20 weeks, each with and without the exception cases the regulations allow (SEND Regulations
2014 reg. 10(4) and 13(3), as recorded on the request), beside the published England figure (england.py). The
`sen2` table has the SEN2 timeliness data set's columns; `decisions` adds the 6-week decisions SEN2 does not publish.

A plan counts in the calendar year it was issued, a decision in the year it was made (as SEN2 counts them)."""

from __future__ import annotations

from collections import Counter

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import now
from tas_common.errors import InvalidInput

from .access import Scope
from .england import england_for
from .periods import Period
from .schemas import Answer, PeriodPublic, ScopePublic, Table, columns
from .suppression import Cell, Sheet, statistic
from .tally import sums

DECISION_DAYS = 42
"""6 weeks (SEND Regulations 2014 reg. 5(3)): on or before the 42nd day after the request."""
PLAN_DAYS = 140
"""20 weeks (reg. 13(2))."""
YEAR_DAYS = 364
"""52 weeks: SEN2's "more than 20 weeks but less than a year" ends here."""


def _split(counts: dict[tuple[str, str], int], limit: int) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (days, exception), n in counts.items():
        d = int(days)
        out["all"] += n
        out["ex"] += 0 if exception else n
        out["within"] += n if d <= limit else 0
        out["within_ex"] += n if d <= limit and not exception else 0
        out["gt_limit_lt_year"] += n if limit < d <= YEAR_DAYS else 0
        out["gt_year"] += n if d > YEAR_DAYS else 0
        out["days"] += d * n
    return out


async def answer(session: AsyncSession, *, scope: Scope, period: Period) -> Answer:
    if scope.kind == "service":
        raise InvalidInput("statutory timeliness is per local authority or school", field="query.service_id")
    sheet = Sheet()
    years = period.years()
    found: dict[int, dict[str, dict[str, int]]] = {}
    for year in years:
        months = (f"{year:04d}-01", f"{year:04d}-12")
        plans = _split(
            await sums(session, metric="ehc_plans", scope=scope.kind, scope_id=scope.id, months=months), PLAN_DAYS
        )
        decisions = _split(
            await sums(session, metric="ehc_decisions", scope=scope.kind, scope_id=scope.id, months=months),
            DECISION_DAYS,
        )
        requests = sum(
            (await sums(session, metric="ehc_requests", scope=scope.kind, scope_id=scope.id, months=months)).values()
        )
        found[year] = {"plans": plans, "decisions": decisions, "requests": {"all": requests}}
        sheet.cell((year, "requests"), requests)
        for kind, counts in (("plans", plans), ("decisions", decisions)):
            # the 2 x 2 beneath: in time or late, with or without an exception; every shown figure is a sum of
            # these, and each sum is a line (a plain total minus a part must not reveal an exception count)
            c = {k: sheet.cell((year, kind, k), counts[k]) for k in ("all", "ex", "within", "within_ex")}
            late = sheet.cell((year, kind, "late"), counts["all"] - counts["within"], shown=False)
            late_ex = sheet.cell((year, kind, "late_ex"), counts["ex"] - counts["within_ex"], shown=False)
            exceptions = sheet.cell((year, kind, "exceptions"), counts["all"] - counts["ex"], shown=False)
            within_exc = sheet.cell((year, kind, "within_exc"), counts["within"] - counts["within_ex"], shown=False)
            late_exc = sheet.cell(
                (year, kind, "late_exc"), sheet.counts[exceptions] - sheet.counts[within_exc], shown=False
            )
            sheet.line(c["all"], [c["within"], late])
            sheet.line(c["all"], [c["ex"], exceptions])
            sheet.line(c["ex"], [c["within_ex"], late_ex])
            sheet.line(c["within"], [c["within_ex"], within_exc])
            sheet.line(exceptions, [within_exc, late_exc])
            sheet.line(late, [late_ex, late_exc])
            if kind == "plans":
                mid = sheet.cell((year, kind, "gt_limit_lt_year"), counts["gt_limit_lt_year"])
                over = sheet.cell((year, kind, "gt_year"), counts["gt_year"])
                sheet.line(c["all"], [c["within"], mid, over])
    sheet.settle()

    def pct(year: int, kind: str, part: str, whole: str) -> Cell:
        return sheet.share((year, kind, part), (year, kind, whole))

    summary_rows, sen2_rows, decision_rows = [], [], []
    for year in years:
        england = england_for(year)
        plans = found[year]["plans"]
        summary_rows.append(
            {
                "year": year,
                "requests": sheet.show((year, "requests")),
                "decisions_within_6_weeks_pct_ex": pct(year, "decisions", "within_ex", "ex"),
                "plans_within_20_weeks_pct_ex": pct(year, "plans", "within_ex", "ex"),
                "plans_within_20_weeks_pct": pct(year, "plans", "within", "all"),
                "england_plans_within_20_weeks_pct_ex": england.pct_excluding_exceptions if england else None,
                "england_plans_within_20_weeks_pct": england.pct if england else None,
                "england_year": england.year if england else None,
            }
        )
        sen2_rows.append(
            {
                "time_period": year,
                "time_identifier": "Calendar year",
                "geographic_level": "Local authority" if scope.kind == "la" else "School",
                "old_la_code": scope.la_code,
                "school_urn": scope.id if scope.kind == "school" else None,
                "plans_issued_den": sheet.show((year, "plans", "all")),
                "plans_issued_den_ex": sheet.show((year, "plans", "ex")),
                "plans_issued_within_20_weeks": sheet.show((year, "plans", "within")),
                "plans_issued_20_weeks_ex": sheet.show((year, "plans", "within_ex")),
                "pc_plans_issued_within_20_weeks": pct(year, "plans", "within", "all"),
                "pc_plans_issued_20_weeks_ex": pct(year, "plans", "within_ex", "ex"),
                "plans_issued_gt20weeks_ltyear": sheet.show((year, "plans", "gt_limit_lt_year")),
                "plans_issued_gt_1_year": sheet.show((year, "plans", "gt_year")),
                "avg_weeks_issue_plan": statistic(
                    round(plans["days"] / plans["all"] / 7, 1) if plans["all"] else None, plans["all"]
                ),
            }
        )
        decision_rows.append(
            {
                "year": year,
                "decisions": sheet.show((year, "decisions", "all")),
                "decisions_ex": sheet.show((year, "decisions", "ex")),
                "within_6_weeks": sheet.show((year, "decisions", "within")),
                "within_6_weeks_ex": sheet.show((year, "decisions", "within_ex")),
                "within_6_weeks_pct": pct(year, "decisions", "within", "all"),
                "within_6_weeks_pct_ex": pct(year, "decisions", "within_ex", "ex"),
            }
        )
    source = england_for(max(years))
    return Answer(
        answer="timeliness",
        scope=ScopePublic(kind=scope.kind, id=scope.id),
        period=PeriodPublic(label=period.label, from_month=f"{years[0]}-01", to_month=f"{years[-1]}-12"),
        as_of=now(),
        tables=[
            Table(
                name="summary",
                title="Statutory timeliness by calendar year, beside England",
                columns=columns(
                    ("year", "Calendar year"),
                    ("requests", "Requests for an EHC needs assessment"),
                    ("decisions_within_6_weeks_pct_ex", "Decisions within 6 weeks (%, excluding exceptions)"),
                    ("plans_within_20_weeks_pct_ex", "Plans within 20 weeks (%, excluding exceptions)"),
                    ("plans_within_20_weeks_pct", "Plans within 20 weeks (%, all plans)"),
                    (
                        "england_plans_within_20_weeks_pct_ex",
                        "England: plans within 20 weeks (%, excluding exceptions)",
                    ),
                    ("england_plans_within_20_weeks_pct", "England: plans within 20 weeks (%, all plans)"),
                    ("england_year", "England figure's year"),
                ),
                rows=summary_rows,
                notes=[f"England: {source.source}" if source else "England: no published figure held"],
            ),
            Table(
                name="sen2",
                title="New EHC plans issued within 20 weeks, in the columns of the SEN2 timeliness data set",
                columns=columns(*((key, key) for key in sen2_rows[0])),
                rows=sen2_rows,
                notes=["`_ex`: excluding the exception cases recorded (SEND Regulations 2014 reg. 13(3))."],
            ),
            Table(
                name="decisions",
                title="Decisions whether to assess, within 6 weeks of the request",
                columns=columns(
                    ("year", "Calendar year"),
                    ("decisions", "Decisions"),
                    ("decisions_ex", "Decisions (excluding exceptions)"),
                    ("within_6_weeks", "Within 6 weeks"),
                    ("within_6_weeks_ex", "Within 6 weeks (excluding exceptions)"),
                    ("within_6_weeks_pct", "Within 6 weeks (%)"),
                    ("within_6_weeks_pct_ex", "Within 6 weeks (%, excluding exceptions)"),
                ),
                rows=decision_rows,
                notes=["`_ex`: excluding the exception cases recorded (SEND Regulations 2014 reg. 10(4))."],
            ),
        ],
    )
