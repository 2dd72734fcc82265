"""Published figures for England that insights shows beside a local authority's, each with its source. Only figures
read from the source named are here: a year without one shows the latest year before it, said to be that year.

Source: Department for Education, "Education, health and care plans" (SEN2), data set "Timeliness of new education,
health and care plans, including those issued within the statutory 20 week timeframe", National, calendar year,
https://explore-education-statistics.service.gov.uk/data-catalogue/data-set/90d7c9d3-d811-46f1-ae61-39ea674d4654
(columns `plans_issued_den`, `plans_issued_den_ex`, `plans_issued_within_20_weeks`, `plans_issued_20_weeks_ex`,
`pc_plans_issued_within_20_weeks`, `pc_plans_issued_20_weeks_ex`).
"""

from __future__ import annotations

from dataclasses import dataclass

SEN2_TIMELINESS = (
    "DfE, Education, health and care plans (SEN2): timeliness of new EHC plans, England, calendar year — "
    "https://explore-education-statistics.service.gov.uk/data-catalogue/data-set/90d7c9d3-d811-46f1-ae61-39ea674d4654"
)


@dataclass(frozen=True)
class PlansWithin20Weeks:
    year: int
    plans_issued: int
    plans_issued_excluding_exceptions: int
    within_20_weeks: int
    within_20_weeks_excluding_exceptions: int
    pct: float
    """`pc_plans_issued_within_20_weeks`: all new plans."""
    pct_excluding_exceptions: float
    """`pc_plans_issued_20_weeks_ex`: plans where no exception applied."""
    source: str = SEN2_TIMELINESS


ENGLAND_PLANS_WITHIN_20_WEEKS: dict[int, PlansWithin20Weeks] = {
    2019: PlansWithin20Weeks(2019, 53327, 49519, 31313, 29895, 58.7, 60.4),
}


def england_for(year: int) -> PlansWithin20Weeks | None:
    """The figure for `year`, or the latest before it (its `year` says which); None before the first held."""
    held = [y for y in ENGLAND_PLANS_WITHIN_20_WEEKS if y <= year]
    return ENGLAND_PLANS_WITHIN_20_WEEKS[max(held)] if held else None
