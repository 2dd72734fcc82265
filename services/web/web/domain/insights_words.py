"""Insights' answers in the page's language. Insights writes its tables in English (titles, column labels, notes,
row labels such as "1st review" or "LA median", and "fewer than 5" / "withheld" where a figure is not shown); the
pages put each of those words through the web service's catalogue (translations/cy/LC_MESSAGES/messages.po) like
every other word on the page. The few that carry a figure or a date (the period, "School B", "Still waiting for a
decision: 12.") are matched by pattern and their parts translated. Codes (a service's id, a URN, the SEN2 data set's
column names) and figures are left as they are. The CSV downloads stay as insights gives them (data, in English)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel.dates import format_date

from ..i18n import _, current_language, plain_date


def N_(message: str) -> str:
    """Marks a word insights sends for extraction into the catalogue (translated when shown)."""
    return message


WORDS = frozenset(
    {
        # waiting
        N_("Waits that ended in the period"),
        N_("Wait"),
        N_("Referrals"),
        N_("Median (days)"),
        N_("90th percentile (days)"),
        N_("Over the service's target"),
        N_("Over target (%)"),
        N_("Referral to decision"),
        N_("Referral to first contact"),
        N_("How long the waits were"),
        N_("Days waited"),
        N_("To decision"),
        N_("To first contact"),
        N_("0 to 7 days"),
        N_("8 to 14 days"),
        N_("15 to 28 days"),
        N_("29 to 42 days"),
        N_("43 to 84 days"),
        N_("85 to 126 days"),
        N_("127 to 182 days"),
        N_("183 to 365 days"),
        N_("over 365 days"),
        N_("Waits by the month they ended"),
        N_("Month"),
        N_("Decisions"),
        N_("Median days to decision"),
        N_("First contacts"),
        N_("Median days to first contact"),
        N_("Over target"),
        N_("Days waited so far"),
        N_("Waiting"),
        N_("All"),
        N_("Waiting now, by service"),
        N_("Service"),
        N_("Median days waited so far"),
        # timeliness
        N_("Statutory timeliness by calendar year, beside England"),
        N_("Calendar year"),
        N_("Requests for an EHC needs assessment"),
        N_("Decisions within 6 weeks (%, excluding exceptions)"),
        N_("Plans within 20 weeks (%, excluding exceptions)"),
        N_("Plans within 20 weeks (%, all plans)"),
        N_("England: plans within 20 weeks (%, excluding exceptions)"),
        N_("England: plans within 20 weeks (%, all plans)"),
        N_("England figure's year"),
        N_("England: no published figure held"),
        N_("New EHC plans issued within 20 weeks, in the columns of the SEN2 timeliness data set"),
        N_("`_ex`: excluding the exception cases recorded (SEND Regulations 2014 reg. 13(3))."),
        N_("Decisions whether to assess, within 6 weeks of the request"),
        N_("Decisions (excluding exceptions)"),
        N_("Within 6 weeks"),
        N_("Within 6 weeks (excluding exceptions)"),
        N_("Within 6 weeks (%)"),
        N_("Within 6 weeks (%, excluding exceptions)"),
        N_("`_ex`: excluding the exception cases recorded (SEND Regulations 2014 reg. 10(4))."),
        N_("Local authority"),
        N_("School"),
        # outcomes
        N_("Outcomes by achievement status at each review cycle"),
        N_("Review"),
        N_("Achieved"),
        N_("Sustaining"),
        N_("Improving"),
        N_("In progress"),
        N_("No change"),
        N_("No progress"),
        N_("Worsening"),
        N_("Not achieved"),
        N_("Not attainable"),
        N_("Total"),
        N_("1st review"),
        N_("2nd review"),
        N_("3rd review"),
        N_("4th review or later"),
        N_("All reviews"),
        N_("Outcomes by achievement status, by area of need"),
        N_("Area of need"),
        N_("Communication and interaction"),
        N_("Cognition and learning"),
        N_("Social, emotional and mental health"),
        N_("Sensory and/or physical"),
        N_("Area not given"),
        N_("All areas"),
        N_(
            "Progress after support ends: status at the first review after, against the status when the service finished"
        ),
        N_("When the service finished"),
        N_("Not reviewed since"),
        N_("All outcomes"),
        N_("Counted in the month the service's referral was completed."),
        N_("Outcomes by achievement status, by the services supporting the child during the cycle"),
        N_("An outcome counts under every service that was supporting the child during the cycle."),
        N_("After support ends, by service: was the outcome better, the same or worse at the next review?"),
        N_("Better"),
        N_("The same"),
        N_("Worse"),
        N_("Not comparable"),
        N_(
            "Better or worse: the status moved along achieved/sustaining > improving > in progress > no change/no "
            "progress > worsening/not achieved; not attainable is not compared."
        ),
        # schools
        N_("Schools compared: concerns, referrals on, first help and EHC needs assessments"),
        N_("Pupils on roll"),
        N_("Concerns raised"),
        N_("Concerns per 100 pupils"),
        N_("Referred on (%)"),
        N_("Median days to first help"),
        N_("EHC needs assessment requests"),
        N_("EHC requests per 100 pupils"),
        N_("EHC plans issued"),
        N_("LA median"),
        N_("LA total"),
        N_(
            "LA median: the median across the LA's schools whose figure is shown; for days to first help, the "
            "median over all the LA's concerns first helped in the period."
        ),
        N_("Other schools are shown as School A, B, ... in the order of their concerns per 100 pupils."),
        # a figure not shown
        N_("fewer than 5"),
        N_("withheld"),
    }
)
UNITS = (N_("referrals"), N_("outcomes"), N_("per 100 pupils"))
"""The charts' axis units (web/domain/insights_view.py)."""


