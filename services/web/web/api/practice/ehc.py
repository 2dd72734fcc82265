"""EHC needs assessments for the LA's SEND officers: the statutory clocks of their LA's children, what is due this
week, what is late and by how much (caseload computes the clocks; this page groups them)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.practice import words
from ...templating import render
from ..deps import Caseload
from .deps import MeDep, PractitionerSession

router = APIRouter()
HORIZON_DAYS = 366


@router.get("/ehc")
async def ehc_clocks(request: Request, session: PractitionerSession, me: MeDep, caseload: Caseload) -> Response:
    clocks = await caseload.ehc_clocks(token=session.bearer, due_within_days=HORIZON_DAYS)
    today = date.today()
    week_end = today + timedelta(days=7)
    late, this_week, later = [], [], []
    for clock in clocks:
        open_ones = [m for m in clock["milestones"] if m["status"] in ("due", "overdue") and m["due"]]
        for m in clock["milestones"]:
            m["late_by"] = words.late_by(m, today)
        nearest = min(open_ones, key=lambda m: m["due"]) if open_ones else None
        clock["nearest"] = nearest
        if any(m["status"] == "overdue" for m in open_ones):
            late.append(clock)
        elif nearest and date.fromisoformat(nearest["due"]) <= week_end:
            this_week.append(clock)
        elif nearest:
            later.append(clock)
    late.sort(key=lambda c: c["nearest"]["due"] if c["nearest"] else "")
    this_week.sort(key=lambda c: c["nearest"]["due"])
    later.sort(key=lambda c: c["nearest"]["due"])
    return render(
        request, "practice/ehc.html", me=me, late=late, this_week=this_week, later=later, today=today, view=words
    )
