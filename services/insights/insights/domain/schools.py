"""The inclusion comparison (issue 15, question 4), for an Area SEND inspection: per school of an LA, the concerns
raised per 100 pupils on roll (overall and by broad area of need), the share referred on to a service, the median
days from a concern to first help, and EHC needs assessment requests and plans issued; each beside the LA's median
across its schools (and, for days, the LA's median over all its concerns).

The LA's SEND officers see every school named. A school's leads see their own school named and the others as
"School A", "School B"... in the order of their concerns per 100 pupils, with rates only: no roll and no count
that would point at which school a peer is. Small numbers are hidden as everywhere (a school's count is a part of
the LA's); a rate is hidden with its count; the LA medians are taken over the schools whose figure is shown, so that
a median never repeats a hidden one."""

from __future__ import annotations

import string
from collections import Counter

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.auth import Principal
from tas_common.clock import now
from tas_common.errors import InvalidInput

from .access import Scope, is_la_officer
from .models import School
from .outcomes import AREAS
from .periods import Period
from .schemas import Answer, PeriodPublic, ScopePublic, Table, columns
from .suppression import Cell, Sheet, median_of, percentile, statistic
from .tally import by_scope_id, sums

AREA_CODES = [a for a in AREAS if a not in ("not_given", "all")]
COUNTS = ("concerns", "referred", "ehc_requests", "ehc_plans", *AREA_CODES)


def _rate(count: int, roll: int | None) -> float | None:
    return round(100.0 * count / roll, 1) if roll else None