def _month(text: str) -> str:
    """'November 2026' in the page's language."""
    try:
        month = datetime.strptime(text, "%B %Y").date()
    except ValueError:
        return text
    return format_date(month, "MMMM y", locale=current_language.get())


def _day(text: str) -> str:
    """'29 November 2026' in the page's language."""
    try:
        return plain_date(datetime.strptime(text, "%d %B %Y").date())
    except ValueError:
        return text


PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"School ([A-Z]{1,2})"), lambda m: _("School %(letter)s", letter=m[1])),
    (re.compile(r"(.+): per 100 pupils"), lambda m: _("%(area)s: per 100 pupils", area=word(m[1]))),
    (
        re.compile(r"Still waiting for a decision: (.+)\."),
        lambda m: _("Still waiting for a decision: %(count)s.", count=word(m[1])),
    ),
    (
        re.compile(r"Waiting now for first contact \(as of (.+)\), by days waited so far"),
        lambda m: _("Waiting now for first contact (as of %(date)s), by days waited so far", date=_day(m[1])),
    ),
    (re.compile(r"England: (.+)"), lambda m: _("England: %(source)s", source=m[1])),
    (re.compile(r"calendar year (\d{4})"), lambda m: _("calendar year %(year)s", year=m[1])),
    (
        re.compile(r"academic year (\d{4}) to (\d{4})"),
        lambda m: _("academic year %(start)s to %(end)s", start=m[1], end=m[2]),
    ),
    (re.compile(r"the 12 months to (.+)"), lambda m: _("the 12 months to %(month)s", month=_month(m[1]))),
    (
        re.compile(r"([A-Z][a-z]+ \d{4}) to ([A-Z][a-z]+ \d{4})"),
        lambda m: _("%(first)s to %(last)s", first=_month(m[1]), last=_month(m[2])),
    ),
    (re.compile(r"[A-Z][a-z]+ \d{4}"), lambda m: _month(m[0])),
)


def word(text: str) -> str:
    """One of insights' words in the page's language; anything else (a code, an id) as it is."""
    if text in WORDS:
        return _(text)
    for pattern, translate in PATTERNS:
        if match := pattern.fullmatch(text):
            return translate(match)
    return text


def _cell(value: Any) -> Any:
    return word(value) if isinstance(value, str) else value


def translated(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with its words in the page's language (a copy; figures, codes and keys unchanged)."""
    period = dict(answer.get("period") or {})
    if "label" in period:
        period["label"] = word(str(period["label"]))
    tables = [
        {
            **table,
            "title": word(str(table.get("title", ""))),
            "columns": [{**c, "label": word(str(c.get("label", "")))} for c in table.get("columns", [])],
            "rows": [{k: _cell(v) for k, v in row.items()} for row in table.get("rows", [])],
            "notes": [word(str(n)) for n in table.get("notes", [])],
        }
        for table in answer.get("tables", [])
    ]
    return {**answer, "period": period, "tables": tables}


__all__ = ["UNITS", "WORDS", "translated", "word"]
