"""Creating referrals from a concern to services of the local offer: the school's choice, and the LA's front door
for a safeguarding concern at once. The workflow that follows is referral_workflow.py; reading, referral_view.py."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tas_common import audit
from tas_common.auth import Principal
from tas_common.errors import NotFound
from tas_common.outbox import add_event
from tas_common.vocab import ConsentStatus, Urgency

from . import consent, offer
from .concern_schemas import LawfulBasis
from .exceptions import AlreadyReferred, ServiceUnavailable, invalid_field
from .models import Concern, Referral, Service
from .referral_events import submitted_event
from .referral_rules import OPEN, SAFEGUARDING_READERS, is_school_staff_of
from .referral_schemas import ReferralCreate, ReferralList
from .referral_view import contacts_of, to_public


async def _open_referral_to(session: AsyncSession, concern_id: str, service_id: str) -> Referral | None:
    return (
        await session.exec(
            select(Referral).where(
                Referral.concern_id == concern_id, Referral.service_id == service_id, col(Referral.status).in_(OPEN)
            )
        )
    ).first()


async def submit(
    session: AsyncSession,
    *,
    principal: Principal,
    concern: Concern,
    service: Service,
    urgency: str,
    note: str | None,
    redirected_from: Referral | None = None,
) -> Referral:
    if service.status != "active":
        raise ServiceUnavailable(f"{service.name} is not taking referrals", service_id=service.id)
    lawful_basis = await consent.sharing_basis(session, concern=concern, service=service)
    if await _open_referral_to(session, concern.id, service.id) is not None:
        raise AlreadyReferred(f"this concern already has an open referral to {service.name}", service_id=service.id)
    referral = Referral(
        concern_id=concern.id,
        service_id=service.id,
        school_urn=concern.school_urn,
        la_code=concern.la_code,
        urgency=urgency,
        safeguarding=concern.safeguarding,
        note=note,
        consent_status=concern.consent_status,
        lawful_basis=lawful_basis,
        referred_by_sub=redirected_from.referred_by_sub if redirected_from else principal.sub,
        referred_by_name=redirected_from.referred_by_name if redirected_from else principal.name,
        referred_by_org=redirected_from.referred_by_org if redirected_from else principal.org_id,
        redirected_from_id=redirected_from.id if redirected_from else None,
    )
    session.add(referral)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="create",
        resource_type="referral",
        resource_id=referral.id,
        child_id=concern.child_id,
    )
    await add_event(session, submitted_event(referral, concern, service))
    return referral


async def create_referrals(session: AsyncSession, *, principal: Principal, data: ReferralCreate) -> ReferralList:
    concern = await session.get(Concern, data.concern_id)
    if (
        concern is None
        or not is_school_staff_of(principal, concern.school_urn)
        or (
            concern.safeguarding
            and not principal.has_role(*SAFEGUARDING_READERS)
            and concern.raised_by_sub != principal.sub
        )
    ):
        raise NotFound("no such concern")
    services = []
    for index, service_id in enumerate(data.service_ids):
        service = await session.get(Service, service_id)
        if service is None:
            raise invalid_field(f"body.service_ids.{index}", "no such service in the local offer")
        services.append(service)
    urgency = str(data.urgency or concern.urgency)
    created = [
        await submit(session, principal=principal, concern=concern, service=s, urgency=urgency, note=data.note)
        for s in services
    ]
    contacts = await contacts_of(session, concern.id)
    return ReferralList(items=[to_public(r, s, concern, contacts) for r, s in zip(created, services, strict=False)])


async def refer_to_front_door(session: AsyncSession, *, principal: Principal, concern: Concern) -> Referral | None:
    """A safeguarding concern goes to its LA's children's social care front door at once, urgent, on the lawful
    basis of safeguarding when the family has not consented."""
    service = await offer.front_door_for(session, concern.la_code)
    if service is None:
        return None
    if concern.consent_status != ConsentStatus.given and not concern.lawful_basis:
        concern.lawful_basis = LawfulBasis.safeguarding.value
        session.add(concern)
    return await submit(
        session,
        principal=principal,
        concern=concern,
        service=service,
        urgency=Urgency.urgent.value,
        note="Safeguarding concern raised by the school: routed to the front door automatically.",
    )


async def front_door_referral_of(session: AsyncSession, concern: Concern) -> Referral | None:
    rows = (
        await session.exec(
            select(Referral, Service)
            .join(Service, col(Referral.service_id) == col(Service.id))
            .where(Referral.concern_id == concern.id)
            .order_by(col(Referral.submitted_at))
        )
    ).all()
    return next((r for r, s in rows if offer.FRONT_DOOR in s.taxonomy), None)
