"""EHC needs assessment requests and their statutory clocks (the due dates come from ehc_clock)."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import OrgType, Principal
from tas_common.clock import today as today_utc
from tas_common.ehc_clock import compute_clock, due_soon_or_breached
from tas_common.errors import Forbidden, InvalidInput, NotFound
from tas_common.events import new_event
from tas_common.events.facts import EhcRequestRecordedV1
from tas_common.outbox import add_event
from tas_common.visibility import is_la_officer, is_school_lead

from .access import visible_child
from .child_schemas import EhcClockPublic, EhcRequestCreate, EhcRequestUpdate, MilestonePublic
from .chronology import record_change
from .models import Child, EhcRequest

DATE_FIELDS = tuple(name for name in EhcRequestUpdate.model_fields if name.endswith("_on"))
"""The milestones' dates, as an update names them: decision_on, advice_requested_on, … annual_review_on."""


def clock_public(request: EhcRequest, today: date) -> EhcClockPublic:
    clock = compute_clock(
        requested_on=request.requested_on,
        today=today,
        decision=request.decision,
        **{f: getattr(request, f) for f in DATE_FIELDS},
    )
    return EhcClockPublic(
        id=request.id,
        child_id=request.child_id,
        la_code=request.la_code,
        requested_on=request.requested_on,
        decision=request.decision,
        decision_exception=request.decision_exception,
        final_exception=request.final_exception,
        comment_period_ends=clock.comment_period_ends,
        milestones=[
            MilestonePublic(name=m.name, due=m.due, completed_on=m.completed_on, status=m.status, breached=m.breached)
            for m in clock.milestones
        ],
        breached=clock.breached,
        next_due=clock.next_due,
    )


async def create_request(
    session: AsyncSession, *, principal: Principal, child_id: str, data: EhcRequestCreate
) -> EhcClockPublic:
    child = await visible_child(session, principal, child_id, write=True)
    if not (is_la_officer(principal, child) or is_school_lead(principal, child)):
        raise Forbidden("an EHC needs assessment is requested by the school's leads or recorded by the LA")
    if data.requested_on > today_utc():
        raise InvalidInput("a request date cannot be in the future", field="body.requested_on")
    request = EhcRequest(
        child_id=child.id, la_code=child.la_code, requested_on=data.requested_on, created_by=principal.sub
    )
    await _recorded(session, request, child)
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="create",
        kind="ehc_requested",
        summary=f"EHC needs assessment requested on {data.requested_on:%d %B %Y}",
        ref_type="ehc_request",
        ref_id=request.id,
        sensitivity="family",
    )
    return clock_public(request, today_utc())


async def list_requests(session: AsyncSession, *, principal: Principal, child_id: str) -> list[EhcClockPublic]:
    child = await visible_child(session, principal, child_id)
    rows = (
        await session.exec(
            select(EhcRequest).where(EhcRequest.child_id == child.id).order_by(col(EhcRequest.requested_on))
        )
    ).all()
    await audit.record(
        session, actor=principal, action="read", resource_type="ehc_requests", resource_id=child.id, child_id=child.id
    )
    return [clock_public(r, today_utc()) for r in rows]


async def record_milestones(
    session: AsyncSession, *, principal: Principal, child_id: str, request_id: str, data: EhcRequestUpdate
) -> EhcClockPublic:
    child = await visible_child(session, principal, child_id, write=True)
    if not is_la_officer(principal, child):
        raise Forbidden("the LA's SEND officers record the assessment's milestones")
    request = await session.get(EhcRequest, request_id)
    if request is None or request.child_id != child.id:
        raise NotFound("no such EHC request")
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        setattr(request, key, value)
    _validate(request)
    await _recorded(session, request, child)
    done = ", ".join(k.removesuffix("_on").replace("_", " ") for k in changes if k in DATE_FIELDS and changes[k])
    await record_change(
        session,
        principal=principal,
        child_id=child.id,
        action="update",
        kind="ehc_milestone",
        summary=f"EHC needs assessment: recorded {done or 'the decision'}",
        ref_type="ehc_request",
        ref_id=request.id,
        sensitivity="family",
    )
    return clock_public(request, today_utc())


async def _recorded(session: AsyncSession, request: EhcRequest, child: Child) -> None:
    """Save the request and tell insights how it now stands (its whole state, with a new version)."""
    request.version = (request.version or 0) + 1
    session.add(request)
    await session.flush()
    await add_event(
        session,
        new_event(
            EhcRequestRecordedV1(
                request_id=request.id,
                child_id=child.id,
                la_code=request.la_code,
                school_urn=child.school_urn,
                requested_on=request.requested_on,
                decision=request.decision,
                decision_exception=request.decision_exception,
                final_exception=request.final_exception,
                version=request.version,
                **{f: getattr(request, f) for f in DATE_FIELDS},
            ),
            source="tas/caseload",
            subject=child.id,
        ),
    )


def _validate(request: EhcRequest) -> None:
    today = today_utc()
    for field in DATE_FIELDS:
        value = getattr(request, field)
        if value is not None and (value < request.requested_on or value > today):
            raise InvalidInput(f"{field} must fall between the request date and today", field=f"body.{field}")
    if request.decision_on and not request.decision:
        raise InvalidInput("record the decision with its date", field="body.decision")
    if request.final_issued_on:
        if not request.draft_issued_on:
            raise InvalidInput("a final plan follows a draft", field="body.final_issued_on")
        clock = compute_clock(requested_on=request.requested_on, today=today, draft_issued_on=request.draft_issued_on)
        if clock.comment_period_ends and request.final_issued_on < clock.comment_period_ends:
            raise InvalidInput(
                "the family's 15-day comment period on the draft has not ended", field="body.final_issued_on"
            )


async def clocks_due(
    session: AsyncSession, *, principal: Principal, due_within_days: int, as_of: date | None = None
) -> list[EhcClockPublic]:
    """The LA's list: clocks of its children with a milestone due within the window or overdue."""
    if principal.org_type != OrgType.local_authority or not principal.la_code:
        raise Forbidden("for the local authority's SEND officers")
    today = as_of or today_utc()
    rows = (
        await session.exec(
            select(EhcRequest, Child)
            .join(Child, col(Child.id) == col(EhcRequest.child_id))
            .where(EhcRequest.la_code == principal.la_code, col(Child.merged_into).is_(None))
        )
    ).all()
    result = []
    for request, child in rows:
        clock = clock_public(request, today).model_copy(
            update={"child_given_name": child.given_name, "child_family_name": child.family_name}
        )
        if due_soon_or_breached(
            compute_clock(
                requested_on=request.requested_on,
                today=today,
                decision=request.decision,
                **{f: getattr(request, f) for f in DATE_FIELDS},
            ),
            today=today,
            within_days=due_within_days,
        ):
            result.append(clock)
            await audit.record(
                session,
                actor=principal,
                action="read",
                resource_type="ehc_request",
                resource_id=request.id,
                child_id=child.id,
                reason="clocks due",
            )
    return sorted(result, key=lambda c: (not c.breached, c.next_due or date.max))
