"""Outcomes (issue 15, question 3): the achievement status recorded for each outcome at a review, per review cycle
(the child's 1st, 2nd, 3rd, later review), per area of need and per service supporting the child during the cycle;
and progress after support ends: each outcome's status at the first review after a service's referral was
completed, against its status when the service finished (outcome_facts.py derives both)."""

from __future__ import annotations

from collections import Counter

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import now

from .access import Scope
from .grids import TOTAL, add_grid, grid_rows
from .outcome_facts import NO_AREA
from .periods import Period
from .schemas import Answer, PeriodPublic, ScopePublic, Table, columns
from .suppression import Sheet
from .tally import sums

STATUSES = {
    "achieved": "Achieved",
    "sustaining": "Sustaining",
    "improving": "Improving",
    "in-progress": "In progress",
    "no-change": "No change",
    "no-progress": "No progress",
    "worsening": "Worsening",
    "not-achieved": "Not achieved",
    "not-attainable": "Not attainable",
}
"""FHIR Goal's achievementStatus codes, as caseload records them (the column keys use `_` for `-`)."""
CYCLES = {"1": "1st review", "2": "2nd review", "3": "3rd review", "4+": "4th review or later", "all": "All reviews"}
AREAS = {
    "communication_and_interaction": "Communication and interaction",
    "cognition_and_learning": "Cognition and learning",
    "social_emotional_mental_health": "Social, emotional and mental health",
    "sensory_and_physical": "Sensory and/or physical",
    NO_AREA: "Area not given",
    "all": "All areas",
}
AFTER = {**STATUSES, "": "Not reviewed since"}
CHANGES = {
    "better": "Better",
    "same": "The same",
    "worse": "Worse",
    "not_comparable": "Not comparable",
    "not_yet_reviewed": "Not reviewed since",
}


def _key(code: str) -> str:
    return code.replace("-", "_") if code else "not_reviewed_since"


def _status_columns(labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(_key(code), label) for code, label in labels.items()] + [(TOTAL, "Total")]


async def answer(session: AsyncSession, *, scope: Scope, period: Period) -> Answer:

    async def tally(metric: str) -> dict[tuple[str, str], int]:
        return await sums(session, metric=metric, scope=scope.kind, scope_id=scope.id, months=period.months)

    by_cycle = Counter[tuple[str, str]]()
    for (cycle, status), n in (await tally("outcomes")).items():
        by_cycle[("4+" if int(cycle) >= 4 else cycle, _key(status))] += n
    by_area = Counter({(area, _key(status)): n for (area, status), n in (await tally("outcomes_area")).items()})
    pairs = await tally("after_support")
    after = Counter({(_key(end), _key(later)): n for (end, later), n in pairs.items()})
    per_service: dict[tuple[str, str], int] = {}
    changes: dict[tuple[str, str], int] = {}
    if scope.kind != "service":
        per_service = {(service, _key(status)): n for (service, status), n in (await tally("outcomes_service")).items()}
        changes = dict(await tally("after_support_service"))
    status_cols = [_key(c) for c in STATUSES]
    after_cols = [_key(c) for c in AFTER]
    services = sorted({s for s, _ in per_service} | {s for s, _ in changes})
    sheet = Sheet()
    add_grid(sheet, "cycle", list(CYCLES)[:-1], status_cols, by_cycle, all_row=True)
    add_grid(sheet, "area", list(AREAS)[:-1], status_cols, by_area, all_row=True)
    add_grid(sheet, "after", status_cols, after_cols, after, all_row=True)
    add_grid(sheet, "service", services, status_cols, per_service, all_row=False)
    add_grid(sheet, "change", services, list(CHANGES), changes, all_row=False)
    sheet.settle()
    status_labels = {_key(c): label for c, label in STATUSES.items()}
    tables = [
        Table(
            name="by_cycle",
            title="Outcomes by achievement status at each review cycle",
            columns=columns(("cycle", "Review"), *_status_columns(STATUSES)),
            rows=grid_rows(
                sheet, "cycle", list(CYCLES)[:-1], status_cols, row_key="cycle", row_labels=CYCLES, all_row=True
            ),
        ),
        Table(
            name="by_area",
            title="Outcomes by achievement status, by area of need",
            columns=columns(("area", "Area of need"), *_status_columns(STATUSES)),
            rows=grid_rows(
                sheet, "area", list(AREAS)[:-1], status_cols, row_key="area", row_labels=AREAS, all_row=True
            ),
        ),
        Table(
            name="after_support",
            title="Progress after support ends: status at the first review after, against the status when the "
            "service finished",
            columns=columns(("status_at_end", "When the service finished"), *_status_columns(AFTER)),
            rows=grid_rows(
                sheet,
                "after",
                status_cols,
                after_cols,
                row_key="status_at_end",
                row_labels={**status_labels, "all": "All outcomes"},
                all_row=True,
            ),
            notes=["Counted in the month the service's referral was completed."],
        ),
    ]
    if scope.kind != "service":
        tables += [
            Table(
                name="by_service",
                title="Outcomes by achievement status, by the services supporting the child during the cycle",
                columns=columns(("service_id", "Service"), *_status_columns(STATUSES)),
                rows=grid_rows(
                    sheet, "service", services, status_cols, row_key="service_id", row_labels={}, all_row=False
                ),
                notes=["An outcome counts under every service that was supporting the child during the cycle."],
            ),
            Table(
                name="after_support_by_service",
                title="After support ends, by service: was the outcome better, the same or worse at the next review?",
                columns=columns(("service_id", "Service"), *list(CHANGES.items()), (TOTAL, "Total")),
                rows=grid_rows(
                    sheet, "change", services, list(CHANGES), row_key="service_id", row_labels={}, all_row=False
                ),
                notes=[
                    "Better or worse: the status moved along achieved/sustaining > improving > in progress > "
                    "no change/no progress > worsening/not achieved; not attainable is not compared."
                ],
            ),
        ]
    return Answer(
        answer="outcomes",
        scope=ScopePublic(kind=scope.kind, id=scope.id),
        period=PeriodPublic(label=period.label, from_month=period.first, to_month=period.last),
        as_of=now(),
        tables=tables,
    )
