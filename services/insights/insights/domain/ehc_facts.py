"""EHC needs assessment requests as caseload records them, and what they count: requests by month; decisions on
whether to assess and final plans issued, by the days they took and the statutory exception recorded (SEN2 counts
exception cases apart)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common.events.facts import EhcRequestRecordedV1

from .models import EhcRequest
from .tally import Key, Where, adjust, days_between, month_of, scoped

FIELDS = (
    "child_id",
    "la_code",
    "school_urn",
    "requested_on",
    "decision",
    "decision_on",
    "advice_requested_on",
    "advice_received_on",
    "draft_issued_on",
    "final_issued_on",
    "annual_review_on",
    "decision_exception",
    "final_exception",
    "version",
)


def ehc_keys(request: EhcRequest) -> list[Key]:
    where = Where(request.la_code, request.school_urn)
    keys = scoped(where, "ehc_requests", month_of(request.requested_on))
    if request.decision_on is not None:
        days = days_between(request.requested_on, request.decision_on)
        keys += scoped(
            where, "ehc_decisions", month_of(request.decision_on), str(days), request.decision_exception or ""
        )
    if request.final_issued_on is not None:
        days = days_between(request.requested_on, request.final_issued_on)
        keys += scoped(where, "ehc_plans", month_of(request.final_issued_on), str(days), request.final_exception or "")
    return keys


async def request_recorded(session: AsyncSession, *, recorded: EhcRequestRecordedV1) -> None:
    """Keep the newest version of the request (an older or repeated one changes nothing)."""
    request = await session.get(EhcRequest, recorded.request_id)
    if request is not None and request.version >= recorded.version:
        return
    old = ehc_keys(request) if request is not None else []
    request = request or EhcRequest(
        id=recorded.request_id, child_id=recorded.child_id, requested_on=recorded.requested_on
    )
    for field in FIELDS:
        setattr(request, field, getattr(recorded, field))
    session.add(request)
    await adjust(session, old, ehc_keys(request))
