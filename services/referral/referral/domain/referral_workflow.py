"""A referral's workflow:

    submitted → accepted | declined | redirected | withdrawn;  accepted → completed | withdrawn

The receiving service's practitioners (domain/practitioners.py: its roles in its organisation, or members the
directory records) see the referral, accept, decline, redirect, record first contact and complete; others of the same
organisation get 404. The referring school's staff withdraw. Every move emits its event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.db import utcnow
from tas_common.errors import Forbidden
from tas_common.events import CloudEvent
from tas_common.events.schemas import (
    ReferralAcceptedV1,
    ReferralCompletedV1,
    ReferralDeclinedV1,
    ReferralRedirectedV1,
    ReferralWithdrawnV1,
)
from tas_common.outbox import add_event

from .exceptions import IllegalTransition, invalid_field
from .models import Concern, Referral, Service
from .practitioners import is_practitioner_of
from .referral_events import as_event, event_fields, first_contact_event
from .referral_rules import OPEN, is_referrer
from .referral_schemas import AcceptIn, CompleteIn, ReasonIn, RedirectIn, ReferralList, ReferralPublic, ReferralStatus
from .referral_view import contacts_of, load, to_public
from .referrals import submit


def _require_state(referral: Referral, allowed: tuple[str, ...], move: str) -> None:
    if referral.status not in allowed:
        raise IllegalTransition(f"a {referral.status} referral cannot be {move}", referral_status=referral.status)


async def _require_receiver(session: AsyncSession, principal: Principal, service: Service) -> None:
    if not await is_practitioner_of(session, principal, service):
        raise Forbidden("only the receiving service's practitioners may do this")


def _check_contact_time(referral: Referral, at: datetime, field: str) -> datetime:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    submitted = referral.submitted_at if referral.submitted_at.tzinfo else referral.submitted_at.replace(tzinfo=UTC)
    if at < submitted or at > utcnow():
        raise invalid_field(field, "first contact must be after the referral was submitted and not in the future")
    return at


async def _moved(
    session: AsyncSession,
    principal: Principal,
    referral: Referral,
    service: Service,
    concern: Concern,
    *,
    action: str,
    event: CloudEvent | None,
) -> ReferralPublic:
    """The move is saved, audited and its event written; returns the referral as the caller sees it."""
    session.add(referral)
    await audit.record(
        session,
        actor=principal,
        action=action,
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    if event is not None:
        await add_event(session, event)
    return to_public(referral, service, concern, await contacts_of(session, concern.id))


async def accept(session: AsyncSession, *, principal: Principal, referral_id: str, data: AcceptIn) -> ReferralPublic:
    referral, service, concern = await load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "accepted")
    referral.status = ReferralStatus.accepted.value
    referral.decided_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    if data.first_contact_at is not None:
        referral.first_contact_at = _check_contact_time(referral, data.first_contact_at, "body.first_contact_at")
        await add_event(session, first_contact_event(referral, concern))
    event = as_event(
        ReferralAcceptedV1(
            **event_fields(referral, concern, service),
            practitioner_sub=principal.sub,
            practitioner_name=principal.name,
            practitioner_org_id=principal.org_id,
            practitioner_org_type=str(principal.org_type),
            practitioner_role=sorted(principal.roles)[0] if principal.roles else None,
        ),
        referral,
    )
    return await _moved(session, principal, referral, service, concern, action="accept", event=event)


async def decline(session: AsyncSession, *, principal: Principal, referral_id: str, data: ReasonIn) -> ReferralPublic:
    referral, service, concern = await load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "declined")
    referral.status = ReferralStatus.declined.value
    referral.decided_at = referral.closed_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    referral.decision_reason = data.reason
    event = as_event(ReferralDeclinedV1(**event_fields(referral, concern, service), reason=data.reason), referral)
    return await _moved(session, principal, referral, service, concern, action="decline", event=event)


async def redirect(session: AsyncSession, *, principal: Principal, referral_id: str, data: RedirectIn) -> ReferralList:
    """Close this referral as redirected and submit a linked one to the other service."""
    referral, service, concern = await load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.submitted,), "redirected")
    target = await session.get(Service, data.to_service_id)
    if target is None:
        raise invalid_field("body.to_service_id", "no such service in the local offer")
    if target.id == service.id:
        raise invalid_field("body.to_service_id", "redirect to another service")
    new = await submit(
        session,
        principal=principal,
        concern=concern,
        service=target,
        urgency=referral.urgency,
        note=referral.note,
        redirected_from=referral,
    )
    referral.status = ReferralStatus.redirected.value
    referral.decided_at = referral.closed_at = utcnow()
    referral.decided_by_sub, referral.decided_by_name = principal.sub, principal.name
    referral.decision_reason = data.reason
    referral.redirected_to_id = new.id
    event = as_event(
        ReferralRedirectedV1(
            **event_fields(referral, concern, service),
            new_referral_id=new.id,
            to_service_id=target.id,
            reason=data.reason,
        ),
        referral,
    )
    contacts = await contacts_of(session, concern.id)
    moved = await _moved(session, principal, referral, service, concern, action="redirect", event=event)
    return ReferralList(items=[moved, to_public(new, target, concern, contacts)])


async def withdraw(session: AsyncSession, *, principal: Principal, referral_id: str, data: ReasonIn) -> ReferralPublic:
    referral, service, concern = await load(session, principal, referral_id)
    if not is_referrer(principal, referral):
        raise Forbidden("only the referring school may withdraw a referral")
    _require_state(referral, OPEN, "withdrawn")
    referral.status = ReferralStatus.withdrawn.value
    referral.closed_at = utcnow()
    referral.decision_reason = data.reason
    event = as_event(ReferralWithdrawnV1(**event_fields(referral, concern, service), reason=data.reason), referral)
    return await _moved(session, principal, referral, service, concern, action="withdraw", event=event)


async def complete(
    session: AsyncSession, *, principal: Principal, referral_id: str, data: CompleteIn
) -> ReferralPublic:
    referral, service, concern = await load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, (ReferralStatus.accepted,), "completed")
    referral.status = ReferralStatus.completed.value
    referral.closed_at = utcnow()
    referral.outcome = data.outcome
    event = as_event(ReferralCompletedV1(**event_fields(referral, concern, service), outcome=data.outcome), referral)
    return await _moved(session, principal, referral, service, concern, action="complete", event=event)


async def first_contact(
    session: AsyncSession, *, principal: Principal, referral_id: str, contacted_at: datetime | None
) -> ReferralPublic:
    """Stop the waiting clock: the receiving service first saw or spoke with the child or family."""
    referral, service, concern = await load(session, principal, referral_id)
    await _require_receiver(session, principal, service)
    _require_state(referral, OPEN, "given a first contact")
    if referral.first_contact_at is not None:
        raise IllegalTransition("first contact is already recorded", referral_status=referral.status)
    referral.first_contact_at = _check_contact_time(referral, contacted_at or utcnow(), "body.contacted_at")
    return await _moved(
        session,
        principal,
        referral,
        service,
        concern,
        action="first_contact",
        event=first_contact_event(referral, concern),
    )