async def answer(session: AsyncSession, *, scope: Scope, period: Period, principal: Principal) -> Answer:
    if scope.kind == "service":
        raise InvalidInput("the school comparison is per local authority or school", field="query.service_id")
    schools = list(
        (await session.exec(select(School).where(col(School.la_code) == scope.la_code).order_by(col(School.urn)))).all()
    )
    urns = [s.urn for s in schools]

    async def per_school(metric: str) -> dict[tuple[str, str, str], int]:
        return await by_scope_id(session, metric=metric, scope="school", scope_ids=urns, months=period.months)

    concerns, referred, first_help = await per_school("concerns"), await per_school("concerns_referred"), {}
    requests, plans = await per_school("ehc_requests"), await per_school("ehc_plans")
    helped: dict[str, Counter[int]] = {u: Counter() for u in urns}
    for (urn, days, _), n in (await per_school("first_help")).items():
        helped[urn][int(days)] += n
    first_help = helped
    la_help: Counter[int] = Counter()
    for (days, _), n in (
        await sums(session, metric="first_help", scope="la", scope_id=scope.la_code, months=period.months)
    ).items():
        la_help[int(days)] += n

    counts: dict[str, dict[str, int]] = {}
    for urn in urns:
        counts[urn] = {
            "concerns": concerns.get((urn, "*", ""), 0),
            "referred": sum(n for (u, _, _), n in referred.items() if u == urn),
            "ehc_requests": sum(n for (u, _, _), n in requests.items() if u == urn),
            "ehc_plans": sum(n for (u, _, _), n in plans.items() if u == urn),
            **{area: concerns.get((urn, area, ""), 0) for area in AREA_CODES},
        }
    sheet = Sheet()
    for field in COUNTS:
        total = sheet.cell(("la", field), sum(c[field] for c in counts.values()))
        sheet.line(total, [sheet.cell((urn, field), counts[urn][field]) for urn in urns])
    for urn in urns:
        not_referred = sheet.cell((urn, "not_referred"), counts[urn]["concerns"] - counts[urn]["referred"], shown=False)
        sheet.line((urn, "concerns"), [(urn, "referred"), not_referred])
    sheet.settle()

    roll = {s.urn: s.pupils_on_roll for s in schools}

    def rate(urn: str, field: str) -> Cell:
        if sheet.is_hidden((urn, field)):
            return sheet.show((urn, field))
        return _rate(counts[urn][field], roll[urn])

    rows: dict[str, dict[str, Cell]] = {}
    for urn in urns:
        help_days = first_help[urn]
        rows[urn] = {
            "school_urn": urn,
            "pupils_on_roll": roll[urn],
            "concerns": sheet.show((urn, "concerns")),
            "concerns_per_100": rate(urn, "concerns"),
            **{f"{area}_per_100": rate(urn, area) for area in AREA_CODES},
            "referred_on_pct": sheet.share((urn, "referred"), (urn, "concerns")),
            "median_days_to_first_help": statistic(percentile(dict(help_days), 0.5), sum(help_days.values())),
            "ehc_requests": sheet.show((urn, "ehc_requests")),
            "ehc_requests_per_100": rate(urn, "ehc_requests"),
            "ehc_plans": sheet.show((urn, "ehc_plans")),
        }
    rate_keys = ["concerns_per_100", *(f"{a}_per_100" for a in AREA_CODES), "referred_on_pct", "ehc_requests_per_100"]
    la_row: dict[str, Cell] = {
        "school_urn": "LA median",
        "pupils_on_roll": None,
        "concerns": None,
        "ehc_requests": None,
        "ehc_plans": None,
        **{
            key: median_of([float(v) for r in rows.values() if isinstance(v := r[key], int | float)])
            for key in rate_keys
        },
        "median_days_to_first_help": statistic(percentile(dict(la_help), 0.5), sum(la_help.values())),
    }
    la_totals: dict[str, Cell] = {
        "school_urn": "LA total",
        "pupils_on_roll": sum(r or 0 for r in roll.values()),
        "concerns": sheet.show(("la", "concerns")),
        "ehc_requests": sheet.show(("la", "ehc_requests")),
        "ehc_plans": sheet.show(("la", "ehc_plans")),
    }
    names_schools = scope.kind == "la" or is_la_officer(principal, scope.la_code)
    if names_schools:
        listed = [rows[u] for u in urns] + [la_row, la_totals]
        keys = ["school_urn", "pupils_on_roll", "concerns", *rate_keys[:5], "referred_on_pct"]
        keys += ["median_days_to_first_help", "ehc_requests", "ehc_requests_per_100", "ehc_plans"]
    else:
        listed = [*_anonymised(rows, scope.id, rate_keys), la_row]
        keys = ["school_urn", *rate_keys[:5], "referred_on_pct", "median_days_to_first_help", "ehc_requests_per_100"]
    labels = {
        "school_urn": "School",
        "pupils_on_roll": "Pupils on roll",
        "concerns": "Concerns raised",
        "concerns_per_100": "Concerns per 100 pupils",
        **{f"{a}_per_100": f"{AREAS[a]}: per 100 pupils" for a in AREA_CODES},
        "referred_on_pct": "Referred on (%)",
        "median_days_to_first_help": "Median days to first help",
        "ehc_requests": "EHC needs assessment requests",
        "ehc_requests_per_100": "EHC requests per 100 pupils",
        "ehc_plans": "EHC plans issued",
    }
    table = Table(
        name="schools",
        title="Schools compared: concerns, referrals on, first help and EHC needs assessments",
        columns=columns(*((k, labels[k]) for k in keys)),
        rows=[{k: row.get(k) for k in keys} for row in listed],
        notes=[
            "LA median: the median across the LA's schools whose figure is shown; for days to first help, the "
            "median over all the LA's concerns first helped in the period.",
            *(
                []
                if names_schools
                else ["Other schools are shown as School A, B, ... in the order of their concerns per 100 pupils."]
            ),
        ],
    )
    return Answer(
        answer="schools",
        scope=ScopePublic(kind=scope.kind, id=scope.id),
        period=PeriodPublic(label=period.label, from_month=period.first, to_month=period.last),
        as_of=now(),
        tables=[table],
    )


def _anonymised(rows: dict[str, dict[str, Cell]], own: str, rate_keys: list[str]) -> list[dict[str, Cell]]:
    def order(row: dict[str, Cell]) -> tuple[float, str]:
        value = row["concerns_per_100"]
        return (-float(value) if isinstance(value, int | float) else 1.0, str(row["school_urn"]))

    peers = sorted((r for urn, r in rows.items() if urn != own), key=order)
    out = [{**rows[own]}] if own in rows else []
    for n, peer in enumerate(peers):
        label = string.ascii_uppercase[n] if n < len(string.ascii_uppercase) else str(n + 1)
        out.append(
            {key: peer[key] for key in [*rate_keys, "median_days_to_first_help"]} | {"school_urn": f"School {label}"}
        )
    return out
