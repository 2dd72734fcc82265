"""Waiting (issue 15, question 1): per LA, school or service, the days from referral to a decision and to first
contact as distributions (median, 90th percentile, a histogram) and by month, and the referrals waiting now against
their service's target. A wait counts in the month it ended; a referral waiting now counts by the days it has waited
so far. Which referral is late is referral's API's to say (each referral carries `days_waiting` and `breached`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.clock import day_of, now

from .access import Scope
from .models import Referral
from .periods import Period
from .schemas import Answer, PeriodPublic, ScopePublic, Table, columns
from .suppression import Sheet, percentile, statistic
from .tally import by_month, sums

BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0 to 7 days", 0, 7),
    ("8 to 14 days", 8, 14),
    ("15 to 28 days", 15, 28),
    ("29 to 42 days", 29, 42),
    ("43 to 84 days", 43, 84),
    ("85 to 126 days", 85, 126),
    ("127 to 182 days", 127, 182),
    ("183 to 365 days", 183, 365),
    ("over 365 days", 366, None),
)
MEASURES = (("decision", "Referral to decision"), ("first_contact", "Referral to first contact"))
_SCOPE_COLUMN = {"la": col(Referral.la_code), "school": col(Referral.school_urn), "service": col(Referral.service_id)}


def band_of(days: int) -> str:
    return next(label for label, low, high in BANDS if days >= low and (high is None or days <= high))


async def answer(session: AsyncSession, *, scope: Scope, period: Period) -> Answer:
    kind, sid, span = scope.kind, scope.id, period.months
    decided = await sums(session, metric="wait_decision", scope=kind, scope_id=sid, months=span)
    contacted = await sums(session, metric="wait_contact", scope=kind, scope_id=sid, months=span)
    decided_monthly = await by_month(session, metric="wait_decision", scope=kind, scope_id=sid, months=span)
    contacted_monthly = await by_month(session, metric="wait_contact", scope=kind, scope_id=sid, months=span)
    as_of = now()
    open_rows = (
        await session.execute(
            select(
                col(Referral.service_id), col(Referral.status), col(Referral.submitted_at), col(Referral.target_days)
            ).where(_SCOPE_COLUMN[scope.kind] == scope.id, col(Referral.waiting).is_(True))
        )
    ).all()

    sheet = Sheet()
    hist = {
        "decision": _days(decided),
        "first_contact": _days(contacted),
    }
    breached = sum(n for (_, b), n in contacted.items() if b == "1")
    total = {m: sheet.cell(("n", m), sum(h.values())) for m, h in hist.items()}
    over = sheet.cell(("over", "first_contact"), breached)
    within = sheet.cell(("within", "first_contact"), sheet.counts[total["first_contact"]] - breached, shown=False)
    sheet.line(total["first_contact"], [over, within])
    for m, h in hist.items():
        bands = Counter({band: 0 for band, _, _ in BANDS})
        for days, n in h.items():
            bands[band_of(days)] += n
        sheet.line(total[m], [sheet.cell(("band", m, band), bands[band]) for band, _, _ in BANDS])
    months = period.each_month()
    monthly = {
        "decision": _monthly(decided_monthly),
        "first_contact": _monthly(contacted_monthly),
    }
    month_breaches = Counter(dict.fromkeys(months, 0))
    for (month, _, b), n in contacted_monthly.items():
        month_breaches[month] += n if b == "1" else 0
    for m in monthly:
        sheet.line(total[m], [sheet.cell(("month", m, month), sum(monthly[m][month].values())) for month in months])
    sheet.line(over, [sheet.cell(("month_over", month), month_breaches[month]) for month in months])
    for month in months:
        n_month = sheet.counts[("month", "first_contact", month)]
        sheet.line(
            ("month", "first_contact", month),
            [("month_over", month), sheet.cell(("month_within", month), n_month - month_breaches[month], shown=False)],
        )
    sheet.line(within, [("month_within", month) for month in months])
    now_tables = _waiting_now(sheet, open_rows, as_of)
    sheet.settle()

    summary = Table(
        name="summary",
        title="Waits that ended in the period",
        columns=columns(
            ("measure", "Wait"),
            ("referrals", "Referrals"),
            ("median_days", "Median (days)"),
            ("p90_days", "90th percentile (days)"),
            ("over_target", "Over the service's target"),
            ("over_target_pct", "Over target (%)"),
        ),
        rows=[
            {
                "measure": label,
                "referrals": sheet.show(total[m]),
                "median_days": statistic(percentile(hist[m], 0.5), sum(hist[m].values())),
                "p90_days": statistic(percentile(hist[m], 0.9), sum(hist[m].values())),
                "over_target": sheet.show(over) if m == "first_contact" else None,
                "over_target_pct": sheet.share(over, total[m]) if m == "first_contact" else None,
            }
            for m, label in MEASURES
        ],
    )
    histogram = Table(
        name="histogram",
        title="How long the waits were",
        columns=columns(("band", "Days waited"), ("decision", "To decision"), ("first_contact", "To first contact")),
        rows=[{"band": band, **{m: sheet.show(("band", m, band)) for m, _ in MEASURES}} for band, _, _ in BANDS],
    )
    by_months = Table(
        name="by_month",
        title="Waits by the month they ended",
        columns=columns(
            ("month", "Month"),
            ("decisions", "Decisions"),
            ("decision_median_days", "Median days to decision"),
            ("decision_p90_days", "90th percentile (days)"),
            ("first_contacts", "First contacts"),
            ("first_contact_median_days", "Median days to first contact"),
            ("first_contact_p90_days", "90th percentile (days)"),
            ("over_target", "Over target"),
        ),
        rows=[_month_row(sheet, monthly, month) for month in months],
    )
    return Answer(
        answer="waiting",
        scope=ScopePublic(kind=scope.kind, id=scope.id),
        period=PeriodPublic(label=period.label, from_month=period.first, to_month=period.last),
        as_of=as_of,
        tables=[summary, histogram, by_months, *now_tables(sheet)],
    )


def _days(counts: dict[tuple[str, str], int]) -> dict[int, int]:
    out: Counter[int] = Counter()
    for (days, _), n in counts.items():
        out[int(days)] += n
    return dict(out)


def _monthly(counts: dict[tuple[str, str, str], int]) -> dict[str, Counter[int]]:
    out: dict[str, Counter[int]] = defaultdict(Counter)
    for (month, days, _), n in counts.items():
        out[month][int(days)] += n
    return out


def _month_row(sheet: Sheet, monthly: dict[str, dict[str, Counter[int]]], month: str) -> dict[str, object]:
    row: dict[str, object] = {"month": month}
    for m, prefix, count in (
        ("decision", "decision", "decisions"),
        ("first_contact", "first_contact", "first_contacts"),
    ):
        h = dict(monthly[m].get(month, {}))
        n = sum(h.values())
        row[count] = sheet.show(("month", m, month))
        row[f"{prefix}_median_days"] = statistic(percentile(h, 0.5), n)
        row[f"{prefix}_p90_days"] = statistic(percentile(h, 0.9), n)
    row["over_target"] = sheet.show(("month_over", month))
    return row


def _waiting_now(sheet: Sheet, rows: Sequence[Any], as_of: datetime) -> Callable[[Sheet], list[Table]]:
    """The referrals waiting now, by how long they have waited and by service: cells added to the sheet now, the
    tables made once it has settled."""
    today = day_of(as_of)
    waited: list[tuple[str, int, bool, str]] = []
    for service_id, status, submitted_at, target in rows:
        days = max(0, (today - day_of(submitted_at)).days)
        waited.append((service_id or "", days, target is not None and days > target, status))
    everyone = sheet.cell(("now",), len(waited))
    over_all = sheet.cell(("now_over",), sum(1 for w in waited if w[2]))
    sheet.line(everyone, [over_all, sheet.cell(("now_within",), len(waited) - sheet.counts[over_all], shown=False)])
    by_band = Counter(band_of(d) for _, d, _, _ in waited)
    over_band = Counter(band_of(d) for _, d, b, _ in waited if b)
    sheet.line(everyone, [sheet.cell(("now_band", band), by_band[band]) for band, _, _ in BANDS])
    sheet.line(over_all, [sheet.cell(("now_band_over", band), over_band[band]) for band, _, _ in BANDS])
    for band, _, _ in BANDS:
        sheet.line(
            ("now_band", band),
            [
                ("now_band_over", band),
                sheet.cell(("now_band_within", band), by_band[band] - over_band[band], shown=False),
            ],
        )
    sheet.line(("now_within",), [("now_band_within", band) for band, _, _ in BANDS])
    services = sorted({s for s, _, _, _ in waited})
    by_service = Counter(s for s, _, _, _ in waited)
    over_service = Counter(s for s, _, b, _ in waited if b)
    days_of: dict[str, list[int]] = defaultdict(list)
    for s, d, _, _ in waited:
        days_of[s].append(d)
    sheet.line(everyone, [sheet.cell(("now_service", s), by_service[s]) for s in services])
    sheet.line(over_all, [sheet.cell(("now_service_over", s), over_service[s]) for s in services])
    for s in services:
        sheet.line(
            ("now_service", s),
            [
                ("now_service_over", s),
                sheet.cell(("now_service_within", s), by_service[s] - over_service[s], shown=False),
            ],
        )
    sheet.line(("now_within",), [("now_service_within", s) for s in services])
    undecided = sheet.cell(("now_undecided",), sum(1 for w in waited if w[3] == "submitted"))
    sheet.line(everyone, [undecided, sheet.cell(("now_decided",), len(waited) - sheet.counts[undecided], shown=False)])

    def tables(settled: Sheet) -> list[Table]:
        band_table = Table(
            name="waiting_now",
            title=f"Waiting now for first contact (as of {today:%d %B %Y}), by days waited so far",
            columns=columns(("band", "Days waited so far"), ("waiting", "Waiting"), ("over_target", "Over target")),
            rows=[
                {
                    "band": band,
                    "waiting": settled.show(("now_band", band)),
                    "over_target": settled.show(("now_band_over", band)),
                }
                for band, _, _ in BANDS
            ]
            + [{"band": "All", "waiting": settled.show(everyone), "over_target": settled.show(over_all)}],
            notes=[f"Still waiting for a decision: {settled.show(undecided)}."],
        )
        service_table = Table(
            name="waiting_now_by_service",
            title="Waiting now, by service",
            columns=columns(
                ("service_id", "Service"),
                ("waiting", "Waiting"),
                ("over_target", "Over target"),
                ("median_days_waited", "Median days waited so far"),
            ),
            rows=[
                {
                    "service_id": s,
                    "waiting": settled.show(("now_service", s)),
                    "over_target": settled.show(("now_service_over", s)),
                    "median_days_waited": statistic(percentile(dict(Counter(days_of[s])), 0.5), len(days_of[s])),
                }
                for s in services
            ],
        )
        return [band_table, service_table]

    return tables
