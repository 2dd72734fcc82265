"""The period an answer covers, named in the query: a calendar year (`2025`), an academic year (`2025/26` or
`2025-26`, September to August), a month (`2025-03`), a range of months (`2025-01..2025-06`), or by default the 12 months to
this one. Months are UTC calendar months."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tas_common.errors import InvalidInput

MAX_MONTHS = 120


@dataclass(frozen=True)
class Period:
    label: str
    first: str
    """First month, `YYYY-MM`."""
    last: str

    @property
    def months(self) -> tuple[str, str]:
        return self.first, self.last

    def each_month(self) -> list[str]:
        year, month = int(self.first[:4]), int(self.first[5:])
        out = []
        while True:
            out.append(f"{year:04d}-{month:02d}")
            if out[-1] == self.last:
                return out
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def years(self) -> list[int]:
        return list(range(int(self.first[:4]), int(self.last[:4]) + 1))


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def parse_period(text: str | None, *, today: date) -> Period:
    if not text or text == "last-12-months":
        start = _shift(today.year, today.month, -11)
        return Period("the 12 months to " + today.strftime("%B %Y"), _month(*start), _month(today.year, today.month))
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m.group(1))
        return Period(f"calendar year {year}", _month(year, 1), _month(year, 12))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, tail = int(m.group(1)), int(m.group(2))
        if 1 <= tail <= 12:
            return Period(date(year, tail, 1).strftime("%B %Y"), _month(year, tail), _month(year, tail))
        if tail == (year + 1) % 100:  # 2025-26; an ambiguous one (2011-12 is December 2011) is written 2011/12
            return Period(f"academic year {year} to {year + 1}", _month(year, 9), _month(year + 1, 8))
    if m := re.fullmatch(r"(\d{4})/(\d{2})", text):
        year = int(m.group(1))
        if int(m.group(2)) == (year + 1) % 100:
            return Period(f"academic year {year} to {year + 1}", _month(year, 9), _month(year + 1, 8))
    if m := re.fullmatch(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})", text):
        a, b = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
        if 1 <= a[1] <= 12 and 1 <= b[1] <= 12 and a <= b and (b[0] * 12 + b[1]) - (a[0] * 12 + a[1]) < MAX_MONTHS:
            first, last = date(*a, 1), date(*b, 1)
            return Period(f"{first:%B %Y} to {last:%B %Y}", _month(*a), _month(*b))
    raise InvalidInput(
        "a period is a year (2025), an academic year (2025/26), a month (2025-03), a range of months "
        "(2025-01..2025-06) or last-12-months",
        field="query.period",
    )
