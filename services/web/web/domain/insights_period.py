"""The insights pages' period picker: a GET form with a calendar year, or a range of months (from month and year, to
month and year), turned into insights' `period` (`2026`, `2026-01..2026-06`); or, unchanged, a `?period=` a link
carries. Bad input is a message per field for the GOV.UK error summary, never a call to insights."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..i18n import _
from .forms import FormErrors

FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_MONTHS = 120
"""insights' longest range (insights/domain/periods.py)."""
FIELDS = ("year", "from_month", "from_year", "to_month", "to_year")


@dataclass
class PeriodChoice:
    period: str | None = None
    """What to ask insights for (None: its default, the last 12 months)."""
    values: dict[str, str] = field(default_factory=dict)
    """The form's fields as typed, to show again."""
    errors: FormErrors = field(default_factory=FormErrors)


def _number(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d{1,4}", text) else None


def _year(errors: FormErrors, field_id: str, text: str) -> int | None:
    year = _number(text)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        errors.add(field_id, _("Enter a year as 4 numbers, like 2026"))
        return None
    return year


def _month(errors: FormErrors, field_id: str, text: str) -> int | None:
    month = _number(text)
    if month is None or not 1 <= month <= 12:
        errors.add(field_id, _("Enter a month as a number from 1 to 12"))
        return None
    return month


def choose(*, period: str | None, form: dict[str, str | None]) -> PeriodChoice:
    values = {k: (form.get(k) or "").strip() for k in FIELDS}
    choice = PeriodChoice(values=values)
    errors = choice.errors
    ranged = any(values[k] for k in FIELDS[1:])
    if not values["year"] and not ranged:
        choice.period = period
        return choice
    if values["year"] and ranged:
        errors.add("period-year", _("Enter a year or a range of months, not both"))
        return choice
    if values["year"]:
        year = _year(errors, "period-year", values["year"])
        choice.period = None if year is None else f"{year:04d}"
        return choice
    start_month = _month(errors, "period-from-month", values["from_month"])
    start_year = _year(errors, "period-from-year", values["from_year"])
    end_month = _month(errors, "period-to-month", values["to_month"])
    end_year = _year(errors, "period-to-year", values["to_year"])
    if errors or start_month is None or start_year is None or end_month is None or end_year is None:
        return choice
    first, last = start_year * 12 + start_month, end_year * 12 + end_month
    if first > last:
        errors.add("period-to-month", _("The end of the range must be the same as or after its start"))
    elif last - first >= MAX_MONTHS:
        errors.add("period-to-month", _("The range can be at most 10 years"))
    else:
        choice.period = f"{start_year:04d}-{start_month:02d}..{end_year:04d}-{end_month:02d}"
    return choice
